"""Registered models: create, read, rename, describe, tag, delete, search."""

from peewee import IntegrityError

from hooks import events
from hooks.outbox import publish
from registry.errors import ResourceAlreadyExists
from registry.search import pages, permitted
from registry.search.permitted import Viewer
from registry.search.registry import registered_model_ordering, registered_model_where
from registry.services import grants
from registry.services.lookup import (
    find_latest_versions,
    find_model,
    model_exists,
    with_model_details,
)
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import create, save, statement
from registry.store.tables.base import now_ms
from registry.store.tables.registry import STAGES, ModelVersion, RegisteredModel, RegisteredModelTag


@retry_conflicts
def create_registered_model(
    *, name: str, tags: list[dict] = (), description: str = "", user: str = ""
) -> RegisteredModel:
    """Create a registered model with its tags."""
    try:
        with db.atomic():
            if model_exists(name):
                raise _already_exists(name)
            model = create(RegisteredModel, name=name, description=description, user_id=user)
            grants.grant_creator(user, "registered_model", name)
            for key, value in _unique_tags(tags).items():
                create(RegisteredModelTag, model=model, key=key, value=value)
            with_model_details([model])
            publish(events.registered_model_created(model), model)
            return model
    except IntegrityError:  # a concurrent create won the unique name (PostgreSQL)
        raise _already_exists(name) from None


def get_registered_model(*, name: str) -> RegisteredModel:
    """The registered model with its tags, aliases and latest versions."""
    with reading():
        return with_model_details([find_model(name)])[0]


@retry_conflicts
def rename_registered_model(*, name: str, new_name: str) -> RegisteredModel:
    """Give a model a new name; versions, aliases and history follow it."""
    try:
        with db.atomic():
            model = find_model(name, for_update=True)
            if new_name != name:
                if model_exists(new_name):
                    raise _already_exists(new_name)
                model.name = new_name
                model.last_updated_timestamp = now_ms()
                save(model, RegisteredModel.name, RegisteredModel.last_updated_timestamp)
                grants.follow_rename(name, new_name)
                publish(events.registered_model_renamed(model, name), model)
            return with_model_details([model])[0]
    except IntegrityError:
        raise _already_exists(new_name) from None


@retry_conflicts
def update_registered_model(*, name: str, description: str) -> RegisteredModel:
    """Replace a model's description."""
    with db.atomic():
        model = find_model(name, for_update=True)
        model.description = description
        model.last_updated_timestamp = now_ms()
        save(model, RegisteredModel.description, RegisteredModel.last_updated_timestamp)
        publish(events.registered_model_updated(model), model)
        return with_model_details([model])[0]


@retry_conflicts
def delete_registered_model(*, name: str) -> None:
    """Delete a model with its versions, tags and aliases; its history rows are kept."""
    with db.atomic():
        model = find_model(name, for_update=True)
        model.delete_instance()
        grants.drop_grants("registered_model", name)
        publish(events.registered_model_deleted(name), name)


@retry_conflicts
def set_registered_model_tag(*, name: str, key: str, value: str) -> None:
    """Set (or overwrite) one tag on a model."""
    with db.atomic():
        model = find_model(name, for_update=True)
        RegisteredModelTag.insert(model=model, key=key, value=value).on_conflict(
            conflict_target=[RegisteredModelTag.model, RegisteredModelTag.key],
            update={RegisteredModelTag.value: value},
        ).execute()
        publish(events.registered_model_tag_set(name, key, value), model)


@retry_conflicts
def delete_registered_model_tag(*, name: str, key: str) -> None:
    """Remove one tag from a model; removing a missing tag is a no-op."""
    with db.atomic():
        model = find_model(name, for_update=True)
        deleted = (
            RegisteredModelTag.delete()
            .where((RegisteredModelTag.model == model) & (RegisteredModelTag.key == key))
            .execute()
        )
        if deleted:
            publish(events.registered_model_tag_deleted(name, key), model)


@statement
def _model_page(limit, offset, user_id, *, filter, order_by, visibility):
    query = RegisteredModel.select()
    where = registered_model_where(filter)
    if where is not None:
        query = query.where(where)
    visible = permitted.visible_models(user_id, visibility)
    if visible is not None:
        query = query.where(visible)
    ordering = registered_model_ordering(list(order_by))
    return query.order_by(*ordering).limit(limit).offset(offset)


def search_registered_models(
    *,
    filter: str | None = None,
    max_results: int = 100,
    order_by: list[str] = (),
    page_token: str | None = None,
    viewer: Viewer | None = None,
) -> dict:
    """One page of the models `viewer` may read matching `filter`, with a next-page token."""
    shape = {
        "filter": filter,
        "order_by": list(order_by),
        "visibility": permitted.visibility(viewer),
    }

    def page(limit, offset):
        return _model_page.rows(limit, offset, permitted.user_id(viewer), **shape)

    with reading():
        rows, more = pages.fetch_page(page, max_results=max_results, page_token=page_token)
        return {"registered_models": with_model_details(rows), **more}


def get_latest_versions(*, name: str, stages: list[str] = ()) -> list[ModelVersion]:
    """The highest version in each requested stage (every stage when none are named)."""
    with reading():
        return find_latest_versions(name, stages or STAGES)


def _unique_tags(tags) -> dict:
    return {tag["key"]: tag["value"] for tag in tags}


def _already_exists(name: str) -> ResourceAlreadyExists:
    return ResourceAlreadyExists(f"Registered Model (name={name}) already exists.")
