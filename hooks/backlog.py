"""How far behind delivery is: the outbox's pending, retrying and failed deliveries, the oldest
pending one's age, and the webhooks by status. Read by /metrics at scrape time and by /ready.

Only deliveries of active webhooks count as pending: a disabled webhook's deliveries wait for
it to be re-enabled, not for the dispatcher, and must not look like a stuck outbox.
"""

from peewee import fn

from registry.store.statements import statement
from registry.store.tables.base import now_ms
from registry.store.tables.webhooks import Delivery, Webhook


@statement
def _pending():
    return (
        Delivery.select(
            Delivery.attempt_count > 0, fn.COUNT(Delivery.id), fn.MIN(Delivery.created_at)
        )
        .join(Webhook)
        .where((Delivery.status == "pending") & (Webhook.status == "ACTIVE"))
        .group_by(Delivery.attempt_count > 0)
    )


@statement
def _failed():
    return Delivery.select(fn.COUNT(Delivery.id)).where(Delivery.status == "failed")


@statement
def _webhooks_by_status():
    return Webhook.select(Webhook.status, fn.COUNT(Webhook.id)).group_by(Webhook.status)


def _age_seconds(created: list[int]) -> float:
    return max(0.0, (now_ms() - min(created)) / 1000) if created else 0.0


def oldest_pending_age_seconds() -> float:
    """Seconds since the oldest delivery still pending was committed; 0 when none is."""
    return _age_seconds([first for _retrying, _count, first in _pending.tuples()])


def outbox_backlog() -> dict:
    """{"pending", "retrying", "failed", "oldest_pending_age_seconds", "webhooks": {status: n}}."""
    counts = {"pending": 0, "retrying": 0}
    created = []
    for retrying, count, first in _pending.tuples():
        counts["retrying" if retrying else "pending"] += count
        created.append(first)
    return {
        **counts,
        "failed": _failed.tuples()[0][0],
        "oldest_pending_age_seconds": _age_seconds(created),
        "webhooks": {"ACTIVE": 0, "DISABLED": 0, **dict(_webhooks_by_status.tuples())},
    }
