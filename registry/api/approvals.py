"""Databricks' transition requests and comments under /api/2.0/mlflow, and Podium's activity
timeline and approval policy under /api/2.0/podium."""

from flask import Blueprint

from registry.api.exchange import caller, exchange
from registry.auth.rules import OnModel, Rule, access, level_on_model
from registry.errors import ResourceDoesNotExist
from registry.schemas import approvals as s
from registry.services import activity, approvals, comments, protection

bp = Blueprint("approvals", __name__)  # mounted at /api/2.0/mlflow
podium_bp = Blueprint("podium_approvals", __name__)  # mounted at /api/2.0/podium


class OnCommentModel(Rule):
    """A level on the model the comment (`id`) is on; an unknown comment is not found."""

    def __init__(self, level: str):
        self.level = level
        self.description = f"{level} on the comment's registered model"

    def check(self, user, fields):
        name = comments.model_of_comment(fields["id"])
        if name is None:
            raise ResourceDoesNotExist(f"Comment with id={fields['id']} not found")
        OnModel(self.level).check(user, {"name": name})


# --- transition requests --------------------------------------------------------------------


@bp.post("/transition-requests/create")
@exchange(s.CreateRequestIn(), s.RequestResponse())
@access(OnModel("READ"))
def create_transition_request(req):
    level = level_on_model(req["name"])
    return {"request": approvals.create_request(**req, user=caller(), level=level)}


@bp.post("/transition-requests/approve")
@exchange(s.ApproveRequestIn(), s.ActivityResponse())
@access(OnModel("READ"))
def approve_transition_request(req):
    level = level_on_model(req["name"])
    return {"activity": approvals.approve_request(**req, user=caller(), level=level)}


@bp.post("/transition-requests/reject")
@exchange(s.RejectRequestIn(), s.ActivityResponse())
@access(OnModel("READ"))
def reject_transition_request(req):
    level = level_on_model(req["name"])
    return {"activity": approvals.reject_request(**req, user=caller(), level=level)}


@bp.get("/transition-requests/list")
@exchange(s.ListRequestsIn(), s.RequestsResponse())
@access(OnModel("READ"))
def list_transition_requests(req):
    level = level_on_model(req["name"])
    return {"requests": approvals.list_requests(**req, user=caller(), level=level)}


@bp.delete("/transition-requests/delete")
@exchange(s.DeleteRequestIn(), s.ActivityResponse())
@access(OnModel("READ"))
def delete_transition_request(req):
    level = level_on_model(req["name"])
    return {"activity": approvals.delete_request(**req, user=caller(), level=level)}


# --- comments -------------------------------------------------------------------------------


@bp.post("/comments/create")
@exchange(s.CreateCommentIn(), s.CommentResponse())
@access(OnModel("READ"))
def create_comment(req):
    return {"comment": comments.create_comment(**req, user=caller())}


@bp.patch("/comments/update")
@exchange(s.UpdateCommentIn(), s.CommentResponse())
@access(OnCommentModel("READ"))
def update_comment(req):
    level = _comment_level(req["id"])
    return {"comment": comments.update_comment(**req, user=caller(), level=level)}


@bp.delete("/comments/delete")
@exchange(s.DeleteCommentIn())
@access(OnCommentModel("READ"))
def delete_comment(req):
    comments.delete_comment(**req, user=caller(), level=_comment_level(req["id"]))


def _comment_level(comment_id: str) -> int | None:
    name = comments.model_of_comment(comment_id)
    return None if name is None else level_on_model(name)


# --- Podium: the activity timeline and approval policy --------------------------------------


@podium_bp.get("/model-versions/activities")
@exchange(s.ListRequestsIn(), s.ActivitiesResponse())
@access(OnModel("READ"))
def list_activities(req):
    level = level_on_model(req["name"])
    return {"activities": activity.version_activities(**req, user=caller(), level=level)}


@podium_bp.get("/registered-models/approval-policy")
@exchange(s.PolicyNameIn(), s.PolicyResponse())
@access(OnModel("READ"))
def get_approval_policy(req):
    return {"policy": protection.get_policy(**req)}


@podium_bp.post("/registered-models/approval-policy")
@exchange(s.SetPolicyIn(), s.PolicyResponse())
@access(OnModel("MANAGE"))
def set_approval_policy(req):
    return {"policy": protection.set_policy(**req)}
