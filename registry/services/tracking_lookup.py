"""Finding tracking rows by their wire ids, and loading what their wire shapes show."""

import re
from collections import defaultdict
from collections.abc import Iterable

from registry.errors import InvalidParameter, ResourceDoesNotExist
from registry.services.lookup import key_values
from registry.store.db import locked
from registry.store.statements import statement
from registry.store.tables.tracking import (
    ACTIVE,
    Dataset,
    Experiment,
    ExperimentTag,
    LatestMetric,
    LoggedModel,
    LoggedModelParam,
    LoggedModelTag,
    Metric,
    Param,
    Run,
    RunInput,
    RunInputTag,
    RunModelInput,
    RunOutput,
    RunTag,
)

_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")


def find_experiment(experiment_id: int, *, for_update: bool = False) -> Experiment:
    """The experiment with this id; with for_update, row-locked until the transaction ends."""
    query = Experiment.select().where(Experiment.id == experiment_id)
    found = (locked(query) if for_update else query).first()
    if found is None:
        raise ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")
    return found


@statement
def _run_by_id(run_id, *, for_update=False):
    query = Run.select().where(Run.run_id == run_id).limit(1)
    return locked(query) if for_update else query


def find_run(run_id: str, *, for_update: bool = False, active: bool = False) -> Run:
    """The run with this id; with active, refuse a deleted run (as MLflow does for writes)."""
    found = _run_by_id.first(run_id, for_update=for_update)
    if found is None:
        raise ResourceDoesNotExist(f"Run with id={run_id} not found")
    if active and found.lifecycle_stage != ACTIVE:
        raise InvalidParameter(
            f"The run {run_id} must be in the 'active' state. "
            f"Current state is {found.lifecycle_stage}."
        )
    return found


def find_logged_model(
    model_id: str, *, for_update: bool = False, allow_deleted: bool = False
) -> LoggedModel:
    """The logged model with this id; a deleted one only with allow_deleted."""
    found = None
    if _MODEL_ID.fullmatch(model_id):  # ids from a URL path are unchecked text until here
        query = LoggedModel.select().where(LoggedModel.model_id == model_id)
        found = (locked(query) if for_update else query).first()
    if found is None or (found.lifecycle_stage != ACTIVE and not allow_deleted):
        raise ResourceDoesNotExist(f"Logged model with ID '{model_id}' not found.")
    return found


def with_experiment_details(experiments: Iterable[Experiment]) -> list[Experiment]:
    """Attach tag_list to each experiment."""
    experiments = list(experiments)
    if experiments:
        tags = key_values(ExperimentTag, "experiment", [e.id for e in experiments])
        for experiment in experiments:
            experiment.tag_list = tags[experiment.id]
    return experiments


def with_run_details(runs: Iterable[Run]) -> list[Run]:
    """Attach params, latest metrics, tags and model outputs to each run, a query per kind."""
    runs = list(runs)
    if not runs:
        return runs
    ids = [run.run_id for run in runs]
    params = key_values(Param, "run", ids)
    tags = key_values(RunTag, "run", ids)
    metrics, outputs = defaultdict(list), defaultdict(list)
    for metric in LatestMetric.select().where(LatestMetric.run.in_(ids)).order_by(LatestMetric.key):
        metrics[metric.run_id].append(metric)
    for output in RunOutput.select().where(RunOutput.run.in_(ids)).order_by(RunOutput.id):
        outputs[output.run_id].append({"model_id": output.model_id, "step": output.step})
    inputs, model_inputs = _inputs(ids)
    for run in runs:
        run.param_list, run.tag_list = params[run.run_id], tags[run.run_id]
        run.metric_list, run.model_outputs = metrics[run.run_id], outputs[run.run_id]
        run.dataset_input_list = inputs[run.run_id]
        run.model_input_list = model_inputs[run.run_id]
    return runs


def _inputs(run_ids: list[str]) -> tuple[dict, dict]:
    """Per run: its dataset inputs ({tags, dataset}) and model inputs ({model_id})."""
    inputs, model_inputs, by_id = defaultdict(list), defaultdict(list), {}
    used = (
        RunInput.select(RunInput, Dataset)
        .join(Dataset)
        .where(RunInput.run.in_(run_ids))
        .order_by(RunInput.id)
    )
    for row in used:
        by_id[row.id] = {"tags": [], "dataset": row.dataset}
        inputs[row.run_id].append(by_id[row.id])
    if by_id:
        query = RunInputTag.select().where(RunInputTag.input.in_(list(by_id)))
        for tag in query.order_by(RunInputTag.id):
            by_id[tag.input_id]["tags"].append(tag)
    query = RunModelInput.select().where(RunModelInput.run.in_(run_ids))
    for row in query.order_by(RunModelInput.id):
        model_inputs[row.run_id].append({"model_id": row.model_id})
    return inputs, model_inputs


def with_logged_model_details(models: Iterable[LoggedModel]) -> list[LoggedModel]:
    """Attach tags, params and the latest metric per key logged against each model."""
    models = list(models)
    if not models:
        return models
    ids = [model.model_id for model in models]
    tags = key_values(LoggedModelTag, "model", ids)
    params = key_values(LoggedModelParam, "model", ids)
    latest = {}
    for metric in Metric.select().where(Metric.model_id.in_(ids)):
        key = (metric.model_id, metric.key)
        rank = (metric.step, metric.timestamp, metric.value)
        if key not in latest or rank > (latest[key].step, latest[key].timestamp, latest[key].value):
            latest[key] = metric
    metrics = defaultdict(list)
    for (model_id, _key), metric in sorted(latest.items()):
        metrics[model_id].append(metric)
    for model in models:
        model.tag_list, model.param_list = tags[model.model_id], params[model.model_id]
        model.metric_list = metrics[model.model_id]
    return models
