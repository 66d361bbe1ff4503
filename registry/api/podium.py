"""Podium's own extensions, under /api/2.0/podium: history, lineage and the API document."""

from flask import Blueprint, current_app, jsonify

from registry.api.exchange import exchange
from registry.api.openapi import openapi_document
from registry.auth.rules import SIGNED_IN, OnModel, access
from registry.schemas import podium as s
from registry.schemas.lineage import LineageIn, LineageOut
from registry.services import history, lineage

bp = Blueprint("podium", __name__)


@bp.get("/registered-models/history")
@exchange(s.HistoryIn(), s.HistoryOut())
@access(OnModel("READ"))
def model_history(req):
    return {"history": history.model_history(**req)}


@bp.get("/registered-models/as-of")
@exchange(s.AsOfIn(), s.AsOfOut())
@access(OnModel("READ"))
def model_as_of(req):
    return history.model_as_of(**req)


@bp.get("/model-versions/lineage")
@exchange(LineageIn(), LineageOut())
@access(OnModel("READ"))
def model_version_lineage(req):
    """A version with its run, its logged model and its artifact files (sizes, SHA-256)."""
    return lineage.version_lineage(**req)


@bp.get("/openapi.json")
@access(SIGNED_IN)
def openapi():
    return jsonify(openapi_document(current_app))
