"""MLflow's auth API: users, and permissions in both the 3.13+ and the 3.0-3.12 forms.

The same paths, fields and answers as `mlflow server --app-name basic-auth`, so MLflow's own
`AuthServiceClient` (mlflow.server.get_app_client("basic-auth", ...)) manages Podium's users.
Registered under /api and /ajax-api.
"""

from flask import Blueprint

from registry.api.exchange import exchange
from registry.auth.rules import (
    ADMIN,
    SELF_OR_ADMIN,
    SIGNED_IN,
    OnExperiment,
    OnModel,
    OnResource,
    access,
    acting_user,
    default_level,
)
from registry.errors import BadRequest
from registry.schemas import auth as s
from registry.services import grants, users
from registry.store.tables.auth import LEVEL_NAMES, LEVELS

bp = Blueprint("users", __name__)


def _signed_in():
    user = acting_user()
    if user is None:
        raise BadRequest("Authentication is off (PODIUM_AUTH=none): nobody is signed in.")
    return user


# --- users ----------------------------------------------------------------------------------


@bp.post("/2.0/mlflow/users/create")
@exchange(s.CreateUserIn(), s.UserResponse())
@access(ADMIN)
def create_user(req):
    return {"user": users.create_user(**req)}


@bp.get("/2.0/mlflow/users/get")
@exchange(s.UsernameIn(), s.UserResponse())
@access(SELF_OR_ADMIN)
def get_user(req):
    return {"user": users.get_user(**req)}


@bp.get("/2.0/mlflow/users/current")
@exchange(None, s.CurrentUserResponse())
@access(SIGNED_IN)
def get_current_user():
    return {"user": _signed_in(), "is_basic_auth": True}


@bp.get("/2.0/mlflow/users/list")
@exchange(None, s.UsersResponse())
@access(ADMIN)
def list_users():
    return {"users": [{**_user_fields(user), "roles": []} for user in users.list_users()]}


def _user_fields(user) -> dict:
    return {"id": user.id, "username": user.username, "is_admin": user.is_admin}


@bp.patch("/2.0/mlflow/users/update-password")
@exchange(s.UpdatePasswordIn())
@access(SELF_OR_ADMIN)
def update_user_password(req):
    user = acting_user()
    if user is not None and user.username == req["username"]:
        # Changing your own password proves the current one, so a stolen session cannot.
        users.check_current_password(**req)
    users.update_password(username=req["username"], password=req["password"])


@bp.patch("/2.0/mlflow/users/update-admin")
@exchange(s.UpdateAdminIn())
@access(ADMIN)
def update_user_admin(req):
    users.update_admin(**req)


@bp.delete("/2.0/mlflow/users/delete")
@exchange(s.UsernameIn())
@access(ADMIN)
def delete_user(req):
    user = acting_user()
    users.delete_user(**req, acting_user=user.username if user else "")


# --- permissions: MLflow 3.13+ --------------------------------------------------------------


@bp.post("/3.0/mlflow/users/permissions/grant")
@exchange(s.GrantIn())
@access(OnResource("MANAGE"))
def grant_user_permission(req):
    grants.grant(**req)


@bp.post("/3.0/mlflow/users/permissions/revoke")
@exchange(s.ResourceIn())
@access(OnResource("MANAGE"))
def revoke_user_permission(req):
    grants.revoke(**req)


@bp.get("/3.0/mlflow/users/permissions/get")
@exchange(s.ResourceIn(), s.PermissionCheckOut())
@access(SELF_OR_ADMIN)
def get_user_permission(req):
    user = users.get_user(username=req["username"])
    level = grants.level_of(user, req["resource_type"], req["resource_id"], default=default_level())
    # As MLflow: "allowed" is its USE tier (READ alone is not), the name says exactly.
    return {"allowed": level >= LEVELS["USE"], "permission": LEVEL_NAMES[level]}


