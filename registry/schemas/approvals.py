"""Transition requests, comments and activities, as Databricks' workspace registry shapes them."""

from marshmallow import fields

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import (
    MAX_STAGES,
    AliasName,
    Int64,
    Items,
    ModelName,
    Stage,
    StrictBoolean,
    Text,
)
from registry.schemas.registry import DESCRIPTION, IDENTIFIER, ModelVersionIn

# --- requests -------------------------------------------------------------------------------


class CreateRequestIn(ModelVersionIn):
    stage = Stage(required=True)
    comment = Text(max_length=DESCRIPTION, load_default="")


class ApproveRequestIn(CreateRequestIn):
    archive_existing_versions = StrictBoolean(load_default=False)


class RejectRequestIn(CreateRequestIn):
    pass


class DeleteRequestIn(CreateRequestIn):
    creator = Text(max_length=IDENTIFIER, required=True)


class ListRequestsIn(ModelVersionIn):
    pass


class CreateCommentIn(ModelVersionIn):
    comment = Text(max_length=DESCRIPTION, required=True)


class UpdateCommentIn(RequestSchema):
    id = Text(max_length=IDENTIFIER, required=True)
    comment = Text(max_length=DESCRIPTION, required=True)


class DeleteCommentIn(RequestSchema):
    id = Text(max_length=IDENTIFIER, required=True)


class PolicyNameIn(RequestSchema):
    name = ModelName(required=True)


class SetPolicyIn(PolicyNameIn):
    # Absent or null: the setting applies (PODIUM_PROTECTED_STAGES and so on).
    protected_stages = Items(Stage(), max_items=MAX_STAGES, load_default=None, allow_none=True)
    protected_aliases = Items(AliasName(), max_items=100, load_default=None, allow_none=True)
    approvals_required = Int64(load_default=None, allow_none=True)


# --- responses ------------------------------------------------------------------------------


class RequestOut(ResponseSchema):
    id = fields.String()
    name = fields.String()
    version = fields.String()
    from_stage = fields.String()
    to_stage = fields.String()
    state = fields.String()
    user_id = fields.String()
    comment = fields.String()
    creation_timestamp = fields.Integer()
    last_updated_timestamp = fields.Integer()
    available_actions = fields.List(fields.String())


class RequestResponse(ResponseSchema):
    request = fields.Nested(RequestOut)


class RequestsResponse(ResponseSchema):
    requests = fields.List(fields.Nested(RequestOut))


class ActivityOut(ResponseSchema):
    id = fields.String()
    activity_type = fields.String()
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String(allow_none=True)
    comment = fields.String()
    system_comment = fields.String()
    user_id = fields.String()
    creation_timestamp = fields.Integer()
    last_updated_timestamp = fields.Integer()
    available_actions = fields.List(fields.String())


class ActivityResponse(ResponseSchema):
    activity = fields.Nested(ActivityOut)


class ActivitiesResponse(ResponseSchema):
    activities = fields.List(fields.Nested(ActivityOut))


class CommentOut(ResponseSchema):
    id = fields.String()
    user_id = fields.String()
    comment = fields.String()
    creation_timestamp = fields.Integer()
    last_updated_timestamp = fields.Integer()
    available_actions = fields.List(fields.String())


class CommentResponse(ResponseSchema):
    comment = fields.Nested(CommentOut)


class PolicyOut(ResponseSchema):
    name = fields.String()
    protected_stages = fields.List(fields.String())
    protected_aliases = fields.List(fields.String())
    approvals_required = fields.Integer()
    self_approval = fields.Boolean()


class PolicyResponse(ResponseSchema):
    policy = fields.Nested(PolicyOut)
