"""Request and response shapes of Podium's own extensions under /api/2.0/podium."""

from marshmallow import fields

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import Int64, ModelName, Version


class HistoryIn(RequestSchema):
    name = ModelName(required=True)
    version = Version(load_default=None)


class AsOfIn(RequestSchema):
    name = ModelName(required=True)
    timestamp = Int64(required=True)


class HistoryEntryOut(ResponseSchema):
    version = fields.String()
    kind = fields.String(metadata={"description": "stage or alias"})
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String(
        allow_none=True, metadata={"description": "null when the version was deleted"}
    )
    alias = fields.String()
    from_version = fields.String(allow_none=True)
    to_version = fields.String(allow_none=True, metadata={"description": "null: alias deleted"})
    user = fields.String()
    comment = fields.String()
    timestamp = fields.Integer(metadata={"description": "milliseconds since the epoch"})


class HistoryOut(ResponseSchema):
    history = fields.List(fields.Nested(HistoryEntryOut))


class AsOfOut(ResponseSchema):
    name = fields.String()
    timestamp = fields.Integer()
    stages = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "stage -> versions holding it"},
    )
    aliases = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "alias -> version"}
    )
