"""Grants: what level a user holds on one registered model or experiment.

A model's grants follow it through a rename and go with it when it is deleted. The creator of
a model or experiment is granted MANAGE on it in the transaction that creates it.
"""

from registry.errors import InvalidParameter, ResourceAlreadyExists, ResourceDoesNotExist
from registry.services.users import find_user
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import statement
from registry.store.tables.auth import LEVELS, MANAGE, RESOURCE_TYPES, Grant, User
from registry.store.tables.registry import RegisteredModel
from registry.store.tables.tracking import Experiment


def _held(user_id, resource_type, resource_id):
    """The condition naming one user's grant on one resource."""
    return (
        (Grant.user == user_id)
        & (Grant.resource_type == resource_type)
        & (Grant.resource_id == resource_id)
    )


@statement
def _level(user_id, resource_type, resource_id):
    return Grant.select().where(_held(user_id, resource_type, resource_id)).limit(1)


@statement
def _level_only(user_id, resource_type, resource_id):
    return Grant.select(Grant.level).where(_held(user_id, resource_type, resource_id)).limit(1)


def level_of(user, resource_type: str, resource_id: str, *, default: int) -> int:
    """The level `user` (a User or Caller) holds on a resource: MANAGE for admins, else the
    grant or `default`."""
    if user.is_admin:
        return MANAGE
    found = _level_only.tuples(user.id, resource_type, resource_id)
    return found[0][0] if found else default


def checked_level(permission: object) -> int:
    if permission not in LEVELS:
        raise InvalidParameter(
            f"Invalid permission '{permission}'. Valid permissions are: {', '.join(LEVELS)}"
        )
    return LEVELS[permission]


def _checked_resource(resource_type: object, resource_id: object) -> tuple[str, str]:
    if resource_type not in RESOURCE_TYPES:
        raise InvalidParameter(
            f"Invalid resource_type '{resource_type}'. Valid resource types are: "
            f"{', '.join(RESOURCE_TYPES)}"
        )
    if not isinstance(resource_id, str) or not resource_id:
        raise InvalidParameter("Missing value for required parameter 'resource_id'.")
    if resource_type == "registered_model":
        if not RegisteredModel.select().where(RegisteredModel.name == resource_id).exists():
            raise ResourceDoesNotExist(f"Registered Model with name={resource_id} not found")
    elif not (
        resource_id.isdigit()
        and Experiment.select().where(Experiment.id == int(resource_id)).exists()
    ):
        raise ResourceDoesNotExist(f"No Experiment with id={resource_id} exists")
    return resource_type, resource_id


def _user(username: str) -> User:
    user = find_user(username)
    if user is None:
        raise ResourceDoesNotExist(f"User with username={username} not found")
    return user


def _put(user_id: int, resource_type: str, resource_id: str, level: int) -> None:
    updated = Grant.update(level=level).where(_held(user_id, resource_type, resource_id)).execute()
    if not updated:
        Grant.create(
            user=user_id, resource_type=resource_type, resource_id=resource_id, level=level
        )


@retry_conflicts
def grant(
    *,
    username: str,
    resource_type: str,
    resource_id: str,
    permission: str,
    existing: bool | None = None,
) -> Grant:
    """Give `username` `permission` on a resource, replacing what they held. With `existing`
    True or False, the grant must (update) or must not (create) exist already."""
    level = checked_level(permission)
    with db.atomic():
        user = _user(username)
        resource_type, resource_id = _checked_resource(resource_type, resource_id)
        held = _level.first(user.id, resource_type, resource_id)
        what = f"{username} on {resource_type} {resource_id}"
        if existing is False and held is not None:
            raise ResourceAlreadyExists(f"A permission of {what} exists already.")
        if existing is True and held is None:
            raise ResourceDoesNotExist(f"No permission of {what} exists.")
        _put(user.id, resource_type, resource_id, level)
        return _level.first(user.id, resource_type, resource_id)


@retry_conflicts
def revoke(*, username: str, resource_type: str, resource_id: str) -> None:
    """Take back what `username` was granted on a resource (the default level applies again)."""
    with db.atomic():
        user = _user(username)
        deleted = Grant.delete().where(_held(user.id, resource_type, resource_id)).execute()
        if not deleted:
            raise ResourceDoesNotExist(
                f"No permission of {username} on {resource_type} {resource_id} to revoke"
            )


def get_grant(*, username: str, resource_type: str, resource_id: str) -> Grant:
    """What `username` was granted on a resource; not found when nothing was."""
    with reading():
        user = _user(username)
        found = _level.first(user.id, resource_type, resource_id)
    if found is None:
        raise ResourceDoesNotExist(
            f"No permission of {username} on {resource_type} {resource_id} exists"
        )
    return found


def grants_of(*, username: str) -> tuple[User, list[Grant]]:
    with reading():
        user = _user(username)
        query = Grant.select().where(Grant.user == user.id)
        return user, list(query.order_by(Grant.resource_type, Grant.resource_id))


def grant_creator(username: str, resource_type: str, resource_id: str) -> None:
    """In the creating transaction: MANAGE for the user who created the resource, if any."""
    if not username:
        return
    user = find_user(username)
    if user is not None:
        _put(user.id, resource_type, resource_id, MANAGE)


def follow_rename(old_name: str, new_name: str) -> None:
    """In the renaming transaction: a model's grants keep naming it."""
    Grant.update(resource_id=new_name).where(
        (Grant.resource_type == "registered_model") & (Grant.resource_id == old_name)
    ).execute()


def drop_grants(resource_type: str, resource_id: str) -> None:
    """In the deleting transaction: a later resource of the same name starts with none."""
    Grant.delete().where(
        (Grant.resource_type == resource_type) & (Grant.resource_id == resource_id)
    ).execute()
