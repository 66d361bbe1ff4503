"""MLflow's ModelRegistryService: the 21 routes the MLflow client calls, under /api/2.0/mlflow."""

from flask import Blueprint

from registry.api.exchange import caller, exchange
from registry.auth.rules import SIGNED_IN, OnModel, access, level_on_model, viewer
from registry.schemas import registry as s
from registry.services import aliases, model_versions, registered_models

bp = Blueprint("registry", __name__)


# --- registered models ----------------------------------------------------------------------


@bp.post("/registered-models/create")
@exchange(s.CreateRegisteredModelIn(), s.RegisteredModelResponse())
@access(SIGNED_IN)
def create_registered_model(req):
    model = registered_models.create_registered_model(**req, user=caller())
    return {"registered_model": model}


@bp.get("/registered-models/get")
@exchange(s.ModelNameIn(), s.RegisteredModelResponse())
@access(OnModel("READ"))
def get_registered_model(req):
    return {"registered_model": registered_models.get_registered_model(**req)}


@bp.post("/registered-models/rename")
@exchange(s.RenameRegisteredModelIn(), s.RegisteredModelResponse())
@access(OnModel("EDIT"))
def rename_registered_model(req):
    return {"registered_model": registered_models.rename_registered_model(**req)}


@bp.patch("/registered-models/update")
@exchange(s.UpdateRegisteredModelIn(), s.RegisteredModelResponse())
@access(OnModel("EDIT"))
def update_registered_model(req):
    return {"registered_model": registered_models.update_registered_model(**req)}


@bp.delete("/registered-models/delete")
@exchange(s.ModelNameIn())
@access(OnModel("MANAGE"))
def delete_registered_model(req):
    registered_models.delete_registered_model(**req)


@bp.get("/registered-models/search")
@exchange(s.SearchRegisteredModelsIn(), s.RegisteredModelsPage())
@access(SIGNED_IN)
def search_registered_models(req):
    return registered_models.search_registered_models(**req, viewer=viewer())


@bp.route("/registered-models/get-latest-versions", methods=["GET", "POST"])
@exchange(s.GetLatestVersionsIn(), s.ModelVersionsResponse())
@access(OnModel("READ"))
def get_latest_versions(req):
    return {"model_versions": registered_models.get_latest_versions(**req)}


@bp.post("/registered-models/set-tag")
@exchange(s.RegisteredModelTagIn())
@access(OnModel("EDIT"))
def set_registered_model_tag(req):
    registered_models.set_registered_model_tag(**req)


@bp.delete("/registered-models/delete-tag")
@exchange(s.DeleteRegisteredModelTagIn())
@access(OnModel("MANAGE"))
def delete_registered_model_tag(req):
    registered_models.delete_registered_model_tag(**req)


# --- model versions -------------------------------------------------------------------------


@bp.post("/model-versions/create")
@exchange(s.CreateModelVersionIn(), s.ModelVersionResponse())
@access(OnModel("EDIT"))
def create_model_version(req):
    return {"model_version": model_versions.create_model_version(**req, user=caller())}


@bp.get("/model-versions/get")
@exchange(s.ModelVersionIn(), s.ModelVersionResponse())
@access(OnModel("READ"))
def get_model_version(req):
    return {"model_version": model_versions.get_model_version(**req)}


@bp.patch("/model-versions/update")
@exchange(s.UpdateModelVersionIn(), s.ModelVersionResponse())
@access(OnModel("EDIT"))
def update_model_version(req):
    return {"model_version": model_versions.update_model_version(**req)}


@bp.delete("/model-versions/delete")
@exchange(s.ModelVersionIn())
@access(OnModel("MANAGE"))
def delete_model_version(req):
    model_versions.delete_model_version(**req, user=caller())


@bp.post("/model-versions/transition-stage")
@exchange(s.TransitionStageIn(), s.ModelVersionResponse())
@access(OnModel("EDIT"))
def transition_model_version_stage(req):
    level = level_on_model(req["name"])
    return {"model_version": model_versions.transition_stage(**req, user=caller(), level=level)}


@bp.get("/model-versions/search")
@exchange(s.SearchModelVersionsIn(), s.ModelVersionsPage())
@access(SIGNED_IN)
def search_model_versions(req):
    return model_versions.search_model_versions(**req, viewer=viewer())


@bp.get("/model-versions/get-download-uri")
@exchange(s.ModelVersionIn(), s.DownloadUriResponse())
@access(OnModel("READ"))
def get_model_version_download_uri(req):
    return {"artifact_uri": model_versions.get_download_uri(**req)}


@bp.post("/model-versions/set-tag")
@exchange(s.ModelVersionTagIn())
@access(OnModel("EDIT"))
def set_model_version_tag(req):
    model_versions.set_model_version_tag(**req)


@bp.delete("/model-versions/delete-tag")
@exchange(s.DeleteModelVersionTagIn())
@access(OnModel("MANAGE"))
def delete_model_version_tag(req):
    model_versions.delete_model_version_tag(**req)


# --- aliases --------------------------------------------------------------------------------


@bp.post("/registered-models/alias")
@exchange(s.SetAliasIn())
@access(OnModel("EDIT"))
def set_registered_model_alias(req):
    aliases.set_alias(**req, user=caller(), level=level_on_model(req["name"]))


@bp.delete("/registered-models/alias")
@exchange(s.AliasIn())
@access(OnModel("MANAGE"))
def delete_registered_model_alias(req):
    aliases.delete_alias(**req, user=caller(), level=level_on_model(req["name"]))


@bp.get("/registered-models/alias")
@exchange(s.AliasIn(), s.ModelVersionResponse())
@access(OnModel("READ"))
def get_model_version_by_alias(req):
    return {"model_version": aliases.get_version_by_alias(**req)}
