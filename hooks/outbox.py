"""The outbox: deliveries written in the caller's transaction, signals sent once it commits."""

import logging
import uuid

from hooks import signals, subscriptions, wakeup
from hooks.events import Event
from registry.store.db import db
from registry.store.tables.webhooks import Delivery

log = logging.getLogger(__name__)


def publish(event: Event, sender) -> None:
    """Queue `event` for every matching active webhook, inside the current transaction.

    The delivery rows commit or roll back with the change itself; the in-process signal goes
    out only after a successful commit.
    """
    if db.transaction_depth() == 0:
        raise RuntimeError("publish() must run inside the transaction that makes the change")
    body = None  # serialised once, for the first subscriber
    rows = []
    for subscription in subscriptions.active():
        if subscription.wants(event):
            body = body or event.body()
            rows.append(
                {
                    "id": "msg_" + uuid.uuid4().hex,
                    "webhook": subscription.webhook_id,
                    "event_type": event.type,
                    "body": body,
                }
            )
    if rows:
        Delivery.insert_many(rows).execute()
        wakeup.deliveries_queued()
    db.after_commit(lambda: _send_signal(event, sender))


def _send_signal(event: Event, sender) -> None:
    # The change is committed: a failing receiver must not turn it into an error response.
    try:
        signals.for_event_type(event.type).send(sender, **event.data)
    except Exception:
        log.exception("a receiver of %s failed", event.type)
