"""Transition requests: ask for a stage, approve, reject or cancel; one transaction each.

An approval that completes a request moves the version in the same transaction as the
request's state change (the model row lock keeps one version per stage under races), so a
request is never APPROVED without its transition, nor a transition made for a rejected one.
"""

from hooks import events, signals
from hooks.outbox import publish
from registry.errors import (
    InvalidParameter,
    PermissionDenied,
    ResourceAlreadyExists,
    ResourceConflict,
    ResourceDoesNotExist,
)
from registry.services import model_versions
from registry.services.activity import comment_out, record_activity, request_out
from registry.services.lookup import find_model, find_version
from registry.services.protection import policy_of, stage_level
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import save
from registry.store.tables.approvals import Comment, TransitionRequest
from registry.store.tables.auth import LEVEL_NAMES, MANAGE
from registry.store.tables.base import now_ms
from registry.store.tables.registry import RegisteredModel


def _open_request(model: RegisteredModel, version: int, stage: str):
    return (
        TransitionRequest.select()
        .where(
            (TransitionRequest.model == model)
            & (TransitionRequest.version == version)
            & (TransitionRequest.to_stage == stage)
            & (TransitionRequest.state == "OPEN")
        )
        .first()
    )


def _find_open(model: RegisteredModel, version: int, stage: str) -> TransitionRequest:
    found = _open_request(model, version, stage)
    if found is None:
        raise ResourceDoesNotExist(
            f"No open transition request of registered model {model.name} version {version} "
            f"to stage {stage}"
        )
    found.model = model
    return found


@retry_conflicts
def create_request(
    *, name: str, version: int, stage: str, comment: str = "", user: str, level: int | None = None
) -> dict:
    """Ask for `version` to move to `stage`; one open request per version and stage. (`level`,
    the caller's on the model, only decides the `available_actions` shown back.)"""
    with db.atomic():
        model = find_model(name, for_update=True)
        target = find_version(model, version)
        if target.current_stage == stage:
            raise InvalidParameter(f"Model version {version} of {name} is already in {stage}.")
        if _open_request(model, version, stage) is not None:
            raise ResourceAlreadyExists(
                f"An open transition request of {name} version {version} to {stage} exists "
                "already; approve, reject or cancel it first."
            )
        now = now_ms()
        request = TransitionRequest.create(
            model=model,
            version=version,
            from_stage=target.current_stage,
            to_stage=stage,
            creator=user,
            comment=comment,
            creation_timestamp=now,
            last_updated_timestamp=now,
        )
        request.model = model
        record_activity(request, "REQUESTED_TRANSITION", user, comment, timestamp=now)
        publish(events.transition_request_event("created", request, user, comment), request)
        return request_out(request, user=user, level=level, settings=policy_of(model))


def _reviewer_check(request: TransitionRequest, user: str, level: int | None, policy: dict):
    needed = stage_level(request.to_stage)
    if level is not None and level < needed:
        raise PermissionDenied(
            f"Permission denied: {user} needs {LEVEL_NAMES[needed]} on registered model "
            f"{request.model.name} to review a request to {request.to_stage}."
        )
    if not policy["self_approval"] and user and user == request.creator:
        raise PermissionDenied(
            "Permission denied: the requester may not review their own transition request "
            "(separation of duties); ask another reviewer."
        )


def _approvers(request: TransitionRequest) -> set[str]:
    rows = Comment.select(Comment.user).where(
        (Comment.request == request) & (Comment.activity_type == "APPROVED_REQUEST")
    )
    return {row.user for row in rows}


def _check_still_applies(model: RegisteredModel, request: TransitionRequest):
    try:
        target = find_version(model, request.version)
    except ResourceDoesNotExist:
        raise ResourceConflict(
            f"Model version {request.version} of {model.name} was deleted; the request to "
            f"{request.to_stage} can no longer be approved. Cancel or reject it."
        ) from None
    if target.current_stage != request.from_stage:
        raise ResourceConflict(
            f"Model version {request.version} of {model.name} moved to {target.current_stage} "
            f"since the request (from {request.from_stage} to {request.to_stage}) was made; "
            "nothing was changed. Reject or cancel it and request again."
        )
    return target


