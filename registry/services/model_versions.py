"""Model versions: register, read, describe, tag, delete, search, and move between stages."""

from hooks import events, signals
from hooks.outbox import publish
from registry.search import pages, permitted
from registry.search.permitted import Viewer
from registry.search.registry import model_version_ordering, model_version_where
from registry.services.history import record_alias_change, record_stage_change
from registry.services.lineage import check_version_source, download_uri
from registry.services.lookup import (
    find_model,
    find_model_and_version,
    find_version,
    versions_and_models,
    with_version_details,
)
from registry.services.protection import check_direct_transition
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import create, save, statement
from registry.store.tables.base import now_ms
from registry.store.tables.registry import Alias, ModelVersion, ModelVersionTag, RegisteredModel

# Only these stages hold one version at a time when a promotion archives the others.
ARCHIVING_STAGES = ("Staging", "Production")


@retry_conflicts
def create_model_version(
    *,
    name: str,
    source: str,
    run_id: str = "",
    tags: list[dict] = (),
    run_link: str = "",
    description: str = "",
    model_id: str = "",
    user: str = "",
) -> ModelVersion:
    """Register the next version of a model; its number comes from the model's own counter."""
    with db.atomic():
        run_id, model_id = check_version_source(run_id=run_id, source=source, model_id=model_id)
        model = find_model(name, for_update=True)
        model.last_version += 1
        model.last_updated_timestamp = now_ms()
        save(model, RegisteredModel.last_version, RegisteredModel.last_updated_timestamp)
        version = create(
            ModelVersion,
            model=model,
            version=model.last_version,
            source=source,
            run_id=run_id,
            run_link=run_link,
            description=description,
            logged_model_id=model_id,
            user_id=user,
            creation_timestamp=model.last_updated_timestamp,
            last_updated_timestamp=model.last_updated_timestamp,
        )
        tags = {tag["key"]: tag["value"] for tag in tags}
        for key, value in tags.items():
            create(ModelVersionTag, version=version, key=key, value=value)
        # What with_version_details would read back, without the query: a new version has no
        # aliases, and its tags are the ones just written (in the order it gives, by key).
        version.tag_list = [{"key": key, "value": tags[key]} for key in sorted(tags)]
        version.alias_names = []
        publish(events.model_version_created(version), version)
        return version


def get_model_version(*, name: str, version: int) -> ModelVersion:
    """One version with its tags and aliases."""
    with reading():
        return with_version_details([find_model_and_version(name, version)[1]])[0]


def get_download_uri(*, name: str, version: int) -> str:
    """Where the version's artifacts can be downloaded from."""
    with reading():
        return download_uri(find_model_and_version(name, version)[1].source)


@retry_conflicts
def update_model_version(*, name: str, version: int, description: str) -> ModelVersion:
    """Replace a version's description."""
    with db.atomic():
        _model, found = find_model_and_version(name, version, for_update=True)
        found.description = description
        found.last_updated_timestamp = now_ms()
        save(found, ModelVersion.description, ModelVersion.last_updated_timestamp)
        publish(events.model_version_updated(found), found)
        return with_version_details([found])[0]


@retry_conflicts
def delete_model_version(*, name: str, version: int, user: str = "") -> None:
    """Delete a version and the aliases on it; its number is never issued again."""
    with db.atomic():
        model = find_model(name, for_update=True)
        found = find_version(model, version)
        if found.current_stage != "None":
            record_stage_change(model, found, None, user=user, comment="version deleted")
        for alias in Alias.select().where(Alias.version == found):
            record_alias_change(
                model, alias.alias, found.version, None, user=user, comment="version deleted"
            )
            publish(events.alias_deleted(name, alias.alias), model)
        found.delete_instance()
        model.last_updated_timestamp = now_ms()
        save(model, RegisteredModel.last_updated_timestamp)
        publish(events.model_version_deleted(name, version), model)


