"""Webhooks: subscriptions, secrets and their rotation, tests, the delivery log, redelivery."""

import json
import uuid
from collections import defaultdict

from hooks import events, subscriptions, wakeup
from hooks.dispatcher import send_once
from hooks.egress import EgressDenied, check_url
from hooks.signing import MIN_SECRET_BYTES, is_valid_secret, new_secret
from registry.errors import InvalidParameter, ResourceDoesNotExist
from registry.search import pages
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.tables.base import now_ms
from registry.store.tables.webhooks import Delivery, DeliveryAttempt, Webhook

TEST_BODY_PREFIX = 200  # characters of a receiver's answer that `test` echoes back
# The fields that decide which events a webhook receives (hooks.subscriptions).
_SUBSCRIPTION_FIELDS = {"status", "events", "model_names", "stages"}


@retry_conflicts
def create_webhook(
    *,
    name: str,
    url: str,
    events: list[str],
    settings: dict,
    description: str = "",
    secret: str | None = None,
    status: str = "ACTIVE",
    model_names: list[str] = (),
    stages: list[str] = (),
) -> tuple[Webhook, str]:
    """Create a webhook; returns it with its secret (generated if none given), shown only now."""
    _check_url(url, settings)
    secret = _checked_secret(secret) if secret is not None else new_secret()
    with db.atomic():
        webhook = Webhook.create(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            url=url,
            events=json.dumps(sorted(set(events))),
            model_names=json.dumps(sorted(set(model_names))),
            stages=json.dumps(sorted(set(stages))),
            status=status,
            secret=secret,
        )
        subscriptions.changed()
    return webhook, secret


def list_webhooks(*, max_results: int = 100, page_token: str | None = None) -> dict:
    """One page of webhooks, newest first."""
    query = Webhook.select().order_by(Webhook.creation_timestamp.desc(), Webhook.id)
    with reading():
        rows, more = pages.fetch_page(
            pages.sliced(query), max_results=max_results, page_token=page_token
        )
    return {"webhooks": rows, **more}


def get_webhook(*, webhook_id: str) -> Webhook:
    """One webhook."""
    with reading():
        return _find_webhook(webhook_id)


@retry_conflicts
def update_webhook(*, webhook_id: str, settings: dict, **changes) -> Webhook:
    """Change the given fields; the very next event already sees the change."""
    if "url" in changes:
        _check_url(changes["url"], settings)
    if "secret" in changes:
        changes["secret"] = _checked_secret(changes["secret"])
    for key in ("events", "model_names", "stages"):
        if key in changes:
            changes[key] = json.dumps(sorted(set(changes[key])))
    with db.atomic():
        webhook = _find_webhook(webhook_id)
        if changes.get("status") == "ACTIVE" and webhook.status != "ACTIVE":
            changes.update(failure_streak=0, disabled_reason="")
        for key, value in changes.items():
            setattr(webhook, key, value)
        webhook.last_updated_timestamp = now_ms()
        webhook.save()
        if _SUBSCRIPTION_FIELDS & changes.keys():
            subscriptions.changed()
        if changes.get("status") == "ACTIVE":  # its held-back deliveries are due again
            wakeup.deliveries_queued()
        return webhook


@retry_conflicts
def delete_webhook(*, webhook_id: str) -> None:
    """Delete a webhook with its pending deliveries and its delivery log."""
    with db.atomic():
        _find_webhook(webhook_id).delete_instance()
        subscriptions.changed()


def test_webhook(*, webhook_id: str, settings: dict, event: str | None = None) -> dict:
    """Send an example of `event` (default: the webhook's first event) now, and report."""
    with reading():
        webhook = _find_webhook(webhook_id)
    event_type = event or json.loads(webhook.events)[0]
    body = events.example(event_type).body()
    attempt = send_once(webhook, "msg_" + uuid.uuid4().hex, body, settings=settings)
    # The dispatcher's own judgement: what `test` calls a success, a delivery would count as one.
    result = {"success": attempt.succeeded}
    if attempt.response_status is not None:
        result["response_status"] = attempt.response_status
        result["response_body"] = attempt.response_body[:TEST_BODY_PREFIX]
    if attempt.error:
        result["error_message"] = attempt.error
    elif not attempt.succeeded:
        result["error_message"] = (
            f"The receiver answered HTTP {attempt.response_status}: a delivery succeeds only "
            "on a 2xx answer (redirects are not followed)."
        )
    return result


