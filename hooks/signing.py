"""Webhook signatures: Standard Webhooks headers, and MLflow's own, for every delivery.

Standard Webhooks: HMAC-SHA256 over "{id}.{timestamp}.{body}", keyed by the base64-decoded part
of a "whsec_..." secret (or a custom secret's UTF-8 bytes). MLflow keys the same content by the
secret string's UTF-8 bytes. Several signatures (during a rotation) are space-separated.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks format: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _standard_key(secret: str) -> bytes:
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode()


def _sign(key: bytes, message_id: str, timestamp: int, body: str) -> str:
    content = f"{message_id}.{timestamp}.{body}".encode()
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def signed_headers(message_id: str, timestamp: int, body: str, secrets_: list[str]) -> dict:
    """Every header a delivery carries, signed with each of `secrets_` (newest first)."""
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            _sign(_standard_key(s), message_id, timestamp, body) for s in secrets_
        ),
        "X-MLflow-Delivery-Id": message_id,
        "X-MLflow-Timestamp": str(timestamp),
        "X-MLflow-Signature": " ".join(
            _sign(s.encode(), message_id, timestamp, body) for s in secrets_
        ),
    }


MIN_SECRET_BYTES = 24  # what an HMAC-SHA256 key needs to resist guessing, with room to spare


def is_valid_secret(secret: str) -> bool:
    """At least MIN_SECRET_BYTES of key: a whsec_ secret's base64 part decoded, any other
    secret's UTF-8 bytes (the key MLflow's signature uses)."""
    if not secret.startswith(SECRET_PREFIX):
        return len(secret.encode()) >= MIN_SECRET_BYTES
    try:
        return (
            len(base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)) >= MIN_SECRET_BYTES
        )
    except ValueError:
        return False
