"""Request and response shapes of MLflow's ModelRegistryService, as its client speaks them."""

from marshmallow import EXCLUDE, Schema, fields

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import (
    MAX_ORDER_BY,
    MAX_STAGES,
    AliasName,
    Items,
    MaxResults,
    ModelName,
    Source,
    Stage,
    StrictBoolean,
    TagKey,
    TagValue,
    Text,
    Version,
)

# --- requests -------------------------------------------------------------------------------


class TagIn(Schema):
    class Meta:
        unknown = EXCLUDE

    key = TagKey(required=True)
    value = TagValue(load_default="")


# Bounds for free text: generous for real use, small enough that nothing unbounded is stored.
DESCRIPTION = 100_000
IDENTIFIER = 256
URL = 4096


class ModelNameIn(RequestSchema):
    name = ModelName(required=True)


class CreateRegisteredModelIn(ModelNameIn):
    tags = Items(fields.Nested(TagIn), load_default=list)
    description = Text(max_length=DESCRIPTION, load_default="")


class RenameRegisteredModelIn(ModelNameIn):
    new_name = ModelName(required=True)


class UpdateRegisteredModelIn(ModelNameIn):
    description = Text(max_length=DESCRIPTION, load_default="")


class SearchRegisteredModelsIn(RequestSchema):
    filter = Text(max_length=URL, load_default=None)
    max_results = MaxResults(maximum=1000, load_default=100)
    order_by = Items(Text(max_length=IDENTIFIER), max_items=MAX_ORDER_BY, load_default=list)
    page_token = Text(max_length=IDENTIFIER, load_default=None)


class GetLatestVersionsIn(ModelNameIn):
    stages = Items(Stage(), max_items=MAX_STAGES, load_default=list)


class RegisteredModelTagIn(ModelNameIn):
    key = TagKey(required=True)
    value = TagValue(required=True)


class DeleteRegisteredModelTagIn(ModelNameIn):
    key = TagKey(required=True)


class CreateModelVersionIn(ModelNameIn):
    source = Source(required=True)
    run_id = Text(max_length=IDENTIFIER, load_default="")
    tags = Items(fields.Nested(TagIn), load_default=list)
    run_link = Text(max_length=URL, load_default="")
    description = Text(max_length=DESCRIPTION, load_default="")
    model_id = Text(max_length=IDENTIFIER, load_default="")


class ModelVersionIn(ModelNameIn):
    version = Version(required=True)


class UpdateModelVersionIn(ModelVersionIn):
    description = Text(max_length=DESCRIPTION, load_default="")


class TransitionStageIn(ModelVersionIn):
    stage = Stage(required=True)
    archive_existing_versions = StrictBoolean(load_default=False)
    comment = Text(
        max_length=DESCRIPTION, load_default=""
    )  # Podium extension: recorded in the history


class SearchModelVersionsIn(RequestSchema):
    filter = Text(max_length=URL, load_default=None)
    max_results = MaxResults(maximum=200_000, load_default=10_000)
    order_by = Items(Text(max_length=IDENTIFIER), max_items=MAX_ORDER_BY, load_default=list)
    page_token = Text(max_length=IDENTIFIER, load_default=None)


class ModelVersionTagIn(ModelVersionIn):
    key = TagKey(required=True)
    value = TagValue(required=True)


class DeleteModelVersionTagIn(ModelVersionIn):
    key = TagKey(required=True)


class SetAliasIn(ModelNameIn):
    alias = AliasName(required=True)
    version = Version(required=True)


class AliasIn(ModelNameIn):
    alias = AliasName(required=True)


# --- responses ------------------------------------------------------------------------------


class TagOut(ResponseSchema):
    key = fields.String()
    value = fields.String()


class AliasOut(ResponseSchema):
    alias = fields.String()
    version = fields.String()


class ModelVersionOut(ResponseSchema):
    name = fields.Function(lambda v: v.model.name, metadata={"type": "string"})
    version = fields.Function(lambda v: str(v.version), metadata={"type": "string"})
    creation_timestamp = fields.Integer()
    last_updated_timestamp = fields.Integer()
    user_id = fields.String()
    current_stage = fields.String()
    description = fields.String()
    source = fields.String()
    run_id = fields.String()
    run_link = fields.String()
    status = fields.String()
    model_id = fields.String(attribute="logged_model_id")
    tags = fields.List(fields.Nested(TagOut), attribute="tag_list")
    aliases = fields.List(fields.String(), attribute="alias_names")


class RegisteredModelOut(ResponseSchema):
    name = fields.String()
    creation_timestamp = fields.Integer()
    last_updated_timestamp = fields.Integer()
    user_id = fields.String()
    description = fields.String()
    latest_versions = fields.List(fields.Nested(ModelVersionOut), attribute="latest_versions")
    tags = fields.List(fields.Nested(TagOut), attribute="tag_list")
    aliases = fields.List(fields.Nested(AliasOut), attribute="alias_list")


class RegisteredModelResponse(ResponseSchema):
    registered_model = fields.Nested(RegisteredModelOut)


class RegisteredModelsPage(ResponseSchema):
    registered_models = fields.List(fields.Nested(RegisteredModelOut))
    next_page_token = fields.String()


class ModelVersionResponse(ResponseSchema):
    model_version = fields.Nested(ModelVersionOut)


class ModelVersionsResponse(ResponseSchema):
    model_versions = fields.List(fields.Nested(ModelVersionOut))


class ModelVersionsPage(ModelVersionsResponse):
    next_page_token = fields.String()


class DownloadUriResponse(ResponseSchema):
    artifact_uri = fields.String()
