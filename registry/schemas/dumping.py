"""Fast dumping of response schemas: the schema stays the one definition of an output shape.

marshmallow spends several microseconds per field on generality Podium's responses do not use
(a search page of 50 versions is ~700 fields). `dumper(schema)` turns a response schema into a
plain function once, at start-up, the way `dataclasses` writes a class's `__init__`: it writes
the function's source, one statement per field, and compiles it. Strings, integers, booleans,
functions, lists and nested schemas become direct reads and conversions; any other field
serializes itself, and a schema with pre/post-dump hooks is dumped by marshmallow itself. In
the test suite every response is checked against marshmallow's own dump
(registry.api.exchange).

Measured in-process on a search page of 50 versions (one core, three runs): 467-550 us as a
loop calling a closure per field, as this module first did; 337-361 us written out. The source
of a dumper is kept on it as `dumper.source`, to read when debugging.
"""

from collections.abc import Callable
from itertools import count

from marshmallow import Schema, fields
from marshmallow.utils import get_value

_MISSING = object()


def dumper(schema: Schema) -> Callable[[object], dict]:
    """A function returning what `schema.dump(obj)` would, for a response schema."""
    if schema._hooks.get("pre_dump") or schema._hooks.get("post_dump") or schema.many:
        return schema.dump
    return _Writer().function(schema)


class _Writer:
    """Writes the source of one schema's dump function and of the nested ones it calls."""

    def __init__(self):
        self.names = {"_MISSING": _MISSING, "_read": _read}
        self.numbers = count()

    def function(self, schema: Schema) -> Callable[[object], dict]:
        """Compile the dump function of `schema`."""
        # A schema that decides itself where values come from is asked; others are read
        # directly when the object is not a dict: wire objects are mostly model rows.
        asks = type(schema).get_attribute is not Schema.get_attribute
        lines = ["def dump(obj):", "    out = {}"]
        if asks:
            ask = self.name_of(schema.get_attribute, "get_attribute")
        else:
            lines.append("    direct = not isinstance(obj, dict)")
        for field_name, field in schema.dump_fields.items():
            key = field.data_key or field_name
            if isinstance(field, fields.Function):  # computed from the whole object
                function = self.name_of(field.serialize_func, "computed")
                lines.append(f"    out[{key!r}] = {function}(obj)")
                continue
            attribute = field.attribute or field_name
            if asks:
                lines.append(f"    value = {ask}(obj, {attribute!r}, _MISSING)")
            elif "." in attribute:
                lines.append(f"    value = _read(obj, {attribute!r})")
            else:
                lines.append(
                    f"    value = getattr(obj, {attribute!r}, _MISSING) if direct "
                    f"else obj.get({attribute!r}, _MISSING)"
                )
            lines.append("    if value is not _MISSING:")
            lines.append(f"        out[{key!r}] = {self.expression(field, 'value')}")
        lines.append("    return out")
        source = "\n".join(lines) + "\n"
        code = compile(source, f"<dumper of {type(schema).__name__}>", "exec")
        scope = {}
        exec(code, self.names, scope)  # noqa: S102 - the source is written above from field types
        dump = scope["dump"]
        dump.source = source
        return dump

    def expression(self, field: fields.Field, value: str) -> str:
        """Source turning the read `value` into what `field` writes; the object is `obj`."""
        kind = type(field)
        if kind is fields.String:
            return f"None if {value} is None else str({value})"
        if kind is fields.Integer:
            return f"None if {value} is None else int({value})"
        if kind is fields.Boolean:
            return f"None if {value} is None else bool({value})"
        if kind is fields.Raw or (kind is fields.Dict and field.value_field is None):
            return value
        if kind is fields.Nested and not field.many:
            nested = self.name_of(dumper(field.schema), "nested")
            return f"None if {value} is None else {nested}({value})"
        if kind is fields.List and not isinstance(field.inner, fields.Function):
            item = f"item{next(self.numbers)}"
            inner = self.expression(field.inner, item)
            return f"None if {value} is None else [{inner} for {item} in {value}]"
        serialize = self.name_of(field._serialize, "serialize")
        return f"{serialize}({value}, None, obj)"

    def name_of(self, thing, kind: str) -> str:
        """A global name in the written source for `thing`."""
        name = f"_{kind}{next(self.numbers)}"
        self.names[name] = thing
        return name


def _read(obj, attribute: str):
    if isinstance(obj, dict):
        return obj.get(attribute, _MISSING)
    return get_value(obj, attribute, _MISSING)