def _permission_rows(username: str) -> dict:
    user, held = grants.grants_of(username=username)
    role = f"__user_{user.id}__"  # MLflow's name for a user's own grants
    rows = [
        {
            "role_id": 0,
            "role_name": role,
            "workspace": "default",
            "resource_type": grant.resource_type,
            "resource_pattern": grant.resource_id,
            "permission": LEVEL_NAMES[grant.level],
        }
        for grant in held
    ]
    return {"is_admin": user.is_admin, "permissions": rows}


@bp.get("/3.0/mlflow/users/permissions/list")
@exchange(s.ListPermissionsIn(), s.PermissionsOut())
@access(SELF_OR_ADMIN)
def list_user_permissions(req):
    return _permission_rows(req["username"])


@bp.get("/3.0/mlflow/users/current/permissions")
@exchange(None, s.PermissionsOut())
@access(SIGNED_IN)
def list_current_user_permissions():
    return _permission_rows(_signed_in().username)


# --- permissions: MLflow 3.0-3.12, per resource type ----------------------------------------


def _model_grant(req, **change):
    return grants.grant(
        username=req["username"],
        resource_type="registered_model",
        resource_id=req["name"],
        permission=req["permission"],
        **change,
    )


@bp.post("/2.0/mlflow/registered-models/permissions/create")
@exchange(s.ModelPermissionChangeIn(), s.ModelPermissionResponse())
@access(OnModel("MANAGE"))
def create_registered_model_permission(req):
    return {"registered_model_permission": _model_grant(req, existing=False)}


@bp.get("/2.0/mlflow/registered-models/permissions/get")
@exchange(s.ModelPermissionIn(), s.ModelPermissionResponse())
@access(OnModel("MANAGE"))
def get_registered_model_permission(req):
    found = grants.get_grant(
        username=req["username"], resource_type="registered_model", resource_id=req["name"]
    )
    return {"registered_model_permission": found}


@bp.patch("/2.0/mlflow/registered-models/permissions/update")
@exchange(s.ModelPermissionChangeIn())
@access(OnModel("MANAGE"))
def update_registered_model_permission(req):
    _model_grant(req, existing=True)


@bp.delete("/2.0/mlflow/registered-models/permissions/delete")
@exchange(s.ModelPermissionIn())
@access(OnModel("MANAGE"))
def delete_registered_model_permission(req):
    grants.revoke(
        username=req["username"], resource_type="registered_model", resource_id=req["name"]
    )


def _experiment_grant(req, **change):
    return grants.grant(
        username=req["username"],
        resource_type="experiment",
        resource_id=str(req["experiment_id"]),
        permission=req["permission"],
        **change,
    )


@bp.post("/2.0/mlflow/experiments/permissions/create")
@exchange(s.ExperimentPermissionChangeIn(), s.ExperimentPermissionResponse())
@access(OnExperiment("MANAGE"))
def create_experiment_permission(req):
    return {"experiment_permission": _experiment_grant(req, existing=False)}


@bp.get("/2.0/mlflow/experiments/permissions/get")
@exchange(s.ExperimentPermissionIn(), s.ExperimentPermissionResponse())
@access(OnExperiment("MANAGE"))
def get_experiment_permission(req):
    found = grants.get_grant(
        username=req["username"],
        resource_type="experiment",
        resource_id=str(req["experiment_id"]),
    )
    return {"experiment_permission": found}


@bp.patch("/2.0/mlflow/experiments/permissions/update")
@exchange(s.ExperimentPermissionChangeIn())
@access(OnExperiment("MANAGE"))
def update_experiment_permission(req):
    _experiment_grant(req, existing=True)


@bp.delete("/2.0/mlflow/experiments/permissions/delete")
@exchange(s.ExperimentPermissionIn())
@access(OnExperiment("MANAGE"))
def delete_experiment_permission(req):
    grants.revoke(
        username=req["username"],
        resource_type="experiment",
        resource_id=str(req["experiment_id"]),
    )
