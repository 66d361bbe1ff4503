"""Experiments and runs: the experiment list, an experiment's runs table, one run with its
metric charts and artifacts, and 2 to 5 runs compared side by side."""

from flask import abort, redirect, render_template, request, url_for

from registry.errors import PodiumError
from registry.schemas.tracking import ExperimentIdIn
from registry.services import artifacts as artifact_files
from registry.services import browsing, experiments, runs
from registry.ui import access, artifacts, charts
from registry.ui.access import page
from registry.ui.blueprint import bp
from registry.ui.forms import loaded, search_filter

PAGE_SIZE = 50
CHARTED_METRICS = 12
DEFAULT_COLUMNS = 6
MAX_COMPARED = 5
COMPARED_CHARTS, COMPARED_POINTS = 8, 150  # overlays of up to 5 runs each


@bp.get("/experiments")
@page
def experiment_list():
    query = request.args.get("q", "").strip()
    token = request.args.get("page_token") or None
    error, found = None, {"experiments": []}
    try:
        found = experiments.search_experiments(
            filter=search_filter(query),
            max_results=PAGE_SIZE,
            page_token=token,
            viewer=access.viewer(),
        )
    except PodiumError as refused:
        error = refused.message
    html = render_template(
        "experiments.html",
        experiments=found["experiments"],
        next_token=found.get("next_page_token"),
        query=query,
        error=error,
    )
    return html, 400 if error else 200


def _experiment_id(text: str) -> int:
    """The path's experiment id, checked as the API checks it (a 400 beyond its range)."""
    return loaded(ExperimentIdIn(), experiment_id=text)["experiment_id"]


@bp.get("/experiments/<experiment_id>")
@page
def experiment(experiment_id):
    access.require("READ", experiment_id=experiment_id)
    experiment_id = _experiment_id(experiment_id)
    found = experiments.get_experiment(experiment_id=experiment_id)
    query = request.args.get("q", "").strip()
    token = request.args.get("page_token") or None
    error, page_of_runs = None, {"runs": []}
    try:
        page_of_runs = runs.search_runs(
            experiment_ids=[experiment_id],
            filter=query or None,
            max_results=PAGE_SIZE,
            page_token=token,
        )
    except PodiumError as refused:
        error = refused.message
    listed = page_of_runs["runs"]
    params = _columns("params", [p["key"] for r in listed for p in r.param_list])
    metrics = _columns("metrics", [m.key for r in listed for m in r.metric_list])
    html = render_template(
        "experiment.html",
        experiment=found,
        runs=listed,
        params=params,
        metrics=metrics,
        next_token=page_of_runs.get("next_page_token"),
        query=query,
        error=error,
    )
    return html, 400 if error else 200


def _columns(argument: str, keys: list[str]) -> list[str]:
    """The columns asked for (comma-separated), else the first few keys the runs have."""
    asked = request.args.get(argument)
    if asked is not None:
        return [key.strip() for key in asked.split(",") if key.strip()][:20]
    return list(dict.fromkeys(keys))[:DEFAULT_COLUMNS]


@bp.get("/runs/<run_id>")
@page
def run_by_id(run_id):
    found = runs.get_run(run_id=run_id)
    return redirect(url_for("ui.run", experiment_id=found.experiment_id, run_id=run_id))


@bp.get("/experiments/<experiment_id>/runs/<run_id>")
@page
def run(experiment_id, run_id):
    access.require("READ", experiment_id=experiment_id)
    _experiment_id(experiment_id)
    found = runs.get_run(run_id=run_id)
    if str(found.experiment_id) != experiment_id:  # the run's own experiment is the page
        return redirect(url_for("ui.run", experiment_id=found.experiment_id, run_id=run_id))
    keys = [m.key for m in found.metric_list]
    chosen = [key for key in request.args.getlist("chart") if key in keys]
    charted = chosen or keys[:CHARTED_METRICS]
    x_axis = "time" if request.args.get("x") == "time" else "step"
    series = browsing.metric_series(run_id=run_id, keys=charted)
    metric_charts = {
        key: charts.line_chart({key: points}, x_axis=x_axis) for key, points in series.items()
    }
    directory = artifacts.root_path(found.artifact_uri)
    entries = None
    if directory is not None:
        try:
            entries = artifact_files.list_artifacts(path=directory)
        except PodiumError:
            entries = None
    return render_template(
        "run.html",
        run=found,
        experiment=experiments.get_experiment(experiment_id=found.experiment_id),
        metric_charts=metric_charts,
        x_axis=x_axis,
        directory=directory,
        entries=sorted(entries or [], key=lambda e: (not e.is_dir, e.name)),
        kind_of=artifacts.kind_of,
        versions=browsing.versions_from_run(run_id=run_id),
    )


@bp.get("/experiments/<experiment_id>/runs/<run_id>/<path:rest>")
@page
def run_subpage(experiment_id, run_id, rest):
    """MLflow's run tabs (artifacts, model metrics, ...) are sections of the one run page."""
    return redirect(url_for("ui.run", experiment_id=experiment_id, run_id=run_id), 301)


@bp.get("/compare")
@page
def compare():
    ids = list(dict.fromkeys(request.args.getlist("run")))
    if not 2 <= len(ids) <= MAX_COMPARED:
        abort(400, f"Choose 2 to {MAX_COMPARED} runs to compare (got {len(ids)}).")
    compared = [runs.get_run(run_id=run_id) for run_id in ids]
    for found in compared:
        access.require("READ", experiment_id=str(found.experiment_id))
    params_of = [{p["key"]: p["value"] for p in r.param_list} for r in compared]
    metrics_of = [{m.key: m for m in r.metric_list} for r in compared]
    params = {
        key: [values.get(key) for values in params_of]
        for key in sorted({key for values in params_of for key in values})
    }
    metric_keys = sorted({key for values in metrics_of for key in values})
    latest = {key: [values.get(key) for values in metrics_of] for key in metric_keys}
    chosen = [key for key in request.args.getlist("chart") if key in latest]
    overlaid = {}
    for key in chosen or metric_keys[:COMPARED_CHARTS]:
        series = {
            (r.name or r.run_id): browsing.metric_series(
                run_id=r.run_id, keys=[key], max_points=COMPARED_POINTS
            )[key]
            for r in compared
        }
        overlaid[key] = charts.line_chart(series)
    return render_template(
        "compare.html", runs=compared, params=params, latest=latest, overlaid=overlaid
    )
