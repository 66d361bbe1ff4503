"""Request and response shapes of MLflow's auth API (users, permissions) and Podium's tokens."""

from marshmallow import fields

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import Int64, ModelName, StrictBoolean, Text
from registry.schemas.tracking_fields import ExperimentId
from registry.store.tables.auth import LEVEL_NAMES, MAX_PASSWORD, MAX_USERNAME


class Username(Text):
    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_USERNAME, **kwargs)


class Password(Text):
    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_PASSWORD, **kwargs)


class CreateUserIn(RequestSchema):
    username = Username(required=True)
    password = Password(required=True)


class UsernameIn(RequestSchema):
    username = Username(required=True)


class UpdatePasswordIn(RequestSchema):
    username = Username(required=True)
    password = Password(required=True)
    current_password = Password(load_default=None)


class UpdateAdminIn(RequestSchema):
    username = Username(required=True)
    is_admin = StrictBoolean(required=True)


class UserOut(ResponseSchema):
    id = fields.Integer()
    username = fields.String()
    is_admin = fields.Boolean()


class UserResponse(ResponseSchema):
    user = fields.Nested(UserOut)


class CurrentUserResponse(ResponseSchema):
    user = fields.Nested(UserOut)
    is_basic_auth = fields.Boolean()


class ListedUserOut(UserOut):
    roles = fields.List(fields.Dict(), metadata={"description": "always empty: no roles yet"})


class UsersResponse(ResponseSchema):
    users = fields.List(fields.Nested(ListedUserOut))


# --- permissions, MLflow 3.13+ form ---------------------------------------------------------


class ResourceIn(RequestSchema):
    username = Username(required=True)
    resource_type = Text(max_length=32, required=True)
    resource_id = Text(max_length=256, required=True)


class GrantIn(ResourceIn):
    permission = Text(max_length=32, required=True)


class PermissionCheckOut(ResponseSchema):
    allowed = fields.Boolean()
    permission = fields.String()


class PermissionRowOut(ResponseSchema):
    role_id = fields.Integer()
    role_name = fields.String()
    workspace = fields.String()
    resource_type = fields.String()
    resource_pattern = fields.String()
    permission = fields.String()


class PermissionsOut(ResponseSchema):
    is_admin = fields.Boolean()
    permissions = fields.List(fields.Nested(PermissionRowOut))


class ListPermissionsIn(RequestSchema):
    username = Username(required=True)


# --- permissions, MLflow 3.0-3.12 form ------------------------------------------------------


class ModelPermissionIn(RequestSchema):
    name = ModelName(required=True)
    username = Username(required=True)


class ModelPermissionChangeIn(ModelPermissionIn):
    permission = Text(max_length=32, required=True)


class ExperimentPermissionIn(RequestSchema):
    experiment_id = ExperimentId(required=True)
    username = Username(required=True)


class ExperimentPermissionChangeIn(ExperimentPermissionIn):
    permission = Text(max_length=32, required=True)


def _level_name(grant) -> str:
    return LEVEL_NAMES[grant.level]


class ModelPermissionOut(ResponseSchema):
    name = fields.String(attribute="resource_id")
    user_id = fields.Integer()
    permission = fields.Function(_level_name, metadata={"type": "string"})


class ModelPermissionResponse(ResponseSchema):
    registered_model_permission = fields.Nested(ModelPermissionOut)


class ExperimentPermissionOut(ResponseSchema):
    experiment_id = fields.String(attribute="resource_id")
    user_id = fields.Integer()
    permission = fields.Function(_level_name, metadata={"type": "string"})


class ExperimentPermissionResponse(ResponseSchema):
    experiment_permission = fields.Nested(ExperimentPermissionOut)


# --- access tokens --------------------------------------------------------------------------


class CreateTokenIn(RequestSchema):
    name = Text(max_length=256, required=True)
    expires_in_days = Int64(load_default=None)


class TokenInfoOut(ResponseSchema):
    id = fields.Integer()
    name = fields.String()
    created = fields.Integer(metadata={"description": "milliseconds since the epoch"})
    expires = fields.Integer(allow_none=True)
    last_used = fields.Integer(allow_none=True)


class CreatedTokenOut(ResponseSchema):
    token = fields.String(metadata={"description": "the secret: shown this once"})
    token_info = fields.Nested(TokenInfoOut)


class TokensOut(ResponseSchema):
    tokens = fields.List(fields.Nested(TokenInfoOut))
