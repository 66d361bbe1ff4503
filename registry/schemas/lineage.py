"""The shape of Podium's lineage answer: a version, its run, its logged model, its files."""

from marshmallow import fields

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import ModelName, Version
from registry.schemas.logged_models import LoggedModelOut
from registry.schemas.registry import ModelVersionOut
from registry.schemas.tracking import RunOut


class LineageIn(RequestSchema):
    name = ModelName(required=True)
    version = Version(required=True)


class ArtifactFileOut(ResponseSchema):
    path = fields.String(metadata={"description": "relative to artifact_uri"})
    size = fields.Integer()
    sha256 = fields.String(metadata={"description": "hex digest computed during the upload"})
    uploaded_at = fields.Integer(metadata={"description": "milliseconds since the epoch"})


class LineageOut(ResponseSchema):
    model_version = fields.Nested(ModelVersionOut)
    artifact_uri = fields.String(metadata={"description": "where the version's files are"})
    run = fields.Nested(RunOut, metadata={"description": "absent if the version has no run"})
    logged_model = fields.Nested(LoggedModelOut)
    artifacts = fields.List(
        fields.Nested(ArtifactFileOut),
        metadata={"description": "files uploaded through this server under artifact_uri"},
    )
