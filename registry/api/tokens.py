"""Personal access tokens, under /api/2.0/podium/tokens: for the calling user (admins may
revoke anyone's). Send one as `Authorization: Bearer <token>` (MLFLOW_TRACKING_TOKEN)."""

from flask import Blueprint

from registry.api.exchange import exchange
from registry.auth.rules import SIGNED_IN, access, acting_user
from registry.schemas import auth as s
from registry.services import tokens

bp = Blueprint("tokens", __name__)


@bp.post("/tokens")
@exchange(s.CreateTokenIn(), s.CreatedTokenOut())
@access(SIGNED_IN)
def create_token(req):
    return tokens.create_token(user=tokens.require_own(acting_user()), **req)


@bp.get("/tokens")
@exchange(None, s.TokensOut())
@access(SIGNED_IN)
def list_tokens():
    return {"tokens": tokens.list_tokens(user=tokens.require_own(acting_user()))}


@bp.delete("/tokens/<int:token_id>")
@exchange()
@access(SIGNED_IN)
def revoke_token(token_id):
    tokens.revoke_token(token_id=token_id, acting=tokens.require_own(acting_user()))
