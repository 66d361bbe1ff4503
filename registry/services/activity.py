"""A version's activity: its requests, reviews and comments joined with its stage history.

One timeline, ordered by time: Comment rows (requests, reviews, comments) and the Transition
rows of the promotion history, each shown as a Databricks activity object.
"""

from registry.services.lookup import find_model
from registry.services.protection import stage_level
from registry.store.db import reading
from registry.store.statements import create
from registry.store.tables.approvals import Comment, TransitionRequest
from registry.store.tables.auth import MANAGE
from registry.store.tables.registry import Transition

# Transition comments written by the registry itself, not by whoever moved the version.
SYSTEM_COMMENTS = ("archived by version", "version deleted")


def record_activity(
    request: TransitionRequest, activity_type: str, user: str, comment: str, *, timestamp: int
) -> Comment:
    """Append what `user` did to `request`, in the caller's transaction."""
    return create(
        Comment,
        model=request.model,
        version=request.version,
        activity_type=activity_type,
        request=request,
        from_stage=request.from_stage,
        to_stage=request.to_stage,
        user=user,
        comment=comment,
        creation_timestamp=timestamp,
        last_updated_timestamp=timestamp,
    )


def request_actions(request: TransitionRequest, *, user: str, level: int | None, settings: dict):
    """What `user` (at `level` on the model; None: authentication off) may do to `request`."""
    if request.state != "OPEN":
        return []
    actions = []
    reviewer = level is None or level >= stage_level(request.to_stage)
    own = bool(user) and user == request.creator
    if reviewer and (settings["self_approval"] or not own):
        actions += ["APPROVE_TRANSITION_REQUEST", "REJECT_TRANSITION_REQUEST"]
    if own or level is None or level >= MANAGE:
        actions.append("CANCEL_TRANSITION_REQUEST")
    return actions


def request_out(request: TransitionRequest, *, user: str, level: int | None, settings: dict):
    return {
        "id": str(request.id),
        "name": request.model.name,
        "version": str(request.version),
        "from_stage": request.from_stage,
        "to_stage": request.to_stage,
        "state": request.state,
        "user_id": request.creator,
        "comment": request.comment,
        "creation_timestamp": request.creation_timestamp,
        "last_updated_timestamp": request.last_updated_timestamp,
        "available_actions": request_actions(request, user=user, level=level, settings=settings),
    }


def comment_actions(row: Comment, *, user: str, level: int | None) -> list[str]:
    if row.activity_type != "NEW_COMMENT":
        return []
    own = level is None or (bool(user) and user == row.user)
    actions = ["EDIT_COMMENT"] if own else []
    if own or (level is not None and level >= MANAGE):
        actions.append("DELETE_COMMENT")
    return actions


def comment_out(row: Comment, *, user: str, level: int | None) -> dict:
    return {
        "id": str(row.id),
        "activity_type": row.activity_type,
        "from_stage": row.from_stage,
        "to_stage": row.to_stage,
        "comment": row.comment,
        "system_comment": "",
        "user_id": row.user,
        "creation_timestamp": row.creation_timestamp,
        "last_updated_timestamp": row.last_updated_timestamp,
        "available_actions": comment_actions(row, user=user, level=level),
    }


def _transition_out(row: Transition) -> dict:
    system = any(row.comment.startswith(prefix) for prefix in SYSTEM_COMMENTS)
    return {
        "id": f"t{row.id}",
        "activity_type": "SYSTEM_TRANSITION" if system else "APPLIED_TRANSITION",
        "from_stage": row.from_stage,
        "to_stage": row.to_stage,
        "comment": "" if system else row.comment,
        "system_comment": row.comment if system else "",
        "user_id": row.user,
        "creation_timestamp": row.timestamp,
        "last_updated_timestamp": row.timestamp,
        "available_actions": [],
    }


def version_activities(*, name: str, version: int, user: str, level: int | None) -> list[dict]:
    """The version's whole timeline, oldest first."""
    with reading():
        model = find_model(name)
        comments = Comment.select().where((Comment.model == model) & (Comment.version == version))
        stage_rows = Transition.select().where(
            (Transition.model == model)
            & (Transition.version == version)
            & (Transition.kind == "stage")
        )
        timeline = [
            (row.creation_timestamp, 1, row.id, comment_out(row, user=user, level=level))
            for row in comments
        ]
        # A request's approval and the transition it made share a time: the approval first.
        timeline += [(row.timestamp, 2, row.id, _transition_out(row)) for row in stage_rows]
        return [entry for *_, entry in sorted(timeline, key=lambda item: item[:3])]
