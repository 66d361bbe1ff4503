"""The outbox: deliveries written in the caller's transaction, signals sent once it commits."""

import json
import logging
import uuid

from hooks import signals
from hooks.events import Event
from registry.store.db import db
from registry.store.statements import statement
from registry.store.tables.webhooks import Delivery, Webhook

log = logging.getLogger(__name__)


# Read on every change, never cached: a webhook change applies to the very next event.
@statement
def _active_webhooks():
    return Webhook.select().where(Webhook.status == "ACTIVE")


def publish(event: Event, sender) -> None:
    """Queue `event` for every matching active webhook, inside the current transaction.

    The delivery rows commit or roll back with the change itself; the in-process signal goes
    out only after a successful commit.
    """
    if db.transaction_depth() == 0:
        raise RuntimeError("publish() must run inside the transaction that makes the change")
    body = None  # serialised once, for the first subscriber
    rows = []
    for webhook in _active_webhooks.rows():
        if subscribed(webhook, event):
            body = body or event.body()
            rows.append(
                {
                    "id": "msg_" + uuid.uuid4().hex,
                    "webhook": webhook.id,
                    "event_type": event.type,
                    "body": body,
                }
            )
    if rows:
        Delivery.insert_many(rows).execute()
    db.after_commit(lambda: _send_signal(event, sender))


def subscribed(webhook: Webhook, event: Event) -> bool:
    """Whether `webhook` wants `event`: its type, and its model and stage filters."""
    if event.type not in json.loads(webhook.events):
        return False
    model_names = json.loads(webhook.model_names)
    if model_names and event.model_name not in model_names:
        return False
    stages = json.loads(webhook.stages)
    return not (stages and event.to_stage is not None and event.to_stage not in stages)


def _send_signal(event: Event, sender) -> None:
    # The change is committed: a failing receiver must not turn it into an error response.
    try:
        signals.for_event_type(event.type).send(sender, **event.data)
    except Exception:
        log.exception("a receiver of %s failed", event.type)
