"""Runs: create, read, update, delete and restore, search, and the models they log or use."""

import uuid

from registry.errors import InvalidParameter
from registry.search import pages, permitted, tracking
from registry.search.permitted import Viewer
from registry.services.experiments import VIEW_TYPES
from registry.services.names import random_name
from registry.services.tracking_lookup import (
    find_experiment,
    find_logged_model,
    find_run,
    with_run_details,
)
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.tables.base import now_ms
from registry.store.tables.tracking import (
    ACTIVE,
    DELETED,
    Dataset,
    Run,
    RunInput,
    RunInputTag,
    RunModelInput,
    RunOutput,
    RunTag,
)

RUN_NAME_TAG = "mlflow.runName"


@retry_conflicts
def create_run(
    *,
    experiment_id: int = 0,
    user_id: str = "",
    start_time: int | None = None,
    run_name: str = "",
    tags: list[dict] = (),
) -> Run:
    """Start a run in an active experiment; a run without a name gets a generated one."""
    tags = {tag["key"]: tag["value"] for tag in tags}
    tagged_name = tags.get(RUN_NAME_TAG)
    if run_name and tagged_name and run_name != tagged_name:
        raise InvalidParameter(
            f"Both 'run_name' argument and '{RUN_NAME_TAG}' tag are specified, but with "
            f"different values (run_name='{run_name}', {RUN_NAME_TAG}='{tagged_name}')."
        )
    name = run_name or tagged_name or random_name()
    tags[RUN_NAME_TAG] = name
    with db.atomic():
        experiment = find_experiment(experiment_id)
        if experiment.lifecycle_stage != ACTIVE:
            raise InvalidParameter(
                f"The experiment {experiment_id} must be in the 'active' state. "
                f"Current state is {experiment.lifecycle_stage}."
            )
        run_id = uuid.uuid4().hex
        run = Run.create(
            run_id=run_id,
            experiment=experiment,
            name=name,
            user_id=user_id,
            start_time=now_ms() if start_time is None else start_time,
            artifact_uri=f"{experiment.artifact_location}/{run_id}/artifacts",
        )
        RunTag.insert_many(
            [{"run": run_id, "key": key, "value": value} for key, value in tags.items()]
        ).execute()
        return with_run_details([run])[0]


def get_run(*, run_id: str) -> Run:
    """One run with its params, latest metrics, tags and outputs."""
    with reading():
        return with_run_details([find_run(run_id)])[0]


@retry_conflicts
def update_run(
    *,
    run_id: str,
    status: str | None = None,
    end_time: int | None = None,
    run_name: str | None = None,
) -> Run:
    """Change an active run's status, end time or name (the name tag follows the name)."""
    with db.atomic():
        run = find_run(run_id, for_update=True, active=True)
        if status is not None:
            run.status = status
        if end_time is not None:
            run.end_time = end_time
        if run_name:
            run.name = run_name
            RunTag.insert(run=run, key=RUN_NAME_TAG, value=run_name).on_conflict(
                conflict_target=[RunTag.run, RunTag.key], update={RunTag.value: run_name}
            ).execute()
        run.save()
        return run


def delete_run(*, run_id: str) -> None:
    """Mark a run deleted; it keeps everything it logged and can be restored."""
    _set_lifecycle(run_id, DELETED)


def restore_run(*, run_id: str) -> None:
    """Bring a deleted run back."""
    _set_lifecycle(run_id, ACTIVE)


@retry_conflicts
def _set_lifecycle(run_id: str, stage: str) -> None:
    with db.atomic():
        run = find_run(run_id, for_update=True)
        run.lifecycle_stage = stage
        run.save()


def search_runs(
    *,
    experiment_ids: list[int] = (),
    filter: str | None = None,
    run_view_type: str = "ACTIVE_ONLY",
    max_results: int = 1000,
    order_by: list[str] = (),
    page_token: str | None = None,
    viewer: Viewer | None = None,
) -> dict:
    """One page of the experiments' runs `viewer` may read matching `filter`, with a token."""
    condition = tracking.where(tracking.RUNS, filter)
    ordering = tracking.ordering(tracking.RUNS, list(order_by))
    with reading():
        query = Run.select().where(
            Run.experiment.in_(list(experiment_ids))
            & Run.lifecycle_stage.in_(VIEW_TYPES[run_view_type])
        )
        if condition is not None:
            query = query.where(condition)
        visible = permitted.visible_experiments(
            permitted.user_id(viewer), permitted.visibility(viewer), Run.experiment
        )
        if visible is not None:
            query = query.where(visible)
        rows, more = pages.fetch_page(
            pages.sliced(query.order_by(*ordering)), max_results=max_results, page_token=page_token
        )
        return {"runs": with_run_details(rows), **more}


@retry_conflicts
def log_outputs(*, run_id: str, models: list[dict] = ()) -> None:
    """Record logged models as outputs of a run (log_model does this), with their steps."""
    with db.atomic():
        run = find_run(run_id, for_update=True, active=True)
        for output in models:
            find_logged_model(output["model_id"])
            RunOutput.insert(run=run, model_id=output["model_id"], step=output["step"]).on_conflict(
                conflict_target=[RunOutput.run, RunOutput.model_id],
                update={RunOutput.step: output["step"]},
            ).execute()


@retry_conflicts
def log_inputs(*, run_id: str, datasets: list[dict] = (), models: list[dict] = ()) -> None:
    """Record the datasets (with their tags) and logged models a run used, as MLflow does.

    A dataset is kept once per experiment, name and digest; a run uses it once, with the tags
    it was first logged with (logging it again changes nothing).
    """
    unique = {}
    for item in datasets:  # the first of several with one name and digest wins, as in MLflow
        unique.setdefault((item["dataset"]["name"], item["dataset"]["digest"]), item)
    with db.atomic():
        run = find_run(run_id, for_update=True, active=True)
        for model in models:
            find_logged_model(model["model_id"])
            RunModelInput.insert(run=run, model_id=model["model_id"]).on_conflict_ignore().execute()
        for (name, digest), item in unique.items():
            fields = item["dataset"]
            Dataset.insert(
                experiment=run.experiment_id,
                name=name,
                digest=digest,
                source_type=fields["source_type"],
                source=fields["source"],
                dataset_schema=fields.get("schema"),
                profile=fields.get("profile"),
            ).on_conflict_ignore().execute()
            dataset = Dataset.get(
                (Dataset.experiment == run.experiment_id)
                & (Dataset.name == name)
                & (Dataset.digest == digest)
            )
            if RunInput.get_or_none((RunInput.run == run) & (RunInput.dataset == dataset)):
                continue
            used = RunInput.create(run=run, dataset=dataset)
            tags = {tag["key"]: tag["value"] for tag in item["tags"]}
            if tags:
                RunInputTag.insert_many(
                    [{"input": used, "key": key, "value": value} for key, value in tags.items()]
                ).execute()
