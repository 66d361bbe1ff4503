"""MLflow's tracking routes the client calls: experiments, runs, params, metrics and tags."""

from flask import Blueprint

from registry.api.exchange import exchange
from registry.schemas import tracking as s
from registry.services import experiments, run_data, runs

bp = Blueprint("tracking", __name__)


# --- experiments ----------------------------------------------------------------------------


@bp.post("/experiments/create")
@exchange(s.CreateExperimentIn(), s.ExperimentIdResponse())
def create_experiment(req):
    return {"experiment_id": experiments.create_experiment(**req)}


@bp.get("/experiments/get")
@exchange(s.ExperimentIdIn(), s.ExperimentResponse())
def get_experiment(req):
    return {"experiment": experiments.get_experiment(**req)}


@bp.get("/experiments/get-by-name")
@exchange(s.ExperimentByNameIn(), s.ExperimentResponse())
def get_experiment_by_name(req):
    return {"experiment": experiments.get_experiment_by_name(**req)}


@bp.route("/experiments/search", methods=["GET", "POST"])
@exchange(s.SearchExperimentsIn(), s.ExperimentsPage())
def search_experiments(req):
    return experiments.search_experiments(**req)


@bp.post("/experiments/update")
@exchange(s.UpdateExperimentIn())
def update_experiment(req):
    experiments.rename_experiment(**req)


@bp.post("/experiments/delete")
@exchange(s.ExperimentIdIn())
def delete_experiment(req):
    experiments.delete_experiment(**req)


@bp.post("/experiments/restore")
@exchange(s.ExperimentIdIn())
def restore_experiment(req):
    experiments.restore_experiment(**req)


@bp.post("/experiments/set-experiment-tag")
@exchange(s.ExperimentTagIn())
def set_experiment_tag(req):
    experiments.set_experiment_tag(**req)


@bp.post("/experiments/delete-experiment-tag")
@exchange(s.DeleteExperimentTagIn())
def delete_experiment_tag(req):
    experiments.delete_experiment_tag(**req)


# --- runs -----------------------------------------------------------------------------------


@bp.post("/runs/create")
@exchange(s.CreateRunIn(), s.RunResponse())
def create_run(req):
    return {"run": runs.create_run(**req)}


@bp.get("/runs/get")
@exchange(s.RunIdIn(), s.RunResponse())
def get_run(req):
    return {"run": runs.get_run(**req)}


@bp.post("/runs/update")
@exchange(s.UpdateRunIn(), s.RunInfoResponse())
def update_run(req):
    return {"run_info": runs.update_run(**req)}


@bp.post("/runs/delete")
@exchange(s.RunIdIn())
def delete_run(req):
    runs.delete_run(**req)


@bp.post("/runs/restore")
@exchange(s.RunIdIn())
def restore_run(req):
    runs.restore_run(**req)


@bp.route("/runs/search", methods=["GET", "POST"])
@exchange(s.SearchRunsIn(), s.RunsPage())
def search_runs(req):
    return runs.search_runs(**req)


@bp.post("/runs/outputs")
@exchange(s.LogOutputsIn())
def log_outputs(req):
    runs.log_outputs(**req)


@bp.post("/runs/log-inputs")
@exchange(s.LogInputsIn())
def log_inputs(req):
    runs.log_inputs(**req)


@bp.post("/runs/log-model")
@exchange(s.LogModelIn())
def log_model(req):
    """Record a logged model's metadata on its run (the MLflow 2.x client's log_model)."""
    run_data.log_model(**req)


# --- what runs log --------------------------------------------------------------------------


@bp.post("/runs/log-parameter")
@exchange(s.LogParamIn())
def log_param(req):
    run_data.log_param(**req)


@bp.post("/runs/log-metric")
@exchange(s.LogMetricIn())
def log_metric(req):
    run_data.log_metric(**req)


@bp.post("/runs/log-batch")
@exchange(s.LogBatchIn())
def log_batch(req):
    run_data.log_batch(**req)


@bp.post("/runs/set-tag")
@exchange(s.SetTagIn())
def set_tag(req):
    run_data.set_tag(**req)


@bp.post("/runs/delete-tag")
@exchange(s.DeleteTagIn())
def delete_tag(req):
    run_data.delete_tag(**req)


@bp.get("/metrics/get-history")
@exchange(s.MetricHistoryIn(), s.MetricHistoryPage())
def get_metric_history(req):
    return run_data.get_metric_history(**req)
