"""Aliases: named pointers from a model to one of its versions (e.g. "champion")."""

from hooks import events, signals
from hooks.outbox import publish
from registry.db import db, reading
from registry.errors import InvalidParameter
from registry.models import Alias, ModelVersion, RegisteredModel, now_ms
from registry.services.history import record_alias_change
from registry.services.lookup import find_model, find_version, with_version_details


def set_alias(*, name: str, alias: str, version: int, user: str = "") -> None:
    """Point `alias` at `version`, creating or moving it in one transaction."""
    with db.atomic():
        model = find_model(name, for_update=True)
        target = find_version(model, version)
        current = _find_alias(model, alias)
        previous = current.version.version if current is not None else None
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
            Alias.create(model=model, alias=alias, version=target)
        else:
            Alias.update(version=target).where(Alias.id == current.id).execute()
        record_alias_change(model, alias, previous, version, user=user)
        publish(events.alias_created(name, alias, version, previous), target)
        model.last_updated_timestamp = now_ms()
        model.save()


def delete_alias(*, name: str, alias: str, user: str = "") -> None:
    """Remove `alias`; removing an alias that does not exist is a no-op, as in MLflow."""
    with db.atomic():
        model = find_model(name, for_update=True)
        current = _find_alias(model, alias)
        if current is None:
            return
        current.delete_instance()
        record_alias_change(model, alias, current.version.version, None, user=user)
        publish(events.alias_deleted(name, alias), model)
        model.last_updated_timestamp = now_ms()
        model.save()


def get_version_by_alias(*, name: str, alias: str) -> ModelVersion:
    """The version `alias` points at."""
    with reading():
        model = find_model(name)
        current = _find_alias(model, alias)
        if current is None:
            # MLflow answers 400 here, not 404; we match it.
            raise InvalidParameter(f"Registered model alias {alias} not found.")
        current.version.model = model
        return with_version_details([current.version])[0]


def _find_alias(model: RegisteredModel, alias: str) -> Alias | None:
    return (
        Alias.select(Alias, ModelVersion)
        .join(ModelVersion)
        .where((Alias.model == model) & (Alias.alias == alias))
        .first()
    )
