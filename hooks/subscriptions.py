"""Which active webhooks want which events: read once per process, re-read when they change.

Every write that publishes an event needs the active webhooks. Instead of reading and parsing
them each time, a process keeps them with the value of a change counter (one row, bumped in
the transaction of every change to a webhook's status, events or filters, by `changed()`), and
reads only that counter per publish: one keyed row instead of every webhook. The counter is
read inside the publishing transaction, before the webhooks, so a cached list is never older
than the counter it is filed under. No time-to-live: a new webhook gets the very next event,
on every worker and host, as it did when each publish read the table.
"""

import json
from dataclasses import dataclass

from registry.store.db import db
from registry.store.statements import statement
from registry.store.tables.webhooks import SubscriptionsVersion, Webhook

_ROW = 1


@dataclass(frozen=True)
class Subscription:
    webhook_id: str
    events: frozenset
    model_names: frozenset  # empty: every model
    stages: frozenset  # empty: transitions into any stage

    def wants(self, event) -> bool:
        if event.type not in self.events:
            return False
        if self.model_names and event.model_name not in self.model_names:
            return False
        stage = event.to_stage
        return not (self.stages and stage is not None and stage not in self.stages)


@statement
def _version():
    return SubscriptionsVersion.select(SubscriptionsVersion.version).where(
        SubscriptionsVersion.id == _ROW
    )


@statement
def _active():
    return Webhook.select(Webhook.id, Webhook.events, Webhook.model_names, Webhook.stages).where(
        Webhook.status == "ACTIVE"
    )


# (database, counter value, subscriptions). The database is part of the key for processes that
# open more than one in turn, as the test suite does; a server opens one.
_cached: tuple | None = None


def active() -> list[Subscription]:
    """The active webhooks' subscriptions, as of the current transaction."""
    global _cached
    if db.transaction_depth() == 0:
        raise RuntimeError("subscriptions.active() must run inside a transaction")
    row = _version.tuples()
    version = row[0][0] if row else 0
    cached = _cached
    if cached is not None and cached[0] is db.obj and cached[1] == version:
        return cached[2]
    subscriptions = [
        Subscription(
            webhook_id,
            frozenset(json.loads(events)),
            frozenset(json.loads(model_names)),
            frozenset(json.loads(stages)),
        )
        for webhook_id, events, model_names, stages in _active.tuples()
    ]
    _cached = (db.obj, version, subscriptions)  # one assignment: threads see old or new
    return subscriptions


def changed() -> None:
    """Say, inside the transaction that makes it, that the subscriptions change."""
    if db.transaction_depth() == 0:
        raise RuntimeError("subscriptions.changed() must run inside the changing transaction")
    SubscriptionsVersion.insert(id=_ROW, version=1).on_conflict(
        conflict_target=[SubscriptionsVersion.id],
        update={SubscriptionsVersion.version: SubscriptionsVersion.version + 1},
    ).execute()