@retry_conflicts
def rotate_secret(*, webhook_id: str, settings: dict, secret: str | None = None) -> tuple:
    """Start signing with a new secret; the old one also signs for the overlap window."""
    secret = _checked_secret(secret) if secret is not None else new_secret()
    with db.atomic():
        webhook = _find_webhook(webhook_id)
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_expires = (
            now_ms() + settings["PODIUM_WEBHOOK_ROTATION_OVERLAP"] * 1000
        )
        webhook.secret = secret
        webhook.last_updated_timestamp = now_ms()
        webhook.save()
    return webhook, secret


def list_deliveries(
    *, webhook_id: str, max_results: int = 100, page_token: str | None = None
) -> dict:
    """One page of a webhook's deliveries, newest first, each with its attempts."""
    with reading():
        _find_webhook(webhook_id)
        query = (
            Delivery.select()
            .where(Delivery.webhook == webhook_id)
            .order_by(Delivery.created_at.desc(), Delivery.id.desc())
        )
        rows, more = pages.fetch_page(
            pages.sliced(query), max_results=max_results, page_token=page_token
        )
        return {"deliveries": _with_attempts(rows), **more}


@retry_conflicts
def redeliver(*, delivery_id: str) -> Delivery:
    """Queue a delivery again, with the same webhook-id and a fresh retry budget."""
    with db.atomic():
        delivery = Delivery.get_or_none(Delivery.id == delivery_id)
        if delivery is None:
            raise ResourceDoesNotExist(f"Delivery with ID {delivery_id} not found.")
        Delivery.update(
            status="pending",
            attempt_count=0,
            next_attempt_at=now_ms(),
            lease_until=None,
            lease_owner=None,
        ).where(Delivery.id == delivery_id).execute()
        wakeup.deliveries_queued()
        return _with_attempts([Delivery.get_by_id(delivery_id)])[0]


def _with_attempts(deliveries: list[Delivery]) -> list[Delivery]:
    attempts = defaultdict(list)
    if deliveries:
        rows = (
            DeliveryAttempt.select()
            .where(DeliveryAttempt.delivery.in_([d.id for d in deliveries]))
            .order_by(DeliveryAttempt.id)
        )
        for attempt in rows:
            attempts[attempt.delivery_id].append(attempt)
    for delivery in deliveries:
        delivery.attempt_list = attempts[delivery.id]
    return deliveries


def _find_webhook(webhook_id: str) -> Webhook:
    webhook = Webhook.get_or_none(Webhook.id == webhook_id)
    if webhook is None:
        raise ResourceDoesNotExist(f"Webhook with ID {webhook_id} not found.")
    return webhook


def _check_url(url: str, settings: dict) -> None:
    try:
        check_url(
            url,
            allowed_schemes=settings["PODIUM_WEBHOOK_ALLOWED_SCHEMES"],
            allowed_networks=settings["PODIUM_WEBHOOK_ALLOWED_NETWORKS"],
        )
    except EgressDenied as error:
        raise InvalidParameter(str(error)) from None


def _checked_secret(secret: str) -> str:
    if not is_valid_secret(secret):
        raise InvalidParameter(
            f"Invalid webhook secret: it must hold at least {MIN_SECRET_BYTES} random bytes: "
            f"'whsec_' and the base64 of {MIN_SECRET_BYTES} or more bytes, or any other string "
            f"of {MIN_SECRET_BYTES} or more bytes. Leave it out to have one generated."
        )
    return secret
