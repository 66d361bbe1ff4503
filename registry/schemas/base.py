"""Base schemas: unknown request fields ignored, every failure an MLflow-style InvalidParameter."""

from marshmallow import EXCLUDE, Schema, ValidationError

from registry.errors import InvalidParameter


class RequestSchema(Schema):
    """Loads one request's fields; the first problem found becomes the error the client sees."""

    class Meta:
        unknown = EXCLUDE  # the client sends extras, e.g. run_uuid beside run_id

    def handle_error(self, error: ValidationError, data, **kwargs):
        name, messages = next(iter(error.messages.items()))
        message = _first_message(messages)
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


def _first_message(messages) -> str:
    while isinstance(messages, (list, dict)):
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)


def _short(value) -> str:
    text = repr(value) if not isinstance(value, (int, float)) else str(value)
    return text if len(text) <= 100 else text[:100] + "..."
