"""Logged models (MLflow 3): what log_model creates, finalizes, tags and searches for."""

import uuid

from registry.errors import InvalidParameter
from registry.search import pages, permitted, tracking
from registry.search.permitted import Viewer
from registry.services.names import random_name
from registry.services.tracking_lookup import (
    find_experiment,
    find_logged_model,
    find_run,
    with_logged_model_details,
)
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.tables.base import now_ms
from registry.store.tables.tracking import (
    ACTIVE,
    DELETED,
    LoggedModel,
    LoggedModelParam,
    LoggedModelTag,
)

MAX_KEY_LENGTH = 250
FINAL_STATUSES = ("LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")


@retry_conflicts
def create_logged_model(
    *,
    experiment_id: int,
    name: str = "",
    source_run_id: str = "",
    model_type: str = "",
    params: list[dict] = (),
    tags: list[dict] = (),
) -> LoggedModel:
    """A new, pending logged model whose files go under <experiment>/models/<id>/artifacts."""
    with db.atomic():
        experiment = find_experiment(experiment_id)
        if experiment.lifecycle_stage != ACTIVE:
            raise InvalidParameter(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        if source_run_id:
            find_run(source_run_id, active=True)
        model_id = "m-" + uuid.uuid4().hex
        model = LoggedModel.create(
            model_id=model_id,
            experiment=experiment,
            name=name or random_name(),
            source_run_id=source_run_id,
            model_type=model_type,
            artifact_uri=f"{experiment.artifact_location}/models/{model_id}/artifacts",
        )
        _upsert(LoggedModelParam, model, params)
        _upsert(LoggedModelTag, model, tags)
        return with_logged_model_details([model])[0]


def get_logged_model(*, model_id: str, allow_deleted: bool = False) -> LoggedModel:
    """One logged model with its tags, params and metrics."""
    with reading():
        found = find_logged_model(model_id, allow_deleted=allow_deleted)
        return with_logged_model_details([found])[0]


@retry_conflicts
def finalize_logged_model(*, model_id: str, status: str) -> LoggedModel:
    """Mark the upload of a logged model's files done (READY) or failed."""
    if status not in FINAL_STATUSES:
        raise InvalidParameter(
            f"Invalid status '{status}' to finalize a logged model: "
            f"use {' or '.join(FINAL_STATUSES)}"
        )
    with db.atomic():
        model = find_logged_model(model_id, for_update=True)
        model.status, model.last_updated_timestamp = status, now_ms()
        model.save()
        return with_logged_model_details([model])[0]


@retry_conflicts
def delete_logged_model(*, model_id: str) -> None:
    """Mark a logged model deleted; versions registered from it keep their source."""
    with db.atomic():
        model = find_logged_model(model_id, for_update=True)
        model.lifecycle_stage, model.last_updated_timestamp = DELETED, now_ms()
        model.save()


@retry_conflicts
def set_logged_model_tags(*, model_id: str, tags: list[dict]) -> None:
    """Set (or overwrite) tags on a logged model."""
    with db.atomic():
        model = find_logged_model(model_id, for_update=True)
        _upsert(LoggedModelTag, model, tags)


@retry_conflicts
def delete_logged_model_tag(*, model_id: str, key: str) -> None:
    """Remove one tag from a logged model; a missing tag is a no-op."""
    with db.atomic():
        model = find_logged_model(model_id, for_update=True)
        if "\x00" in key or len(key) > MAX_KEY_LENGTH:  # from the URL path: no such tag
            return
        LoggedModelTag.delete().where(
            (LoggedModelTag.model == model) & (LoggedModelTag.key == key)
        ).execute()


@retry_conflicts
def log_logged_model_params(*, model_id: str, params: list[dict]) -> None:
    """Add params to a logged model (the client sends those past the first 100 this way)."""
    with db.atomic():
        model = find_logged_model(model_id, for_update=True)
        _upsert(LoggedModelParam, model, params)


def search_logged_models(
    *,
    experiment_ids: list[int],
    filter: str | None = None,
    max_results: int = 50,
    order_by: list[dict] = (),
    page_token: str | None = None,
    viewer: Viewer | None = None,
) -> dict:
    """One page of the experiments' logged models `viewer` may read matching `filter`."""
    condition = tracking.where(tracking.LOGGED_MODELS, filter)
    clauses = [f"{o['field_name']} {'ASC' if o['ascending'] else 'DESC'}" for o in order_by]
    ordering = tracking.ordering(tracking.LOGGED_MODELS, clauses)
    with reading():
        query = LoggedModel.select().where(
            LoggedModel.experiment.in_(list(experiment_ids))
            & (LoggedModel.lifecycle_stage == ACTIVE)
        )
        if condition is not None:
            query = query.where(condition)
        visible = permitted.visible_experiments(
            permitted.user_id(viewer), permitted.visibility(viewer), LoggedModel.experiment
        )
        if visible is not None:
            query = query.where(visible)
        rows, more = pages.fetch_page(
            pages.sliced(query.order_by(*ordering)), max_results=max_results, page_token=page_token
        )
        return {"models": with_logged_model_details(rows), **more}


def _upsert(table, model: LoggedModel, pairs: list[dict]) -> None:
    for key, value in {pair["key"]: pair["value"] for pair in pairs}.items():
        table.insert(model=model, key=key, value=value).on_conflict(
            conflict_target=[table.model, table.key], update={table.value: value}
        ).execute()
