"""The page of one model version: stage, aliases, lineage, signature, and its actions."""

from flask import render_template, url_for

from registry.auth.rules import level_on_model
from registry.schemas import registry as s
from registry.services import aliases, browsing, lineage, model_versions
from registry.store.tables.registry import STAGES
from registry.ui import access, artifacts, charts, markdown, requests
from registry.ui.access import page
from registry.ui.blueprint import bp
from registry.ui.forms import Failed, loaded, perform

CHARTED_METRICS = 6  # charts on the version page; the run page has them all


@bp.get("/models/<name>/versions/<version>")
@page
def version(name, version):
    return _render_version(name, version)


def _render_version(name: str, number: str, failed: Failed | None = None) -> str:
    access.require("READ", model=name)
    fields = loaded(s.ModelVersionIn(), name=name, version=number)
    found = lineage.version_lineage(**fields)
    found_version, run = found["model_version"], found.get("run")
    directory = artifacts.root_path(found.get("artifact_uri", ""))
    files = found.get("artifacts", [])
    metric_charts = {}
    if run is not None:
        keys = [m.key for m in run.metric_list][:CHARTED_METRICS]
        series = browsing.metric_series(run_id=run.run_id, keys=keys)
        metric_charts = {key: charts.line_chart({key: points}) for key, points in series.items()}
    return render_template(
        "version.html",
        version=found_version,
        name=name,
        description=markdown.render(found_version.description),
        run=run,
        logged_model=found.get("logged_model"),
        artifact_uri=found.get("artifact_uri", ""),
        directory=directory,
        files=files,
        mlmodel=artifacts.mlmodel_facts(directory, files),
        metric_charts=metric_charts,
        stages=STAGES,
        failed=failed,
        **requests.version_context(name, found_version.version),
    )


@bp.post("/models/<name>/versions/<version>")
@page
def version_action(name, version):
    here = url_for("ui.version", name=name, version=version)

    def transition(form):
        access.require("EDIT", model=name)
        fields = loaded(
            s.TransitionStageIn(),
            name=name,
            version=version,
            stage=form.get("stage", ""),
            archive_existing_versions=form.get("archive_existing_versions") == "true",
            comment=form.get("comment", ""),
        )
        level = level_on_model(name)
        model_versions.transition_stage(**fields, user=access.acting_user() or "", level=level)
        return here

    def set_alias(form):
        access.require("EDIT", model=name)
        fields = loaded(s.SetAliasIn(), name=name, alias=form.get("alias", ""), version=version)
        aliases.set_alias(**fields, user=access.acting_user() or "", level=level_on_model(name))
        return here

    def delete_alias(form):
        access.require("MANAGE", model=name)
        fields = loaded(s.AliasIn(), name=name, alias=form.get("alias", ""))
        user = access.acting_user() or ""
        aliases.delete_alias(**fields, user=user, level=level_on_model(name))
        return here

    def describe(form):
        access.require("EDIT", model=name)
        fields = loaded(
            s.UpdateModelVersionIn(),
            name=name,
            version=version,
            description=form.get("description", ""),
        )
        model_versions.update_model_version(**fields)
        return here

    def set_tag(form):
        access.require("EDIT", model=name)
        fields = loaded(
            s.ModelVersionTagIn(),
            name=name,
            version=version,
            key=form.get("key", ""),
            value=form.get("value", ""),
        )
        model_versions.set_model_version_tag(**fields)
        return here

    def delete_tag(form):
        access.require("EDIT", model=name)
        fields = loaded(
            s.DeleteModelVersionTagIn(), name=name, version=version, key=form.get("key", "")
        )
        model_versions.delete_model_version_tag(**fields)
        return here

    def delete(form):
        access.require("MANAGE", model=name)
        fields = loaded(s.ModelVersionIn(), name=name, version=version)
        model_versions.delete_model_version(**fields, user=access.acting_user() or "")
        return url_for("ui.model", name=name)

    actions = dict(
        transition=transition,
        set_alias=set_alias,
        delete_alias=delete_alias,
        describe=describe,
        set_tag=set_tag,
        delete_tag=delete_tag,
        delete=delete,
        **requests.version_actions(name, version),
    )
    return perform(actions, lambda failed: _render_version(name, version, failed))
