"""Aliases: named pointers from a model to one of its versions (e.g. "champion")."""

from hooks import events, signals
from hooks.outbox import publish
from registry.errors import InvalidParameter
from registry.services.history import record_alias_change
from registry.services.lookup import find_model, find_model_and_version, with_version_details
from registry.services.protection import check_alias
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import create, save, statement
from registry.store.tables.base import now_ms
from registry.store.tables.registry import Alias, ModelVersion, RegisteredModel


@retry_conflicts
def set_alias(
    *, name: str, alias: str, version: int, user: str = "", level: int | None = None
) -> None:
    """Point `alias` at `version`, creating or moving it in one transaction; a protected alias
    needs MANAGE_PRODUCTION_VERSIONS (`level`: the caller's on the model, None if no one's)."""
    with db.atomic():
        model, target = find_model_and_version(name, version, for_update=True)
        check_alias(model, alias, level)
        current = _version_by_alias.first(model.id, alias)
        previous = current.version if current is not None else None
        if previous == version:
            return
        signals.before_alias_set.send(
            target,
            name=name,
            alias=alias,
            version=str(version),
            previous_version=None if previous is None else str(previous),
            user=user,
        )
        if current is None:
            create(Alias, model=model, alias=alias, version=target)
        else:
            _move_alias.execute(model.id, alias, target.id)
        record_alias_change(model, alias, previous, version, user=user)
        publish(events.alias_created(name, alias, version, previous), target)
        model.last_updated_timestamp = now_ms()
        save(model, RegisteredModel.last_updated_timestamp)


@retry_conflicts
def delete_alias(*, name: str, alias: str, user: str = "", level: int | None = None) -> None:
    """Remove `alias`; removing an alias that does not exist is a no-op, as in MLflow."""
    with db.atomic():
        model = find_model(name, for_update=True)
        check_alias(model, alias, level)
        current = _version_by_alias.first(model.id, alias)
        if current is None:
            return
        Alias.delete().where((Alias.model == model) & (Alias.alias == alias)).execute()
        record_alias_change(model, alias, current.version, None, user=user)
        publish(events.alias_deleted(name, alias), model)
        model.last_updated_timestamp = now_ms()
        save(model, RegisteredModel.last_updated_timestamp)


def get_version_by_alias(*, name: str, alias: str) -> ModelVersion:
    """The version `alias` points at."""
    with reading():
        model = find_model(name)
        current = _version_by_alias.first(model.id, alias)
        if current is None:
            # MLflow answers 400 here, not 404; we match it.
            raise InvalidParameter(f"Registered model alias {alias} not found.")
        current.model = model
        return with_version_details([current])[0]


@statement
def _version_by_alias(model_id, alias):
    return (
        ModelVersion.select()
        .join(Alias)
        .where((Alias.model == model_id) & (Alias.alias == alias))
        .limit(1)
    )


@statement
def _move_alias(model_id, alias, version_id):
    return Alias.update(version=version_id).where(
        (Alias.model == model_id) & (Alias.alias == alias)
    )
