"""The registry's tables (peewee): models, versions, tags, aliases, the promotion history."""

from peewee import (
    AutoField,
    BigIntegerField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from registry.store.tables.base import BaseModel, now_ms

STAGES = ("None", "Staging", "Production", "Archived")


class RegisteredModel(BaseModel):
    id = AutoField()
    name = CharField(max_length=256, unique=True)
    description = TextField(default="")
    user_id = TextField(default="")
    creation_timestamp = BigIntegerField(default=now_ms)
    last_updated_timestamp = BigIntegerField(default=now_ms, index=True)
    # The highest version number ever issued: bumped in the creating transaction, never lowered,
    # so numbers stay dense and are never reused after a delete.
    last_version = IntegerField(default=0)


class RegisteredModelTag(BaseModel):
    model = ForeignKeyField(RegisteredModel, backref="tags", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("model", "key"), True),)


class ModelVersion(BaseModel):
    id = AutoField()
    model = ForeignKeyField(RegisteredModel, backref="versions", on_delete="CASCADE")
    version = IntegerField()
    source = TextField()
    run_id = TextField(default="", index=True)
    # MLflow's `model_id` (a logged model, "m-..."); `model_id` itself is the foreign key column.
    logged_model_id = TextField(default="")
    run_link = TextField(default="")
    description = TextField(default="")
    user_id = TextField(default="")
    current_stage = CharField(default="None")
    status = CharField(default="READY")
    creation_timestamp = BigIntegerField(default=now_ms)
    last_updated_timestamp = BigIntegerField(default=now_ms, index=True)

    class Meta:
        indexes = (
            (("model", "version"), True),
            (("model", "current_stage", "version"), False),
            # Version search's default order within one model, without sorting every version.
            (("model", "last_updated_timestamp", "version"), False),
        )


class ModelVersionTag(BaseModel):
    version = ForeignKeyField(ModelVersion, backref="tags", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("version", "key"), True),)


class Alias(BaseModel):
    model = ForeignKeyField(RegisteredModel, backref="aliases", on_delete="CASCADE")
    alias = CharField(max_length=256)
    # Deleting a version deletes the aliases that point at it.
    version = ForeignKeyField(ModelVersion, backref="aliases", on_delete="CASCADE")

    class Meta:
        indexes = ((("model", "alias"), True),)


class Transition(BaseModel):
    """Append-only history: one row per stage change or alias set, move or delete."""

    id = AutoField()
    # The model's identity, so history follows renames; kept (as NULL) if the model is deleted.
    model = ForeignKeyField(RegisteredModel, backref="transitions", null=True, on_delete="SET NULL")
    model_name = CharField(max_length=256)  # the name when it happened, for orphaned rows
    version = IntegerField()
    kind = CharField(max_length=8)  # "stage" or "alias"
    from_stage = CharField(null=True)
    to_stage = CharField(null=True)
    alias = CharField(null=True)
    from_version = IntegerField(null=True)
    to_version = IntegerField(null=True)
    user = TextField(default="")
    comment = TextField(default="")
    timestamp = BigIntegerField(default=now_ms)

    class Meta:
        indexes = ((("model", "timestamp"), False),)


REGISTRY_TABLES = [
    RegisteredModel,
    RegisteredModelTag,
    ModelVersion,
    ModelVersionTag,
    Alias,
    Transition,
]
