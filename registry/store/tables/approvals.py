"""Transition requests, their reviews and comments, and per-model approval policy.

Together with the Transition rows they make a version's activity timeline: a request, each
review of it and each comment is one row here; the stage change an approval causes is a
Transition row, written in the same transaction.
"""

from peewee import BigIntegerField, CharField, ForeignKeyField, IntegerField, TextField

from registry.store.tables.base import BaseModel, now_ms
from registry.store.tables.registry import RegisteredModel

# A request's states; only OPEN ones may be reviewed or cancelled.
REQUEST_STATES = ("OPEN", "APPROVED", "REJECTED", "CANCELLED")


class TransitionRequest(BaseModel):
    """A request to move one version to one stage; at most one OPEN per version and stage."""

    model = ForeignKeyField(RegisteredModel, backref="transition_requests", on_delete="CASCADE")
    # By number, not by row: a deleted version leaves its requests to answer a clear error.
    version = IntegerField()
    from_stage = CharField(max_length=16)  # the version's stage when asked: approval re-checks
    to_stage = CharField(max_length=16)
    creator = TextField()
    state = CharField(max_length=16, default="OPEN")
    comment = TextField(default="")
    creation_timestamp = BigIntegerField(default=now_ms)
    last_updated_timestamp = BigIntegerField(default=now_ms)

    class Meta:
        indexes = ((("model", "version", "to_stage", "state"), False),)


class Comment(BaseModel):
    """One entry of a version's activity beside its Transition rows: a free comment
    (NEW_COMMENT) or what someone did to a request, with what they wrote."""

    model = ForeignKeyField(RegisteredModel, backref="comments", on_delete="CASCADE")
    version = IntegerField()
    activity_type = CharField(max_length=32)  # NEW_COMMENT, REQUESTED_TRANSITION, APPROVED_...
    request = ForeignKeyField(TransitionRequest, null=True, on_delete="CASCADE")
    from_stage = CharField(max_length=16, null=True)
    to_stage = CharField(max_length=16, null=True)
    user = TextField(default="")
    comment = TextField(default="")  # Markdown
    creation_timestamp = BigIntegerField(default=now_ms)
    last_updated_timestamp = BigIntegerField(default=now_ms)

    class Meta:
        indexes = ((("model", "version", "creation_timestamp"), False),)


class ApprovalPolicy(BaseModel):
    """A model's own protected stages and aliases and approvals needed; NULL: the setting's."""

    model = ForeignKeyField(RegisteredModel, unique=True, on_delete="CASCADE")
    protected_stages = TextField(null=True)  # comma-separated
    protected_aliases = TextField(null=True)
    approvals_required = IntegerField(null=True)


APPROVAL_TABLES = [TransitionRequest, Comment, ApprovalPolicy]
