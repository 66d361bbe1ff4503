"""The tracking tables (peewee): experiments, runs and what they log, logged models, artifacts.

The registry's own tables live in registry.store.tables.registry. Timestamps are milliseconds
since the epoch.
"""

import math

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DoubleField,
    ForeignKeyField,
    TextField,
)

from registry.store.tables.base import BaseModel, now_ms

ACTIVE, DELETED = "active", "deleted"
DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
ARTIFACTS_SCHEME = "mlflow-artifacts:"


class Experiment(BaseModel):
    id = AutoField()
    name = TextField(unique=True)
    artifact_location = TextField(default="")
    lifecycle_stage = CharField(max_length=16, default=ACTIVE)
    creation_time = BigIntegerField(default=now_ms, index=True)
    last_update_time = BigIntegerField(default=now_ms)


class ExperimentTag(BaseModel):
    experiment = ForeignKeyField(Experiment, backref="tags", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("experiment", "key"), True),)


class Run(BaseModel):
    run_id = CharField(max_length=32, primary_key=True)  # uuid4().hex
    experiment = ForeignKeyField(Experiment, backref="runs")
    name = TextField(default="")
    user_id = TextField(default="")
    status = CharField(max_length=16, default="RUNNING")
    start_time = BigIntegerField(null=True)
    end_time = BigIntegerField(null=True)
    artifact_uri = TextField()
    lifecycle_stage = CharField(max_length=16, default=ACTIVE)

    class Meta:
        # Run search: by experiment and lifecycle, newest first by default.
        indexes = ((("experiment", "lifecycle_stage", "start_time"), False),)


class Param(BaseModel):
    run = ForeignKeyField(Run, backref="params", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("run", "key"), True),)


class Metric(BaseModel):
    """Every logged point of every metric: the history."""

    id = AutoField()
    run = ForeignKeyField(Run, backref="metrics", on_delete="CASCADE")
    key = CharField(max_length=250)
    # NaN is stored as is_nan with value 0: SQLite turns a NaN REAL into NULL.
    value = DoubleField()
    is_nan = BooleanField(default=False)
    timestamp = BigIntegerField()
    step = BigIntegerField(default=0)
    model_id = TextField(default="", index=True)  # the logged model the point is about, if any

    @property
    def number(self) -> float:
        return math.nan if self.is_nan else self.value

    class Meta:
        # Re-sending a point (a client retry) is a no-op, as in MLflow.
        indexes = ((("run", "key", "step", "timestamp", "value", "is_nan"), True),)


class LatestMetric(BaseModel):
    """Per run and key, the point with the highest (step, timestamp, value): what runs show."""

    run = ForeignKeyField(Run, backref="latest_metrics", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = DoubleField()
    is_nan = BooleanField(default=False)
    timestamp = BigIntegerField()
    step = BigIntegerField(default=0)

    @property
    def number(self) -> float:
        return math.nan if self.is_nan else self.value

    class Meta:
        indexes = ((("run", "key"), True),)


class RunTag(BaseModel):
    run = ForeignKeyField(Run, backref="tags", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("run", "key"), True),)


class LoggedModel(BaseModel):
    model_id = CharField(max_length=34, primary_key=True)  # "m-" + uuid4().hex
    experiment = ForeignKeyField(Experiment, backref="logged_models")
    name = TextField()
    source_run_id = TextField(default="", index=True)
    model_type = TextField(default="")
    status = CharField(max_length=32, default="LOGGED_MODEL_PENDING")
    artifact_uri = TextField()
    lifecycle_stage = CharField(max_length=16, default=ACTIVE)
    creation_timestamp = BigIntegerField(default=now_ms)
    last_updated_timestamp = BigIntegerField(default=now_ms)

    class Meta:
        indexes = ((("experiment", "name"), False),)


class LoggedModelTag(BaseModel):
    model = ForeignKeyField(LoggedModel, backref="tags", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("model", "key"), True),)


class LoggedModelParam(BaseModel):
    model = ForeignKeyField(LoggedModel, backref="params", on_delete="CASCADE")
    key = CharField(max_length=250)
    value = TextField()

    class Meta:
        indexes = ((("model", "key"), True),)


class RunOutput(BaseModel):
    """A logged model a run produced (runs/outputs), with the step it was logged at."""

    run = ForeignKeyField(Run, backref="outputs", on_delete="CASCADE")
    model_id = CharField(max_length=256)
    step = BigIntegerField(default=0)

    class Meta:
        indexes = ((("run", "model_id"), True),)


class Dataset(BaseModel):
    """A dataset some run of the experiment used (log_input): one row per name and digest."""

    id = AutoField()
    experiment = ForeignKeyField(Experiment, backref="datasets", on_delete="CASCADE")
    name = CharField(max_length=500)
    digest = CharField(max_length=36)
    source_type = CharField(max_length=36)
    source = TextField()
    dataset_schema = TextField(null=True)
    profile = TextField(null=True)

    class Meta:
        indexes = ((("experiment", "name", "digest"), True),)


class RunInput(BaseModel):
    """A dataset a run used; its tags (e.g. mlflow.data.context) are RunInputTag rows."""

    id = AutoField()
    run = ForeignKeyField(Run, backref="dataset_inputs", on_delete="CASCADE")
    dataset = ForeignKeyField(Dataset, backref="inputs", on_delete="CASCADE")

    class Meta:
        indexes = ((("run", "dataset"), True),)


class RunInputTag(BaseModel):
    input = ForeignKeyField(RunInput, backref="tags", on_delete="CASCADE")
    key = CharField(max_length=255)
    value = TextField()

    class Meta:
        indexes = ((("input", "key"), True),)


class RunModelInput(BaseModel):
    """A logged model a run used as an input (log-inputs `models`)."""

    run = ForeignKeyField(Run, backref="model_inputs", on_delete="CASCADE")
    model_id = CharField(max_length=256)

    class Meta:
        indexes = ((("run", "model_id"), True),)


INPUT_TABLES = [Dataset, RunInput, RunInputTag, RunModelInput]


class ArtifactFile(BaseModel):
    """An uploaded artifact: its size and SHA-256, recorded while its bytes were streamed in."""

    path = TextField(unique=True)  # relative to the artifact root, '/'-separated, canonical
    # The run or logged-model artifact directory holding it ("1/<run>/artifacts",
    # "1/models/<id>/artifacts"), so one owner's files are one index lookup.
    owner = TextField(index=True)
    size = BigIntegerField()
    sha256 = CharField(max_length=64)
    uploaded_at = BigIntegerField(default=now_ms)


TRACKING_TABLES = [
    Experiment,
    ExperimentTag,
    Run,
    Param,
    Metric,
    LatestMetric,
    RunTag,
    LoggedModel,
    LoggedModelTag,
    LoggedModelParam,
    RunOutput,
    ArtifactFile,
    *INPUT_TABLES,
]


def seed_default_experiment() -> None:
    """Create experiment 0, "Default", unless it exists: safe in every worker at once."""
    Experiment.insert(
        id=DEFAULT_EXPERIMENT_ID,
        name=DEFAULT_EXPERIMENT_NAME,
        artifact_location=f"{ARTIFACTS_SCHEME}/{DEFAULT_EXPERIMENT_ID}",
    ).on_conflict_ignore().execute()
