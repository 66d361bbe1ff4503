"""Experiments: create, read, search, rename, delete and restore, and their tags."""

from peewee import IntegrityError

from registry.errors import InvalidParameter, ResourceAlreadyExists, ResourceDoesNotExist
from registry.search import pages, permitted, tracking
from registry.search.permitted import Viewer
from registry.services import grants
from registry.services.tracking_lookup import find_experiment, with_experiment_details
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.tables.base import now_ms
from registry.store.tables.tracking import (
    ACTIVE,
    ARTIFACTS_SCHEME,
    DEFAULT_EXPERIMENT_ID,
    DELETED,
    Experiment,
    ExperimentTag,
    Run,
)

VIEW_TYPES = {"ACTIVE_ONLY": (ACTIVE,), "DELETED_ONLY": (DELETED,), "ALL": (ACTIVE, DELETED)}


@retry_conflicts
def create_experiment(
    *, name: str, artifact_location: str = "", tags: list[dict] = (), user: str = ""
) -> int:
    """Create an experiment; its artifacts default to mlflow-artifacts:/<id> on this server."""
    with db.atomic():
        existing = Experiment.get_or_none(Experiment.name == name)
        if existing is not None:
            state = "" if existing.lifecycle_stage == ACTIVE else " in deleted state"
            raise ResourceAlreadyExists(f"Experiment(name={name}) already exists{state}.")
        try:
            experiment = Experiment.create(name=name)
        except IntegrityError:  # a concurrent create of the same name won (PostgreSQL)
            raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.") from None
        experiment.artifact_location = (
            artifact_location.rstrip("/") or f"{ARTIFACTS_SCHEME}/{experiment.id}"
        )
        experiment.save()
        for key, value in {tag["key"]: tag["value"] for tag in tags}.items():
            ExperimentTag.create(experiment=experiment, key=key, value=value)
        grants.grant_creator(user, "experiment", str(experiment.id))
        return experiment.id


def get_experiment(*, experiment_id: int) -> Experiment:
    """One experiment with its tags."""
    with reading():
        return with_experiment_details([find_experiment(experiment_id)])[0]


def get_experiment_by_name(*, experiment_name: str) -> Experiment:
    """The experiment called `experiment_name`, deleted or not."""
    with reading():
        found = Experiment.get_or_none(Experiment.name == experiment_name)
        if found is None:
            raise ResourceDoesNotExist(f"Could not find experiment with name '{experiment_name}'")
        return with_experiment_details([found])[0]


def search_experiments(
    *,
    view_type: str = "ACTIVE_ONLY",
    max_results: int = 1000,
    filter: str | None = None,
    order_by: list[str] = (),
    page_token: str | None = None,
    viewer: Viewer | None = None,
) -> dict:
    """One page of the experiments `viewer` may read matching `filter`, with a next-page token."""
    condition = tracking.where(tracking.EXPERIMENTS, filter)
    ordering = tracking.ordering(tracking.EXPERIMENTS, list(order_by))
    with reading():
        query = Experiment.select().where(Experiment.lifecycle_stage.in_(VIEW_TYPES[view_type]))
        visible = permitted.visible_experiments(
            permitted.user_id(viewer), permitted.visibility(viewer)
        )
        if visible is not None:
            query = query.where(visible)
        if condition is not None:
            query = query.where(condition)
        rows, more = pages.fetch_page(
            pages.sliced(query.order_by(*ordering)), max_results=max_results, page_token=page_token
        )
        return {"experiments": with_experiment_details(rows), **more}


@retry_conflicts
def rename_experiment(*, experiment_id: int, new_name: str) -> None:
    """Give an active experiment a new, unused name."""
    with db.atomic():
        experiment = _active(find_experiment(experiment_id, for_update=True))
        if experiment.name == new_name:
            return
        if Experiment.select().where(Experiment.name == new_name).exists():
            raise ResourceAlreadyExists(f"Experiment(name={new_name}) already exists.")
        experiment.name, experiment.last_update_time = new_name, now_ms()
        try:
            experiment.save()
        except IntegrityError:
            raise ResourceAlreadyExists(f"Experiment(name={new_name}) already exists.") from None


def delete_experiment(*, experiment_id: int) -> None:
    """Mark an experiment and its runs deleted; the Default experiment cannot be deleted."""
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        raise InvalidParameter("Cannot delete the default experiment '0'. This is an internal.")
    _set_lifecycle(experiment_id, DELETED)


def restore_experiment(*, experiment_id: int) -> None:
    """Bring a deleted experiment and its runs back."""
    _set_lifecycle(experiment_id, ACTIVE)


@retry_conflicts
def _set_lifecycle(experiment_id: int, stage: str) -> None:
    with db.atomic():
        experiment = find_experiment(experiment_id, for_update=True)
        if stage == ACTIVE and experiment.lifecycle_stage == ACTIVE:
            raise InvalidParameter(
                f"Cannot restore an active experiment. Experiment id={experiment_id}"
            )
        experiment.lifecycle_stage, experiment.last_update_time = stage, now_ms()
        experiment.save()
        Run.update(lifecycle_stage=stage).where(Run.experiment == experiment).execute()


@retry_conflicts
def set_experiment_tag(*, experiment_id: int, key: str, value: str) -> None:
    """Set (or overwrite) one tag on an active experiment."""
    with db.atomic():
        experiment = _active(find_experiment(experiment_id, for_update=True))
        ExperimentTag.insert(experiment=experiment, key=key, value=value).on_conflict(
            conflict_target=[ExperimentTag.experiment, ExperimentTag.key],
            update={ExperimentTag.value: value},
        ).execute()


@retry_conflicts
def delete_experiment_tag(*, experiment_id: int, key: str) -> None:
    """Remove one tag from an active experiment; a missing tag is an error, as in MLflow."""
    with db.atomic():
        experiment = _active(find_experiment(experiment_id, for_update=True))
        removed = (
            ExperimentTag.delete()
            .where((ExperimentTag.experiment == experiment) & (ExperimentTag.key == key))
            .execute()
        )
        if not removed:
            raise ResourceDoesNotExist(
                f"No tag with name: {key} in experiment with id {experiment_id}"
            )


def _active(experiment: Experiment) -> Experiment:
    if experiment.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The experiment {experiment.id} must be in the 'active' state. "
            f"Current state is {experiment.lifecycle_stage}."
        )
    return experiment
