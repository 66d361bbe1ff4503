"""Lineage: which run and logged model a model version came from, and the files it is made of.

`check_version_source` and `download_uri` are called by the model-version services inside
their own transactions; `version_lineage` is Podium's lineage read.
"""

import re

from peewee import fn

from registry.errors import InvalidParameter
from registry.services.artifacts import owner_of
from registry.services.lookup import find_model_and_version, with_version_details
from registry.services.tracking_lookup import (
    find_logged_model,
    find_run,
    with_logged_model_details,
    with_run_details,
)
from registry.store.db import reading
from registry.store.statements import statement
from registry.store.tables.tracking import ARTIFACTS_SCHEME, ArtifactFile, LoggedModel, Run

# models:/<one segment without '@'> names a logged model by id (mlflow's _parse_model_uri).
_MODEL_ID_URI = re.compile(r"models:/(m-[\w-]+)")
_RUNS_URI = re.compile(r"runs:/([^/]+)(?:/(.*))?")


@statement
def _logged_model_roots(run_id):
    return LoggedModel.select(LoggedModel.artifact_uri).where(LoggedModel.source_run_id == run_id)


def check_version_source(*, run_id: str, source: str, model_id: str) -> tuple[str, str]:
    """Check a new version's links; return the (run_id, model_id) to store.

    A logged model named by `model_id` or by a models:/m-... source must exist, and lends its
    source run when no run_id is given. A run_id must name an existing run, and an
    mlflow-artifacts: source must then lie inside that run's artifacts or one of its logged
    models' artifacts.
    """
    match = _MODEL_ID_URI.fullmatch(source)
    if match:
        if model_id and model_id != match[1]:
            raise InvalidParameter(
                f"model_id '{model_id}' does not match the logged model of source '{source}'."
            )
        model_id = match[1]
    logged_model = find_logged_model(model_id, allow_deleted=True) if model_id else None
    if logged_model is not None and not run_id:
        run_id = logged_model.source_run_id
    if run_id:
        run = find_run(run_id)
        location = _artifact_path(source)
        if location is not None:
            roots = [run.artifact_uri] + [uri for (uri,) in _logged_model_roots.tuples(run_id)]
            if logged_model is not None:
                roots.append(logged_model.artifact_uri)
            if not any(_within(location, _artifact_path(root)) for root in roots):
                raise InvalidParameter(
                    f"Invalid model version source '{source}': it is not inside the artifacts "
                    f"of run {run_id} ({run.artifact_uri}) or of a model logged by that run."
                )
    return run_id, model_id


def download_uri(source: str) -> str:
    """Where a source's files can be fetched: models:/m-... becomes the logged model's URI."""
    match = _MODEL_ID_URI.fullmatch(source)
    if match:
        model = LoggedModel.get_or_none(LoggedModel.model_id == match[1])
        if model is not None:
            return model.artifact_uri
    return source


def version_lineage(*, name: str, version: int) -> dict:
    """A version with its run, its logged model and its recorded artifact files."""
    with reading():
        found = with_version_details([find_model_and_version(name, version)[1]])[0]
        lineage = {"model_version": found}
        if found.logged_model_id:
            model = LoggedModel.get_or_none(LoggedModel.model_id == found.logged_model_id)
            if model is not None:
                lineage["logged_model"] = with_logged_model_details([model])[0]
        run = Run.get_or_none(Run.run_id == found.run_id) if found.run_id else None
        if run is not None:
            lineage["run"] = with_run_details([run])[0]
        location = _resolve(found.source)
        lineage["artifact_uri"] = location
        directory = _artifact_path(location)
        lineage["artifacts"] = [] if directory is None else _files_under(directory)
        return lineage


def _resolve(source: str) -> str:
    """An artifact URI for the source, following runs:/ and models:/m-... to their roots."""
    match = _RUNS_URI.fullmatch(source)
    if match:
        run = Run.get_or_none(Run.run_id == match[1])
        if run is not None:
            return run.artifact_uri + (f"/{match[2]}" if match[2] else "")
    return download_uri(source)


def _files_under(directory: str) -> list[dict]:
    prefix = directory + "/"
    query = ArtifactFile.select().where(fn.SUBSTR(ArtifactFile.path, 1, len(prefix)) == prefix)
    owner = owner_of(prefix + "-")
    if owner:
        query = query.where(ArtifactFile.owner == owner)
    return [
        {
            "path": row.path[len(prefix) :],
            "size": row.size,
            "sha256": row.sha256,
            "uploaded_at": row.uploaded_at,
        }
        for row in query.order_by(ArtifactFile.path)
    ]


def _artifact_path(uri: str) -> str | None:
    """The root-relative path of an mlflow-artifacts: URI (host, if any, dropped); else None."""
    if not uri.startswith(ARTIFACTS_SCHEME):
        return None
    rest = uri[len(ARTIFACTS_SCHEME) :]
    if rest.startswith("//"):
        rest = "/" + rest[2:].partition("/")[2]
    return rest.strip("/")


def _within(path: str, root: str | None) -> bool:
    return root is not None and (path == root or path.startswith(root + "/"))
