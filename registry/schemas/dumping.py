"""Fast dumping of response schemas: the schema stays the one definition of an output shape.

marshmallow spends several microseconds per field on generality Podium's responses do not use
(a search page of 50 versions is ~700 fields). `dumper(schema)` turns a response schema into a
plain function once, at start-up: strings, integers, booleans, functions, lists and nested
schemas become direct reads; any other field serializes itself, and a schema with pre/post-dump
hooks is dumped by marshmallow itself. tests/test_service.py checks both give the same JSON.
"""

from collections.abc import Callable

from marshmallow import Schema, fields
from marshmallow.utils import get_value

_MISSING = object()


def dumper(schema: Schema) -> Callable[[object], dict]:
    """A function returning what `schema.dump(obj)` would, for a response schema."""
    if schema._hooks.get("pre_dump") or schema._hooks.get("post_dump") or schema.many:
        return schema.dump
    # (key, attribute, writer, computed): a Function field computes from the whole object.
    writers = [
        (field.data_key or name, field.attribute or name, _writer(field), False)
        if not isinstance(field, fields.Function)
        else (field.data_key or name, None, field.serialize_func, True)
        for name, field in schema.dump_fields.items()
    ]
    # A schema that decides itself where values come from is asked; others are read directly.
    if type(schema).get_attribute is not Schema.get_attribute:

        def read(obj, attribute):
            return schema.get_attribute(obj, attribute, _MISSING)
    else:
        read = _read

    def dump(obj) -> dict:
        # Wire objects are mostly model rows: their plain attributes are read without the
        # general lookup, which also handles dicts and dotted paths.
        direct = not isinstance(obj, dict) and read is _read
        out = {}
        for key, attribute, write, computed in writers:
            if computed:
                out[key] = write(obj)
                continue
            if direct and "." not in attribute:
                value = getattr(obj, attribute, _MISSING)
            else:
                value = read(obj, attribute)
            if value is not _MISSING:
                out[key] = write(value, obj)
        return out

    return dump


def _read(obj, attribute: str):
    if isinstance(obj, dict):
        return obj.get(attribute, _MISSING)
    if "." in attribute:
        return get_value(obj, attribute, _MISSING)
    return getattr(obj, attribute, _MISSING)


def _writer(field: fields.Field) -> Callable:
    """How to write one read value; the object is passed on for fields that need it."""
    kind = type(field)
    if kind is fields.String:
        return lambda value, _obj: None if value is None else str(value)
    if kind is fields.Integer:
        return lambda value, _obj: None if value is None else int(value)
    if kind is fields.Boolean:
        return lambda value, _obj: None if value is None else bool(value)
    if kind is fields.Raw or (kind is fields.Dict and field.value_field is None):
        return lambda value, _obj: value
    if kind is fields.Nested and not field.many:
        nested = dumper(field.schema)
        return lambda value, _obj: None if value is None else nested(value)
    if kind is fields.List and not isinstance(field.inner, fields.Function):
        inner = _writer(field.inner)
        return lambda value, obj: None if value is None else [inner(item, obj) for item in value]
    return lambda value, obj: field._serialize(value, None, obj)
