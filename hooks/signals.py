"""Every blinker signal Podium sends, and nothing else.

Event signals are sent after the change commits: the sender is the domain object (a
RegisteredModel or ModelVersion row, or the model's name once it is deleted) and the keyword
arguments are the event's `data`. The `before_*` signals are sent inside the transaction,
before anything is written: a receiver vetoes by raising registry.errors.PolicyViolation.
"""

from blinker import Namespace

_signals = Namespace()

before_stage_transition = _signals.signal("before_stage_transition")
before_alias_set = _signals.signal("before_alias_set")
before_request_approval = _signals.signal("before_request_approval")

# One signal per event type, named as the type ("model_version.stage_transitioned").
registered_model_created = _signals.signal("registered_model.created")
registered_model_updated = _signals.signal("registered_model.updated")
registered_model_renamed = _signals.signal("registered_model.renamed")
registered_model_deleted = _signals.signal("registered_model.deleted")
registered_model_tag_set = _signals.signal("registered_model_tag.set")
registered_model_tag_deleted = _signals.signal("registered_model_tag.deleted")
model_version_created = _signals.signal("model_version.created")
model_version_updated = _signals.signal("model_version.updated")
model_version_deleted = _signals.signal("model_version.deleted")
model_version_stage_transitioned = _signals.signal("model_version.stage_transitioned")
model_version_tag_set = _signals.signal("model_version_tag.set")
model_version_tag_deleted = _signals.signal("model_version_tag.deleted")
model_version_alias_created = _signals.signal("model_version_alias.created")
model_version_alias_deleted = _signals.signal("model_version_alias.deleted")


def for_event_type(event_type: str):
    """The signal of an event type."""
    return _signals[event_type]


transition_request_created = _signals.signal("transition_request.created")
transition_request_approved = _signals.signal("transition_request.approved")
transition_request_rejected = _signals.signal("transition_request.rejected")
transition_request_cancelled = _signals.signal("transition_request.cancelled")
comment_created = _signals.signal("comment.created")