@retry_conflicts
def approve_request(
    *,
    name: str,
    version: int,
    stage: str,
    archive_existing_versions: bool = False,
    comment: str = "",
    user: str,
    level: int | None,
) -> dict:
    """Approve the open request; the last approval needed performs the transition."""
    with db.atomic():
        model = find_model(name, for_update=True)
        request = _find_open(model, version, stage)
        policy = policy_of(model)
        _reviewer_check(request, user, level, policy)
        approvers = _approvers(request)
        if user and user in approvers:
            raise InvalidParameter(f"{user} has approved this request already.")
        _check_still_applies(model, request)
        signals.before_request_approval.send(
            request,
            name=name,
            version=str(version),
            from_stage=request.from_stage,
            to_stage=stage,
            requester=request.creator,
            user=user,
            archive_existing_versions=archive_existing_versions,
        )
        now = now_ms()
        activity = record_activity(request, "APPROVED_REQUEST", user, comment, timestamp=now)
        if len(approvers | {user}) >= policy["approvals_required"]:
            model_versions.transition_stage(
                name=name,
                version=version,
                stage=stage,
                archive_existing_versions=archive_existing_versions,
                user=user,
                comment=comment or f"approved transition request {request.id}",
            )
            request.state = "APPROVED"
        request.last_updated_timestamp = now
        save(request, TransitionRequest.state, TransitionRequest.last_updated_timestamp)
        publish(events.transition_request_event("approved", request, user, comment), request)
        return comment_out(activity, user=user, level=level)


@retry_conflicts
def reject_request(
    *, name: str, version: int, stage: str, comment: str = "", user: str, level: int | None
) -> dict:
    """Reject the open request: it closes and the version stays where it is."""
    with db.atomic():
        model = find_model(name, for_update=True)
        request = _find_open(model, version, stage)
        _reviewer_check(request, user, level, policy_of(model))
        return _close(request, "REJECTED", "REJECTED_REQUEST", "rejected", user, comment, level)


@retry_conflicts
def delete_request(
    *,
    name: str,
    version: int,
    stage: str,
    creator: str,
    comment: str = "",
    user: str,
    level: int | None,
) -> dict:
    """Cancel the open request: its creator may, and so may a MANAGE holder."""
    with db.atomic():
        model = find_model(name, for_update=True)
        request = _find_open(model, version, stage)
        if request.creator != creator:
            raise ResourceDoesNotExist(
                f"No open transition request of {name} version {version} to {stage} by {creator}"
            )
        if level is not None and user != request.creator and level < MANAGE:
            raise PermissionDenied(
                "Permission denied: only the requester or a MANAGE holder may cancel a request."
            )
        return _close(request, "CANCELLED", "CANCELLED_REQUEST", "cancelled", user, comment, level)


def _close(request, state, activity_type, action, user, comment, level) -> dict:
    now = now_ms()
    activity = record_activity(request, activity_type, user, comment, timestamp=now)
    request.state = state
    request.last_updated_timestamp = now
    save(request, TransitionRequest.state, TransitionRequest.last_updated_timestamp)
    publish(events.transition_request_event(action, request, user, comment), request)
    return comment_out(activity, user=user, level=level)


def list_requests(*, name: str, version: int, user: str, level: int | None) -> list[dict]:
    """The open requests of one version, each with what `user` may do to it."""
    with reading():
        model = find_model(name)
        policy = policy_of(model)
        rows = (
            TransitionRequest.select()
            .where(
                (TransitionRequest.model == model)
                & (TransitionRequest.version == version)
                & (TransitionRequest.state == "OPEN")
            )
            .order_by(TransitionRequest.creation_timestamp, TransitionRequest.id)
        )
        out = []
        for row in rows:
            row.model = model
            out.append(request_out(row, user=user, level=level, settings=policy))
        return out


def open_requests(
    *, model_names: list[str] | None = None, limit: int = 1000
) -> list[TransitionRequest]:
    """The oldest `limit` open requests (of the named models), with their models."""
    with reading():
        query = (
            TransitionRequest.select(TransitionRequest, RegisteredModel)
            .join(RegisteredModel)
            .where(TransitionRequest.state == "OPEN")
        )
        if model_names is not None:
            query = query.where(RegisteredModel.name.in_(model_names))
        ordered = query.order_by(TransitionRequest.creation_timestamp, TransitionRequest.id)
        return list(ordered.limit(limit))
