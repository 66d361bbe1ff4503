"""The webhook tables: subscriptions, the delivery outbox, and every attempt made."""

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from registry.store.secrets import EncryptedTextField
from registry.store.tables.base import BaseModel, now_ms


class Webhook(BaseModel):
    id = CharField(primary_key=True, max_length=64)  # uuid4, MLflow's webhook_id
    name = TextField()
    description = TextField(default="")
    url = TextField()
    events = TextField()  # JSON list of "entity.action" strings
    model_names = TextField(default="[]")  # JSON list; empty = every model
    stages = TextField(default="[]")  # JSON list; empty = transitions into any stage
    status = CharField(default="ACTIVE", max_length=16)
    # Both secrets are stored encrypted (registry.store.secrets); code sees plaintext.
    secret = EncryptedTextField()
    # During a rotation both secrets sign, until previous_secret_expires (ms).
    previous_secret = EncryptedTextField(null=True)
    previous_secret_expires = BigIntegerField(null=True)
    failure_streak = IntegerField(default=0)
    disabled_reason = TextField(default="")
    creation_timestamp = BigIntegerField(default=now_ms)
    last_updated_timestamp = BigIntegerField(default=now_ms)


class Delivery(BaseModel):
    """One event for one webhook: written with the change, sent by a dispatcher."""

    id = CharField(primary_key=True, max_length=64)  # the webhook-id header, stable across retries
    webhook = ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    event_type = CharField(max_length=64)
    body = TextField()  # the exact JSON sent, so every attempt signs the same bytes
    status = CharField(default="pending", max_length=16)  # pending, succeeded, failed
    attempt_count = IntegerField(default=0)
    next_attempt_at = BigIntegerField(default=now_ms)  # ms
    lease_until = BigIntegerField(null=True)  # ms; a dispatcher owns the row until then
    lease_owner = CharField(null=True, max_length=64)
    created_at = BigIntegerField(default=now_ms)

    class Meta:
        indexes = (
            (("status", "next_attempt_at"), False),
            (("webhook", "created_at"), False),
        )


class DeliveryAttempt(BaseModel):
    id = AutoField()
    delivery = ForeignKeyField(Delivery, backref="attempts", on_delete="CASCADE")
    timestamp = BigIntegerField(default=now_ms)
    response_status = IntegerField(null=True)
    duration_ms = IntegerField()
    error = TextField(default="")


class SubscriptionsVersion(BaseModel):
    """One row counting changes to which webhooks receive which events.

    Bumped in the transaction of every such change (hooks.subscriptions.changed), so each
    process may keep the active webhooks it read and trust them until the count moves.
    """

    id = IntegerField(primary_key=True)  # always 1
    version = BigIntegerField(default=0)


WEBHOOK_TABLES = [Webhook, Delivery, DeliveryAttempt, SubscriptionsVersion]
