"""MLflow 3's logged-model routes: what log_model and register_model("runs:/...") call."""

from flask import Blueprint

from registry.api.exchange import exchange
from registry.auth.rules import SIGNED_IN, OnExperiment, OnLoggedModel, access, viewer
from registry.schemas import logged_models as s
from registry.services import logged_models

bp = Blueprint("logged_models", __name__)


@bp.post("/logged-models")
@exchange(s.CreateLoggedModelIn(), s.LoggedModelResponse())
@access(OnExperiment("EDIT"))
def create_logged_model(req):
    return {"model": logged_models.create_logged_model(**req)}


@bp.post("/logged-models/search")
@exchange(s.SearchLoggedModelsIn(), s.LoggedModelsPage())
@access(SIGNED_IN)
def search_logged_models(req):
    return logged_models.search_logged_models(**req, viewer=viewer())


@bp.get("/logged-models/<model_id>")
@exchange(s.GetLoggedModelIn(), s.LoggedModelResponse())
@access(OnLoggedModel("READ"))
def get_logged_model(req, model_id):
    return {"model": logged_models.get_logged_model(model_id=model_id, **req)}


@bp.patch("/logged-models/<model_id>")
@exchange(s.FinalizeLoggedModelIn(), s.LoggedModelResponse())
@access(OnLoggedModel("EDIT"))
def finalize_logged_model(req, model_id):
    return {"model": logged_models.finalize_logged_model(model_id=model_id, **req)}


@bp.delete("/logged-models/<model_id>")
@exchange()
@access(OnLoggedModel("MANAGE"))
def delete_logged_model(model_id):
    logged_models.delete_logged_model(model_id=model_id)


@bp.patch("/logged-models/<model_id>/tags")
@exchange(s.SetLoggedModelTagsIn())
@access(OnLoggedModel("EDIT"))
def set_logged_model_tags(req, model_id):
    logged_models.set_logged_model_tags(model_id=model_id, **req)


@bp.delete("/logged-models/<model_id>/tags/<path:key>")
@exchange()
@access(OnLoggedModel("MANAGE"))
def delete_logged_model_tag(model_id, key):
    logged_models.delete_logged_model_tag(model_id=model_id, key=key)


@bp.post("/logged-models/<model_id>/params")
@exchange(s.LogLoggedModelParamsIn())
@access(OnLoggedModel("EDIT"))
def log_logged_model_params(req, model_id):
    logged_models.log_logged_model_params(model_id=model_id, **req)
