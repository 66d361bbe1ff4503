"""Request and response shapes of MLflow's WebhookService and Podium's delivery log."""

import json

from marshmallow import ValidationError, fields

from hooks.events import EVENT_TYPES, MLFLOW_EVENTS, PODIUM_EVENTS
from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import MAX_STAGES, Items, MaxResults, ModelName, Stage, Text


class WebhookEvent(fields.Field):
    """{"entity": "MODEL_VERSION", "action": "CREATED"} (any case) <-> "model_version.created"."""

    verbatim_errors = True

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict) or not all(
            isinstance(value.get(k), str) for k in ("entity", "action")
        ):
            raise ValidationError(
                'Each webhook event must be an object {"entity": ..., "action": ...}.'
            )
        entity, action = value["entity"].lower(), value["action"].lower()
        if f"{entity}.{action}" in EVENT_TYPES:
            return f"{entity}.{action}"
        known = MLFLOW_EVENTS.get(entity, set()) | PODIUM_EVENTS.get(entity, set())
        if not known:
            raise ValidationError(f"Invalid webhook event entity '{value['entity'][:100]}'.")
        raise ValidationError(
            f"Invalid action '{action[:100]}' for entity '{entity}'. "
            f"Valid actions are: {sorted(known)}"
        )

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        entity, action = value.split(".")
        return {"entity": entity.upper(), "action": action.upper()}


class Status(Text):
    def check(self, value, attr):
        if value.upper() not in ("ACTIVE", "DISABLED"):
            raise ValidationError(f"Invalid webhook status '{value[:50]}': ACTIVE or DISABLED.")
        return value.upper()


def _non_empty(events):
    if not events:
        raise ValidationError("Webhook events must be a non-empty list of {entity, action}.")


# More than every event type there is, so a list of them all fits.
MAX_EVENTS = 100


class CreateWebhookIn(RequestSchema):
    name = Text(max_length=256, required=True)
    url = Text(max_length=4096, required=True)
    events = Items(WebhookEvent(), max_items=MAX_EVENTS, required=True, validate=_non_empty)
    description = Text(max_length=10_000, load_default="")
    secret = Text(max_length=512, load_default=None)
    status = Status(max_length=16, load_default="ACTIVE")
    model_names = Items(ModelName(), load_default=list)
    stages = Items(Stage(), max_items=MAX_STAGES, load_default=list)


class UpdateWebhookIn(RequestSchema):
    """Every field optional: only those given change."""

    name = Text(max_length=256)
    url = Text(max_length=4096)
    events = Items(WebhookEvent(), max_items=MAX_EVENTS, validate=_non_empty)
    description = Text(max_length=10_000)
    secret = Text(max_length=512)
    status = Status(max_length=16)
    model_names = Items(ModelName())
    stages = Items(Stage(), max_items=MAX_STAGES)


class PageIn(RequestSchema):
    max_results = MaxResults(maximum=1000, load_default=100)
    page_token = Text(max_length=256, load_default=None)


class TestWebhookIn(RequestSchema):
    event = WebhookEvent(load_default=None)


class RotateSecretIn(RequestSchema):
    secret = Text(max_length=512, load_default=None)


def _events(webhook, *, mlflow_known: bool) -> list[dict]:
    found = []
    for event in json.loads(webhook.events):
        entity, action = event.split(".")
        if (action in MLFLOW_EVENTS.get(entity, ())) == mlflow_known:
            found.append({"entity": entity.upper(), "action": action.upper()})
    return found


# What the computed fields hold, for the API document.
EVENTS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"entity": {"type": "string"}, "action": {"type": "string"}},
    },
}
STRINGS = {"type": "array", "items": {"type": "string"}}


class WebhookOut(ResponseSchema):
    webhook_id = fields.String(attribute="id")
    name = fields.String()
    description = fields.String()
    url = fields.String()
    # MLflow's client fails on events it does not know, so Podium's own are listed apart.
    events = fields.Function(lambda w: _events(w, mlflow_known=True), metadata=EVENTS)
    podium_events = fields.Function(lambda w: _events(w, mlflow_known=False), metadata=EVENTS)
    status = fields.String()
    creation_timestamp = fields.Integer()
    last_updated_timestamp = fields.Integer()
    model_names = fields.Function(lambda w: json.loads(w.model_names), metadata=STRINGS)
    stages = fields.Function(lambda w: json.loads(w.stages), metadata=STRINGS)
    disabled_reason = fields.String()


class WebhookResponse(ResponseSchema):
    webhook = fields.Nested(WebhookOut)
    secret = fields.String(metadata={"description": "only on create and rotate: shown once"})


class WebhooksPage(ResponseSchema):
    webhooks = fields.List(fields.Nested(WebhookOut))
    next_page_token = fields.String()


class TestResultOut(ResponseSchema):
    success = fields.Boolean()
    response_status = fields.Integer()
    response_body = fields.String()
    error_message = fields.String()


class TestWebhookResponse(ResponseSchema):
    result = fields.Nested(TestResultOut)


class AttemptOut(ResponseSchema):
    timestamp = fields.Integer()
    response_status = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    error = fields.String()


class DeliveryOut(ResponseSchema):
    delivery_id = fields.String(attribute="id")
    webhook_id = fields.String()
    event_type = fields.String()
    payload = fields.Function(lambda d: json.loads(d.body), metadata={"type": "object"})
    status = fields.String()
    created_at = fields.Integer()
    next_attempt_at = fields.Integer()
    attempts = fields.List(fields.Nested(AttemptOut), attribute="attempt_list")


class DeliveriesPage(ResponseSchema):
    deliveries = fields.List(fields.Nested(DeliveryOut))
    next_page_token = fields.String()


class DeliveryResponse(ResponseSchema):
    delivery = fields.Nested(DeliveryOut)
