"""For webhook receivers: verify Podium's signatures, refuse stale or replayed deliveries.

    from flask import Flask
    from hooks.receiver import receiver_blueprint

    def on_event(event: dict, delivery_id: str) -> None:
        if event["type"] == "model_version.stage_transitioned":
            deploy(event["data"]["name"], event["data"]["version"])

    app = Flask(__name__)
    app.register_blueprint(receiver_blueprint(secret="whsec_...", handle=on_event))

The blueprint answers 204 to a valid delivery (also to a repeat, which it does not hand on),
400 to a bad signature or a stale timestamp. Deduplication is per process and bounded; a
receiver running several processes should also deduplicate by delivery id in its own store.
"""

import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Blueprint, request

from hooks.signing import signed_headers


class InvalidDelivery(Exception):
    """The request is not a genuine, fresh Podium delivery."""


def verify(secret: str, headers, body: bytes, *, tolerance_seconds: int = 300) -> dict:
    """Check the Standard Webhooks headers against `secret`; return the event it carries."""
    message_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not (message_id and timestamp.isdigit() and signatures):
        raise InvalidDelivery("missing webhook-id, webhook-timestamp or webhook-signature")
    if abs(time.time() - int(timestamp)) > tolerance_seconds:
        raise InvalidDelivery("stale or future webhook-timestamp")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        raise InvalidDelivery("body is not UTF-8") from None
    expected = signed_headers(message_id, int(timestamp), text, [secret])["webhook-signature"]
    if not any(hmac.compare_digest(expected, given) for given in signatures):
        raise InvalidDelivery("no valid signature")
    return json.loads(text)


class _Remembered:
    """The last `size` delivery ids seen, to drop retries of something already handled."""

    def __init__(self, size: int):
        self.size = size
        self.ids = OrderedDict()

    def first_time(self, delivery_id: str) -> bool:
        if delivery_id in self.ids:
            return False
        self.ids[delivery_id] = True
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


def receiver_blueprint(
    *,
    secret: str,
    handle: Callable[[dict, str], None],
    path: str = "/podium-webhook",
    tolerance_seconds: int = 300,
    remember: int = 10_000,
    name: str = "podium_receiver",
) -> Blueprint:
    """A blueprint with one POST route that verifies deliveries and hands each on once."""
    bp = Blueprint(name, __name__)
    seen = _Remembered(remember)

    @bp.post(path)
    def receive():
        try:
            event = verify(
                secret, request.headers, request.get_data(), tolerance_seconds=tolerance_seconds
            )
        except InvalidDelivery as error:
            return {"error": str(error)}, 400
        delivery_id = request.headers["webhook-id"]
        if seen.first_time(delivery_id):
            handle(event, delivery_id)
        return "", 204

    return bp
