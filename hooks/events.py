"""Registry events: their types and payloads, shared by blinker signals and webhooks.

The `data` shapes of MLflow's own events match MLflow's server exactly; Podium adds events for
what MLflow leaves silent (stage transitions, updates, renames, deletes, model tags).
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from registry.request_ids import current_request_id

# entity -> actions, as webhook subscriptions name them (lower case here; upper case on the wire).
MLFLOW_EVENTS = {
    "registered_model": {"created"},
    "model_version": {"created"},
    "model_version_tag": {"set", "deleted"},
    "model_version_alias": {"created", "deleted"},
    # Prompt and gateway events exist in MLflow; Podium accepts subscriptions but never emits them.
    "prompt": {"created"},
    "prompt_version": {"created"},
    "prompt_tag": {"set", "deleted"},
    "prompt_version_tag": {"set", "deleted"},
    "prompt_alias": {"created", "deleted"},
    "budget_policy": {"exceeded"},
}
PODIUM_EVENTS = {
    "registered_model": {"updated", "renamed", "deleted"},
    "registered_model_tag": {"set", "deleted"},
    "model_version": {"stage_transitioned", "updated", "deleted"},
    "transition_request": {"created", "approved", "rejected", "cancelled"},
    "comment": {"created"},
}
EVENT_TYPES = frozenset(
    f"{entity}.{action}"
    for table in (MLFLOW_EVENTS, PODIUM_EVENTS)
    for entity, actions in table.items()
    for action in actions
)


@dataclass(frozen=True)
class Event:
    """Something that happened to one registered model."""

    entity: str
    action: str
    data: dict
    model_name: str
    to_stage: str | None = None  # set on stage transitions, for webhooks filtering by stage
    timestamp: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # The request that caused the event (X-Request-Id), so a receiver's log joins Podium's.
    request_id: str | None = field(default_factory=current_request_id.get)

    @property
    def type(self) -> str:
        return f"{self.entity}.{self.action}"

    def body(self) -> str:
        """The webhook body: MLflow's envelope plus `type` (and `request_id` when a request
        caused the event), serialised as MLflow does."""
        envelope = {
            "type": self.type,
            "entity": self.entity,
            "action": self.action,
            "timestamp": self.timestamp,
            "data": self.data,
        }
        if self.request_id is not None:
            envelope["request_id"] = self.request_id
        return json.dumps(envelope)


def _tags(tags: list[dict]) -> dict:
    return {tag["key"]: tag["value"] for tag in tags}


def registered_model_created(model) -> Event:
    data = {"name": model.name, "tags": _tags(model.tag_list), "description": model.description}
    return Event("registered_model", "created", data, model.name)


def registered_model_updated(model) -> Event:
    data = {"name": model.name, "description": model.description}
    return Event("registered_model", "updated", data, model.name)


def registered_model_renamed(model, previous_name: str) -> Event:
    data = {"name": model.name, "previous_name": previous_name}
    return Event("registered_model", "renamed", data, model.name)


def registered_model_deleted(name: str) -> Event:
    return Event("registered_model", "deleted", {"name": name}, name)


def registered_model_tag_set(name: str, key: str, value: str) -> Event:
    return Event("registered_model_tag", "set", {"name": name, "key": key, "value": value}, name)


def registered_model_tag_deleted(name: str, key: str) -> Event:
    return Event("registered_model_tag", "deleted", {"name": name, "key": key}, name)


def model_version_created(version) -> Event:
    data = {
        "name": version.model.name,
        "version": str(version.version),
        "source": version.source,
        "run_id": version.run_id or None,
        "tags": _tags(version.tag_list),
        "description": version.description or None,
    }
    return Event("model_version", "created", data, version.model.name)


def model_version_updated(version) -> Event:
    data = {
        "name": version.model.name,
        "version": str(version.version),
        "description": version.description,
    }
    return Event("model_version", "updated", data, version.model.name)


def model_version_deleted(name: str, version: int) -> Event:
    return Event("model_version", "deleted", {"name": name, "version": str(version)}, name)


def stage_transitioned(name: str, version: int, from_stage: str, to_stage: str, user: str) -> Event:
    data = {
        "name": name,
        "version": str(version),
        "from_stage": from_stage,
        "to_stage": to_stage,
        "user": user,
    }
    return Event("model_version", "stage_transitioned", data, name, to_stage=to_stage)


def model_version_tag_set(name: str, version: int, key: str, value: str) -> Event:
    data = {"name": name, "version": str(version), "key": key, "value": value}
    return Event("model_version_tag", "set", data, name)


def model_version_tag_deleted(name: str, version: int, key: str) -> Event:
    data = {"name": name, "version": str(version), "key": key}
    return Event("model_version_tag", "deleted", data, name)


def alias_created(name: str, alias: str, version: int, previous_version: int | None) -> Event:
    data = {"name": name, "alias": alias, "version": str(version)}
    if previous_version is not None:
        data["previous_version"] = str(previous_version)
    return Event("model_version_alias", "created", data, name)


def alias_deleted(name: str, alias: str) -> Event:
    return Event("model_version_alias", "deleted", {"name": name, "alias": alias}, name)


def _databricks_event(entity: str, action: str, to_stage: str | None) -> tuple[str, str | None]:
    """Databricks' webhook event names for one of ours: the general one and, for a request,
    the per-stage one (TRANSITION_REQUEST_TO_PRODUCTION_CREATED)."""
    general = f"{entity}_{action}".upper()
    if entity != "transition_request" or not to_stage or to_stage == "None":
        return general, None
    return general, f"TRANSITION_REQUEST_TO_{to_stage.upper()}_{action.upper()}"


def transition_request_event(action: str, request, user: str, comment: str) -> Event:
    """A request was created, approved, rejected or cancelled (Databricks' payload fields)."""
    general, per_stage = _databricks_event("transition_request", action, request.to_stage)
    name = request.model.name
    data = {
        "event": general,
        "stage_event": per_stage,
        "name": name,
        "model_name": name,
        "version": str(request.version),
        "from_stage": request.from_stage,
        "to_stage": request.to_stage,
        "request_id": str(request.id),
        "requester": request.creator,
        "user": user,
        "text": comment,
    }
    return Event("transition_request", action, data, name, to_stage=request.to_stage)


def comment_created(name: str, version: int, comment_id: int, user: str, text: str) -> Event:
    data = {
        "event": "COMMENT_CREATED",
        "name": name,
        "model_name": name,
        "version": str(version),
        "comment_id": str(comment_id),
        "user": user,
        "text": text,
    }
    return Event("comment", "created", data, name)


# What `test` sends when a receiver asks for an example of an event type.
EXAMPLES = {
    "registered_model.created": {
        "name": "example_model",
        "tags": {"example_key": "example_value"},
        "description": "An example registered model",
    },
    "model_version.created": {
        "name": "example_model",
        "version": "1",
        "source": "models:/123",
        "run_id": "abcd1234abcd5678",
        "tags": {"example_key": "example_value"},
        "description": "An example model version",
    },
    "model_version.stage_transitioned": {
        "name": "example_model",
        "version": "1",
        "from_stage": "Staging",
        "to_stage": "Production",
        "user": "example_user",
    },
    "model_version_alias.created": {
        "name": "example_model",
        "alias": "example_alias",
        "version": "1",
    },
}


def example(event_type: str) -> Event:
    """An example event of `event_type`, for webhook tests."""
    entity, action = event_type.split(".")
    data = EXAMPLES.get(event_type, {"name": "example_model"})
    return Event(entity, action, dict(data), data["name"])