@retry_conflicts
def transition_stage(
    *,
    name: str,
    version: int,
    stage: str,
    archive_existing_versions: bool = False,
    user: str = "",
    comment: str = "",
    level: int | None = None,
) -> ModelVersion:
    """Move a version to `stage`, optionally archiving the versions that hold it, atomically.

    `level` is the caller's level on the model (None: nobody signed in, or an approved request
    moving it): protected stages need the stage permission (registry.services.protection).
    """
    with db.atomic():
        model, target = find_model_and_version(name, version, for_update=True)
        check_direct_transition(model, target.current_stage, stage, level)
        signals.before_stage_transition.send(
            target,
            name=name,
            version=str(version),
            from_stage=target.current_stage,
            to_stage=stage,
            archive_existing_versions=archive_existing_versions,
            user=user,
        )
        now = now_ms()
        if archive_existing_versions and stage in ARCHIVING_STAGES:
            holders = ModelVersion.select().where(
                (ModelVersion.model == model)
                & (ModelVersion.current_stage == stage)
                & (ModelVersion.id != target.id)
            )
            for holder in holders:
                record_stage_change(
                    model,
                    holder,
                    "Archived",
                    user=user,
                    comment=f"archived by version {version}",
                    timestamp=now,
                )
                _publish_transition(holder, "Archived", user)
                holder.current_stage = "Archived"
                holder.last_updated_timestamp = now
                save(holder, ModelVersion.current_stage, ModelVersion.last_updated_timestamp)
        if target.current_stage != stage:
            record_stage_change(model, target, stage, user=user, comment=comment, timestamp=now)
            _publish_transition(target, stage, user)
            target.current_stage = stage
        target.last_updated_timestamp = now
        save(target, ModelVersion.current_stage, ModelVersion.last_updated_timestamp)
        model.last_updated_timestamp = now
        save(model, RegisteredModel.last_updated_timestamp)
        return with_version_details([target])[0]


@retry_conflicts
def set_model_version_tag(*, name: str, version: int, key: str, value: str) -> None:
    """Set (or overwrite) one tag on a version."""
    with db.atomic():
        _model, found = find_model_and_version(name, version, for_update=True)
        ModelVersionTag.insert(version=found, key=key, value=value).on_conflict(
            conflict_target=[ModelVersionTag.version, ModelVersionTag.key],
            update={ModelVersionTag.value: value},
        ).execute()
        publish(events.model_version_tag_set(name, version, key, value), found)


@retry_conflicts
def delete_model_version_tag(*, name: str, version: int, key: str) -> None:
    """Remove one tag from a version; removing a missing tag is a no-op."""
    with db.atomic():
        _model, found = find_model_and_version(name, version, for_update=True)
        deleted = (
            ModelVersionTag.delete()
            .where((ModelVersionTag.version == found) & (ModelVersionTag.key == key))
            .execute()
        )
        if deleted:
            publish(events.model_version_tag_deleted(name, version, key), found)


@statement
def _version_page(limit, offset, user_id, *, filter, order_by, visibility):
    # The versions' columns, then their model's (for lookup.versions_and_models).
    query = ModelVersion.select(
        *ModelVersion._meta.sorted_fields, *RegisteredModel._meta.sorted_fields
    ).join(RegisteredModel)
    where = model_version_where(filter)
    if where is not None:
        query = query.where(where)
    visible = permitted.visible_models(user_id, visibility)
    if visible is not None:
        query = query.where(visible)
    ordering = model_version_ordering(list(order_by))
    return query.order_by(*ordering).limit(limit).offset(offset)


def search_model_versions(
    *,
    filter: str | None = None,
    max_results: int = 10_000,
    order_by: list[str] = (),
    page_token: str | None = None,
    viewer: Viewer | None = None,
) -> dict:
    """One page of the versions `viewer` may read matching `filter`, with a next-page token."""
    shape = {
        "filter": filter,
        "order_by": list(order_by),
        "visibility": permitted.visibility(viewer),
    }

    def page(limit, offset):
        return _version_page.tuples(limit, offset, permitted.user_id(viewer), **shape)

    with reading():
        rows, more = pages.fetch_page(page, max_results=max_results, page_token=page_token)
        return {"model_versions": with_version_details(versions_and_models(rows)), **more}


def _publish_transition(version: ModelVersion, to_stage: str, user: str) -> None:
    event = events.stage_transitioned(
        version.model.name, version.version, version.current_stage, to_stage, user
    )
    publish(event, version)
