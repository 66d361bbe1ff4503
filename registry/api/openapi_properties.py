"""How Podium's own marshmallow fields appear in the OpenAPI document.

apispec knows marshmallow's fields and validators (`validate.Length` and `validate.Range` become
minLength/maxLength/minItems/maxItems/minimum/maximum); Podium's fields check their values in code
(registry/schemas/fields.py), so each says here what it accepts. Kept beside the document, not
in the schemas, so the wire checks stay free of documentation concerns.
"""

from marshmallow import fields

from registry.schemas import fields as podium
from registry.schemas import tracking_fields as tracking
from registry.store.tables.registry import STAGES

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def podium_field_properties(self, field: fields.Field, ret: dict, **kwargs) -> dict:
    """An apispec attribute function: the properties of one field beyond what apispec derives."""
    for kind in type(field).__mro__:
        describe = _DESCRIBERS.get(kind)
        if describe is not None:
            return describe(field, ret)
    return {}


def _text(field, ret):
    return {"type": "string", "maxLength": field.max_length}


def _choice(field, ret):
    return {"type": "string", "enum": list(field.choices)}


def _experiment_id(field, ret):
    # A decimal string on the wire (MLflow's client sends strings); an integer is tolerated.
    # The column is 32-bit.
    return _string_or_integer(ret, maximum=tracking.MAX_EXPERIMENT_ID, minimum=0)


def _version(field, ret):
    # MLflow's client sends versions as strings; an integer is tolerated.
    return _string_or_integer(ret, maximum=2**31 - 1, minimum=1)


def _string_or_integer(ret, *, minimum: int, maximum: int) -> dict:
    ret.pop("type", None)
    return {
        "oneOf": [
            {"type": "string", "pattern": "^[0-9]{1,10}$"},
            {"type": "integer", "format": "int32", "minimum": minimum, "maximum": maximum},
        ]
    }


def _model_name(field, ret):
    return {"type": "string", "minLength": 1, "maxLength": podium.MAX_NAME_LENGTH}


def _stage(field, ret):
    return {"type": "string", "enum": list(STAGES), "description": "any case is accepted"}


def _alias(field, ret):
    return {"type": "string", "pattern": "^[A-Za-z0-9_\\-.]{1,255}$"}


def _tag_key(field, ret):
    return {"type": "string", "minLength": 1, "maxLength": podium.MAX_TAG_KEY_LENGTH}


def _tag_value(field, ret):
    return {"type": "string", "maxLength": podium.MAX_TAG_VALUE_LENGTH}


def _int64(field, ret):
    # Proto JSON also allows int64s as decimal strings; the document names the number form.
    return {"type": "integer", "format": "int64", "minimum": INT64_MIN, "maximum": INT64_MAX}


def _max_results(field, ret):
    return {"type": "integer", "format": "int32", "minimum": 1, "maximum": field.maximum}


def _integer(field, ret):
    # Every other integer on the wire is a timestamp in milliseconds, a size or a count.
    return {"format": "int64"}


def _metric_value(field, ret):
    ret.pop("type", None)  # a number, or one of three strings
    return {
        "oneOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
    }


def _id_string(field, ret):
    return {"type": "string"}


_DESCRIBERS = {
    tracking.ExperimentId: _experiment_id,
    tracking.Choice: _choice,
    tracking.MetricValue: _metric_value,
    tracking.IdString: _id_string,
    podium.Int64: _int64,
    podium.Version: _version,
    podium.ModelName: _model_name,
    podium.Stage: _stage,
    podium.AliasName: _alias,
    podium.TagKey: _tag_key,
    podium.TagValue: _tag_value,
    podium.MaxResults: _max_results,
    podium.Text: _text,
    fields.Integer: _integer,
}
