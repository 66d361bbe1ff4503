"""MLflow's WebhookService (/api/2.0/mlflow/webhooks) and Podium's delivery log extensions."""

import json

from flask import Blueprint, current_app, request

from hooks.events import MLFLOW_EVENTS
from registry.api.exchange import exchange
from registry.auth.rules import ADMIN, OnDelivery, OnWebhook, access
from registry.schemas import webhooks as s
from registry.services import webhooks

bp = Blueprint("webhooks", __name__)  # mounted at /api/2.0/mlflow/webhooks
podium_bp = Blueprint("podium_webhooks", __name__)  # mounted at /api/2.0/podium


@bp.post("")
@exchange(s.CreateWebhookIn(), s.WebhookResponse())
@access(OnWebhook())
def create_webhook(req):
    webhook, secret = webhooks.create_webhook(**req, settings=current_app.config)
    return {"webhook": webhook, "secret": secret}


@bp.get("")
@exchange(s.PageIn(), s.WebhooksPage())
@access(ADMIN)
def list_webhooks(req):
    page = webhooks.list_webhooks(**req)
    if request.user_agent.string.startswith("mlflow-python-client"):
        # MLflow's client rejects a webhook with no event it knows, and with it the whole
        # list; it is shown only webhooks it can represent.
        page["webhooks"] = [w for w in page["webhooks"] if _has_mlflow_event(w)]
    return page


def _has_mlflow_event(webhook) -> bool:
    return any(
        event.split(".")[1] in MLFLOW_EVENTS.get(event.split(".")[0], ())
        for event in json.loads(webhook.events)
    )


@bp.get("/<webhook_id>")
@exchange(response_schema=s.WebhookResponse())
@access(OnWebhook())
def get_webhook(webhook_id):
    return {"webhook": webhooks.get_webhook(webhook_id=webhook_id)}


@bp.patch("/<webhook_id>")
@exchange(s.UpdateWebhookIn(), s.WebhookResponse())
@access(OnWebhook())
def update_webhook(req, webhook_id):
    webhook = webhooks.update_webhook(webhook_id=webhook_id, settings=current_app.config, **req)
    return {"webhook": webhook}


@bp.delete("/<webhook_id>")
@exchange()
@access(OnWebhook())
def delete_webhook(webhook_id):
    webhooks.delete_webhook(webhook_id=webhook_id)


@bp.post("/<webhook_id>/test")
@exchange(s.TestWebhookIn(), s.TestWebhookResponse())
@access(OnWebhook())
def test_webhook(req, webhook_id):
    result = webhooks.test_webhook(
        webhook_id=webhook_id, settings=current_app.config, event=req["event"]
    )
    return {"result": result}


@podium_bp.post("/webhooks/<webhook_id>/rotate-secret")
@exchange(s.RotateSecretIn(), s.WebhookResponse())
@access(OnWebhook())
def rotate_webhook_secret(req, webhook_id):
    webhook, secret = webhooks.rotate_secret(
        webhook_id=webhook_id, settings=current_app.config, **req
    )
    return {"webhook": webhook, "secret": secret}


@podium_bp.get("/webhooks/<webhook_id>/deliveries")
@exchange(s.PageIn(), s.DeliveriesPage())
@access(OnWebhook())
def list_deliveries(req, webhook_id):
    return webhooks.list_deliveries(webhook_id=webhook_id, **req)


@podium_bp.post("/deliveries/<delivery_id>/redeliver")
@exchange(response_schema=s.DeliveryResponse())
@access(OnDelivery())
def redeliver(delivery_id):
    return {"delivery": webhooks.redeliver(delivery_id=delivery_id)}
