"""Base schemas: unknown request fields ignored, every failure an MLflow-style InvalidParameter."""

import reprlib

from marshmallow import EXCLUDE, Schema, ValidationError

from registry.errors import InvalidParameter


class RequestSchema(Schema):
    """Loads one request's fields; the first problem found becomes the error the client sees."""

    class Meta:
        unknown = EXCLUDE  # the client sends extras, e.g. run_uuid beside run_id

    def handle_error(self, error: ValidationError, data, **kwargs):
        name, messages = next(iter(error.messages.items()))
        message = first_message(messages)
        field = self.fields.get(name)
        if field is None:  # a schema-level error, e.g. the body is not an object
            raise InvalidParameter(message)
        if isinstance(messages, list) and message == field.error_messages["required"]:
            raise InvalidParameter(
                f"Missing value for required parameter '{name}'. "
                "See the API docs for more information about request parameters."
            )
        own_message = message not in field.error_messages.values()
        if getattr(field, "verbatim_errors", False) and own_message:
            raise InvalidParameter(message)
        value = data.get(name) if isinstance(data, dict) else data
        raise InvalidParameter(
            f"Invalid value {_short(value)} for parameter '{name}' supplied: {message}"
        )


class ResponseSchema(Schema):
    """Marker base for output shapes (dumped, never loaded)."""


def first_message(messages) -> str:
    """The first message of a (nested) marshmallow error."""
    while isinstance(messages, (list, dict)):
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)


# A client's value quoted in an error message: a few items and characters, whatever its size, so
# a huge list costs no more to describe than a small one.
_BOUNDED = reprlib.Repr()
_BOUNDED.maxlevel, _BOUNDED.maxlist, _BOUNDED.maxdict = 2, 5, 5
_BOUNDED.maxstring = _BOUNDED.maxother = _BOUNDED.maxlong = 120


def shown(value) -> str:
    """repr() of a client's value, bounded: a few items, a few hundred characters at most."""
    return _BOUNDED.repr(value)


def clipped(value, limit: int = 64) -> str:
    """At most `limit` characters of `value` as text: a string's head, or a bounded repr."""
    if isinstance(value, str):
        return value[:limit]
    if value is None or isinstance(value, bool | int | float):
        return str(value)[:limit]
    return shown(value)[:limit]


def _short(value) -> str:
    if isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, str):
        text = repr(value[:101])
    else:
        text = shown(value)
    return text if len(text) <= 100 else text[:100] + "..."
