"""MLflow's tracking routes the client calls: experiments, runs, params, metrics and tags."""

from flask import Blueprint

from registry.api.exchange import caller, exchange
from registry.auth.rules import SIGNED_IN, OnExperiment, OnExperimentNamed, OnRun, access, viewer
from registry.schemas import tracking as s
from registry.services import experiments, run_data, runs

bp = Blueprint("tracking", __name__)


# --- experiments ----------------------------------------------------------------------------


@bp.post("/experiments/create")
@exchange(s.CreateExperimentIn(), s.ExperimentIdResponse())
@access(SIGNED_IN)
def create_experiment(req):
    return {"experiment_id": experiments.create_experiment(**req, user=caller())}


@bp.get("/experiments/get")
@exchange(s.ExperimentIdIn(), s.ExperimentResponse())
@access(OnExperiment("READ"))
def get_experiment(req):
    return {"experiment": experiments.get_experiment(**req)}


@bp.get("/experiments/get-by-name")
@exchange(s.ExperimentByNameIn(), s.ExperimentResponse())
@access(OnExperimentNamed("READ"))
def get_experiment_by_name(req):
    return {"experiment": experiments.get_experiment_by_name(**req)}


@bp.route("/experiments/search", methods=["GET", "POST"])
@exchange(s.SearchExperimentsIn(), s.ExperimentsPage())
@access(SIGNED_IN)
def search_experiments(req):
    return experiments.search_experiments(**req, viewer=viewer())


@bp.post("/experiments/update")
@exchange(s.UpdateExperimentIn())
@access(OnExperiment("EDIT"))
def update_experiment(req):
    experiments.rename_experiment(**req)


@bp.post("/experiments/delete")
@exchange(s.ExperimentIdIn())
@access(OnExperiment("MANAGE"))
def delete_experiment(req):
    experiments.delete_experiment(**req)


@bp.post("/experiments/restore")
@exchange(s.ExperimentIdIn())
@access(OnExperiment("MANAGE"))
def restore_experiment(req):
    experiments.restore_experiment(**req)


@bp.post("/experiments/set-experiment-tag")
@exchange(s.ExperimentTagIn())
@access(OnExperiment("EDIT"))
def set_experiment_tag(req):
    experiments.set_experiment_tag(**req)


@bp.post("/experiments/delete-experiment-tag")
@exchange(s.DeleteExperimentTagIn())
@access(OnExperiment("MANAGE"))
def delete_experiment_tag(req):
    experiments.delete_experiment_tag(**req)


# --- runs -----------------------------------------------------------------------------------


@bp.post("/runs/create")
@exchange(s.CreateRunIn(), s.RunResponse())
@access(OnExperiment("EDIT"))
def create_run(req):
    return {"run": runs.create_run(**req)}


@bp.get("/runs/get")
@exchange(s.RunIdIn(), s.RunResponse())
@access(OnRun("READ"))
def get_run(req):
    return {"run": runs.get_run(**req)}


@bp.post("/runs/update")
@exchange(s.UpdateRunIn(), s.RunInfoResponse())
@access(OnRun("EDIT"))
def update_run(req):
    return {"run_info": runs.update_run(**req)}


@bp.post("/runs/delete")
@exchange(s.RunIdIn())
@access(OnRun("MANAGE"))
def delete_run(req):
    runs.delete_run(**req)


@bp.post("/runs/restore")
@exchange(s.RunIdIn())
@access(OnRun("MANAGE"))
def restore_run(req):
    runs.restore_run(**req)


@bp.route("/runs/search", methods=["GET", "POST"])
@exchange(s.SearchRunsIn(), s.RunsPage())
@access(SIGNED_IN)
def search_runs(req):
    return runs.search_runs(**req, viewer=viewer())


@bp.post("/runs/outputs")
@exchange(s.LogOutputsIn())
@access(OnRun("EDIT"))
def log_outputs(req):
    runs.log_outputs(**req)


@bp.post("/runs/log-inputs")
@exchange(s.LogInputsIn())
@access(OnRun("EDIT"))
def log_inputs(req):
    runs.log_inputs(**req)


@bp.post("/runs/log-model")
@exchange(s.LogModelIn())
@access(OnRun("EDIT"))
def log_model(req):
    """Record a logged model's metadata on its run (the MLflow 2.x client's log_model)."""
    run_data.log_model(**req)


# --- what runs log --------------------------------------------------------------------------


@bp.post("/runs/log-parameter")
@exchange(s.LogParamIn())
@access(OnRun("EDIT"))
def log_param(req):
    run_data.log_param(**req)


@bp.post("/runs/log-metric")
@exchange(s.LogMetricIn())
@access(OnRun("EDIT"))
def log_metric(req):
    run_data.log_metric(**req)


@bp.post("/runs/log-batch")
@exchange(s.LogBatchIn())
@access(OnRun("EDIT"))
def log_batch(req):
    run_data.log_batch(**req)


@bp.post("/runs/set-tag")
@exchange(s.SetTagIn())
@access(OnRun("EDIT"))
def set_tag(req):
    run_data.set_tag(**req)


@bp.post("/runs/delete-tag")
@exchange(s.DeleteTagIn())
@access(OnRun("MANAGE"))
def delete_tag(req):
    run_data.delete_tag(**req)


@bp.get("/metrics/get-history")
@exchange(s.MetricHistoryIn(), s.MetricHistoryPage())
@access(OnRun("READ"))
def get_metric_history(req):
    return run_data.get_metric_history(**req)
