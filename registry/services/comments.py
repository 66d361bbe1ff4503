"""Comments on a model version: Markdown, shown in its activity; one transaction each."""

from hooks import events
from hooks.outbox import publish
from registry.errors import PermissionDenied, ResourceDoesNotExist
from registry.services.activity import comment_out
from registry.services.lookup import find_model, find_version
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import create, save
from registry.store.tables.approvals import Comment
from registry.store.tables.auth import MANAGE
from registry.store.tables.base import now_ms
from registry.store.tables.registry import RegisteredModel


@retry_conflicts
def create_comment(*, name: str, version: int, comment: str, user: str) -> dict:
    """Add a comment to a version."""
    with db.atomic():
        model = find_model(name, for_update=True)
        find_version(model, version)
        now = now_ms()
        row = create(
            Comment,
            model=model,
            version=version,
            activity_type="NEW_COMMENT",
            user=user,
            comment=comment,
            creation_timestamp=now,
            last_updated_timestamp=now,
        )
        publish(events.comment_created(name, version, row.id, user, comment), row)
        return comment_out(row, user=user, level=None)


def model_of_comment(comment_id: str) -> str | None:
    """The name of the model a comment is on, or None if there is no such comment."""
    with reading():
        found = _comment(comment_id)
        return None if found is None else found.model.name


def _comment(comment_id: str) -> Comment | None:
    if not str(comment_id).isdigit() or len(str(comment_id)) > 18:
        return None
    return (
        Comment.select(Comment, RegisteredModel)
        .join(RegisteredModel)
        .where((Comment.id == int(comment_id)) & (Comment.activity_type == "NEW_COMMENT"))
        .first()
    )


def _found(comment_id: str) -> Comment:
    found = _comment(comment_id)
    if found is None:
        raise ResourceDoesNotExist(f"Comment with id={comment_id} not found")
    return found


@retry_conflicts
def update_comment(*, id: str, comment: str, user: str, level: int | None) -> dict:
    """Replace a comment's text: only its author may."""
    with db.atomic():
        found = _found(id)
        if level is not None and found.user != user:
            raise PermissionDenied("Permission denied: only a comment's author may edit it.")
        found.comment = comment
        found.last_updated_timestamp = now_ms()
        save(found, Comment.comment, Comment.last_updated_timestamp)
        return comment_out(found, user=user, level=level)


@retry_conflicts
def delete_comment(*, id: str, user: str, level: int | None) -> None:
    """Remove a comment: its author or a MANAGE holder on the model may."""
    with db.atomic():
        found = _found(id)
        if level is not None and found.user != user and level < MANAGE:
            raise PermissionDenied(
                "Permission denied: only a comment's author or a MANAGE holder may delete it."
            )
        found.delete_instance()
