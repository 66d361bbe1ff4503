"""Pages of registered models: the list at `/` and one model with its versions and history."""

import datetime

from flask import redirect, render_template, request, url_for

from registry.errors import PodiumError
from registry.schemas import registry as s
from registry.services import browsing, history, registered_models
from registry.store.tables.registry import STAGES
from registry.ui import access, charts, markdown
from registry.ui.access import page
from registry.ui.blueprint import bp
from registry.ui.forms import Failed, loaded, perform, search_filter

PAGE_SIZE = 50
MAX_OFFSET = 10**9  # past any real model, and within what every database binds
SORTS = {"name": ["name ASC"], "modified": ["last_updated_timestamp DESC"]}


@bp.get("/ml/<path:rest>")
@page
def mlflow_prefixed(rest):
    """MLflow 3 puts its pages under /ml/; the same pages here have no prefix."""
    return redirect("/" + rest, 301)


@bp.get("/models")
@page
def model_list():
    return redirect(url_for("ui.models", **request.args), 301)


@bp.get("/")
@page
def models():
    query, sort = request.args.get("q", ""), request.args.get("sort", "name")
    token = request.args.get("page_token") or None
    error, found = None, {"registered_models": []}
    try:
        found = registered_models.search_registered_models(
            filter=search_filter(query),
            order_by=SORTS.get(sort, SORTS["name"]),
            max_results=PAGE_SIZE,
            page_token=token,
            viewer=access.viewer(),
        )
    except PodiumError as refused:  # a filter the grammar refuses: shown beside the box
        error = refused.message
    page_html = render_template(
        "models.html",
        models=found["registered_models"],
        next_token=found.get("next_page_token"),
        query=query,
        sort=sort,
        error=error,
    )
    return page_html, 400 if error else 200


@bp.get("/models/<name>")
@page
def model(name):
    return _render_model(name)


def _render_model(name: str, failed: Failed | None = None) -> str:
    access.require("READ", model=name)
    found = registered_models.get_registered_model(name=name)
    stage = request.args.get("stage") or None
    offset = min(max(request.args.get("offset", 0, type=int), 0), MAX_OFFSET)
    versions, more = browsing.model_versions(
        name=name, stage=stage if stage in STAGES else None, limit=PAGE_SIZE, offset=offset
    )
    events = history.model_history(name=name)
    as_of_text, as_of, as_of_error = request.args.get("as_of", ""), None, None
    if as_of_text:
        moment = _parse_local(as_of_text)
        if moment is None:
            as_of_error = f"Not a date and time: {as_of_text[:40]!r} (use YYYY-MM-DDTHH:MM:SS)."
        else:
            as_of = history.model_as_of(name=name, timestamp=moment)
    return render_template(
        "model.html",
        model=found,
        description=markdown.render(found.description),
        versions=versions,
        more=more,
        offset=offset,
        page_size=PAGE_SIZE,
        stage=stage,
        stages=STAGES,
        history=list(reversed(events)),
        timeline=charts.stage_timeline(events),
        as_of=as_of,
        as_of_text=as_of_text,
        as_of_error=as_of_error,
        failed=failed,
    )


def _parse_local(text: str) -> int | None:
    """A datetime-local value (taken as UTC) as milliseconds; None if it is not one."""
    try:
        moment = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


@bp.post("/models/<name>")
@page
def model_action(name):
    def describe(form):
        access.require("EDIT", model=name)
        fields = loaded(
            s.UpdateRegisteredModelIn(), name=name, description=form.get("description", "")
        )
        registered_models.update_registered_model(**fields)
        return url_for("ui.model", name=name)

    def set_tag(form):
        access.require("EDIT", model=name)
        fields = loaded(
            s.RegisteredModelTagIn(),
            name=name,
            key=form.get("key", ""),
            value=form.get("value", ""),
        )
        registered_models.set_registered_model_tag(**fields)
        return url_for("ui.model", name=name)

    def delete_tag(form):
        access.require("EDIT", model=name)
        fields = loaded(s.DeleteRegisteredModelTagIn(), name=name, key=form.get("key", ""))
        registered_models.delete_registered_model_tag(**fields)
        return url_for("ui.model", name=name)

    def rename(form):
        access.require("MANAGE", model=name)
        fields = loaded(s.RenameRegisteredModelIn(), name=name, new_name=form.get("new_name", ""))
        renamed = registered_models.rename_registered_model(**fields)
        return url_for("ui.model", name=renamed.name)

    def delete(form):
        access.require("MANAGE", model=name)
        registered_models.delete_registered_model(**loaded(s.ModelNameIn(), name=name))
        return url_for("ui.models")

    actions = dict(
        describe=describe, set_tag=set_tag, delete_tag=delete_tag, rename=rename, delete=delete
    )
    return perform(actions, lambda failed: _render_model(name, failed))
