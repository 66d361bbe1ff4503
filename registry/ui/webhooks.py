"""Webhooks: the list with a create form, and one webhook with its actions and delivery log.

Creating a webhook and rotating its secret answer with the page itself rather than a
redirect: the secret is shown that once and is never stored anywhere it could be shown again.
"""

import json

from flask import current_app, render_template, request, url_for

from hooks.events import MLFLOW_EVENTS, PODIUM_EVENTS
from registry.errors import PodiumError
from registry.schemas import webhooks as s
from registry.services import webhooks
from registry.store.tables.registry import STAGES
from registry.ui import access
from registry.ui.access import page
from registry.ui.blueprint import bp
from registry.ui.forms import Failed, loaded, perform

_NEVER_EMITTED = ("prompt", "budget_policy")
EVENTS = sorted(
    f"{entity}.{action}"
    for table in (MLFLOW_EVENTS, PODIUM_EVENTS)
    for entity, actions in table.items()
    if not entity.startswith(_NEVER_EMITTED)
    for action in actions
)


def _event(word: str) -> dict:
    entity, _dot, action = word.partition(".")
    return {"entity": entity, "action": action}


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


@bp.get("/webhooks")
@page
def webhook_list():
    return _render_list()


def _render_list(failed: Failed | None = None, created=None, secret=None) -> str:
    access.require("ADMIN")
    found = webhooks.list_webhooks(
        max_results=100, page_token=request.args.get("page_token") or None
    )
    query = request.args.get("q", "").strip().lower()
    listed = [w for w in found["webhooks"] if query in (w.name + " " + w.url).lower()]
    return render_template(
        "webhooks.html",
        webhooks=listed,
        next_token=found.get("next_page_token"),
        query=query,
        events=EVENTS,
        stages=[stage for stage in STAGES if stage != "None"],
        failed=failed,
        created=created,
        secret=secret,
        loads=json.loads,
    )


@bp.post("/webhooks")
@page
def webhook_create():
    access.require("ADMIN")
    form = request.form
    try:
        fields = loaded(
            s.CreateWebhookIn(),
            name=form.get("name", ""),
            url=form.get("url", ""),
            description=form.get("description", ""),
            events=[_event(word) for word in form.getlist("events")],
            model_names=_names(form.get("model_names", "")),
            stages=form.getlist("stages"),
        )
        created, secret = webhooks.create_webhook(**fields, settings=current_app.config)
    except PodiumError as error:
        return _render_list(Failed("create", error.message, form)), error.http_status
    return _render_list(created=created, secret=secret), 201


@bp.get("/webhooks/<webhook_id>")
@page
def webhook(webhook_id):
    return _render_webhook(webhook_id)


def _render_webhook(webhook_id, failed=None, secret=None, test_result=None) -> str:
    access.require("ADMIN")
    found = webhooks.get_webhook(webhook_id=webhook_id)
    log = webhooks.list_deliveries(
        webhook_id=webhook_id,
        max_results=50,
        page_token=request.args.get("page_token") or None,
    )
    return render_template(
        "webhook.html",
        webhook=found,
        deliveries=log["deliveries"],
        next_token=log.get("next_page_token"),
        failed=failed,
        secret=secret,
        test_result=test_result,
        loads=json.loads,
    )


@bp.post("/webhooks/<webhook_id>")
@page
def webhook_action(webhook_id):
    access.require("ADMIN")
    here = url_for("ui.webhook", webhook_id=webhook_id)
    settings = current_app.config
    action = request.form.get("action")
    try:
        if action == "test":
            result = webhooks.test_webhook(webhook_id=webhook_id, settings=settings)
            return _render_webhook(webhook_id, test_result=result)
        if action == "rotate":
            _webhook, secret = webhooks.rotate_secret(webhook_id=webhook_id, settings=settings)
            return _render_webhook(webhook_id, secret=secret)
    except PodiumError as error:
        return _render_webhook(webhook_id, Failed(action, error.message, request.form)), 400

    def set_status(status):
        def act(_form):
            webhooks.update_webhook(webhook_id=webhook_id, settings=settings, status=status)
            return here

        return act

    def delete(_form):
        webhooks.delete_webhook(webhook_id=webhook_id)
        return url_for("ui.webhook_list")

    def redeliver(form):
        webhooks.redeliver(delivery_id=form.get("delivery_id", ""))
        return here

    actions = dict(
        enable=set_status("ACTIVE"),
        disable=set_status("DISABLED"),
        delete=delete,
        redeliver=redeliver,
    )
    return perform(actions, lambda failed: _render_webhook(webhook_id, failed))
