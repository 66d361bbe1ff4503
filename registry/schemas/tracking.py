"""Request and response shapes of MLflow's tracking service: experiments, runs and metrics."""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validates_schema

from registry.artifacts import sources
from registry.errors import InvalidParameter
from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import MAX_ORDER_BY, Int64, Items, MaxResults, Text, own_hosts
from registry.schemas.registry import IDENTIFIER, URL, TagOut
from registry.schemas.tracking_fields import (
    MAX_EXPERIMENT_NAME_LENGTH,
    MAX_EXPERIMENT_TAG_VALUE_LENGTH,
    MAX_KEY_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_RUN_TAG_VALUE_LENGTH,
    Choice,
    EntityKey,
    ExperimentId,
    IdString,
    MetricValue,
    RunId,
)

VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MAX_BATCH_ENTITIES = 1000  # metrics, params and tags of one log-batch together, as in MLflow
MAX_INPUT_TAG_KEY_LENGTH, MAX_INPUT_TAG_VALUE_LENGTH = 255, 500
MAX_DATASET_SCHEMA_LENGTH = 1_048_575
MAX_MODEL_JSON_LENGTH = 1_048_576
_TOO_MANY = (
    "A batch logging request can contain at most {{limit}} {what}. Got {{count}} {what}. "
    "Please split up {what} across multiple requests and try again."
)
_VIEW_TYPE_NUMBERS = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
_STATUS_NUMBERS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


class ListItem(Schema):
    """An element of a request list (tags, params, metrics)."""

    class Meta:
        unknown = EXCLUDE


class ExperimentName(Text):
    def __init__(self, **kwargs):
        super().__init__(max_length=MAX_EXPERIMENT_NAME_LENGTH, **kwargs)

    def check(self, value, attr):
        if not value.strip():
            raise ValidationError(f"Invalid experiment name: '{value}'")
        return super().check(value, attr)


class ArtifactLocation(Text):
    """Where an experiment's artifacts go: a URI held to the same rules as version sources."""

    def __init__(self, **kwargs):
        super().__init__(max_length=URL, **kwargs)

    def check(self, value, attr):
        if not value:
            return value
        try:
            return sources.validate_source(value, own_hosts=own_hosts())
        except InvalidParameter as error:
            message = error.message.replace("model version source", "artifact location")
            raise ValidationError(message) from None


# --- requests: experiments -----------------------------------------------------------------


class ExperimentTagItem(ListItem):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_EXPERIMENT_TAG_VALUE_LENGTH, load_default="")


class CreateExperimentIn(RequestSchema):
    name = ExperimentName(required=True)
    artifact_location = ArtifactLocation(load_default="")
    tags = Items(fields.Nested(ExperimentTagItem), load_default=list)


class ExperimentIdIn(RequestSchema):
    experiment_id = ExperimentId(required=True)


class ExperimentByNameIn(RequestSchema):
    experiment_name = ExperimentName(required=True)


class SearchExperimentsIn(RequestSchema):
    view_type = Choice(VIEW_TYPES, _VIEW_TYPE_NUMBERS, load_default="ACTIVE_ONLY")
    max_results = MaxResults(maximum=50_000, load_default=1000)
    filter = Text(max_length=URL, load_default=None)
    order_by = Items(Text(max_length=IDENTIFIER), max_items=MAX_ORDER_BY, load_default=list)
    page_token = Text(max_length=IDENTIFIER, load_default=None)


class UpdateExperimentIn(ExperimentIdIn):
    new_name = ExperimentName(required=True)


class ExperimentTagIn(ExperimentIdIn):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_EXPERIMENT_TAG_VALUE_LENGTH, required=True)


class DeleteExperimentTagIn(ExperimentIdIn):
    key = Text(max_length=MAX_KEY_LENGTH, required=True)


# --- requests: runs ------------------------------------------------------------------------


class RunIdIn(RequestSchema):
    """Run endpoints name the run as run_id, run_uuid (the old name), or both."""

    run_id = RunId(required=True)

    @pre_load
    def _run_uuid_is_run_id(self, data, **kwargs):
        if isinstance(data, dict) and not data.get("run_id") and data.get("run_uuid"):
            data = {**data, "run_id": data["run_uuid"]}
        return data


class RunTagItem(ListItem):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_RUN_TAG_VALUE_LENGTH, load_default="")


class ParamItem(ListItem):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_PARAM_VALUE_LENGTH, load_default="")


class MetricItem(ListItem):
    key = EntityKey(required=True)
    value = MetricValue(required=True)
    timestamp = Int64(required=True)
    step = Int64(load_default=0)


class CreateRunIn(RequestSchema):
    experiment_id = ExperimentId(load_default=0)
    user_id = Text(max_length=IDENTIFIER, load_default="")
    start_time = Int64(load_default=None)
    run_name = Text(max_length=MAX_KEY_LENGTH * 2, load_default="")
    tags = Items(fields.Nested(RunTagItem), load_default=list)


class UpdateRunIn(RunIdIn):
    status = Choice(RUN_STATUSES, _STATUS_NUMBERS, load_default=None)
    end_time = Int64(load_default=None)
    run_name = Text(max_length=MAX_KEY_LENGTH * 2, load_default=None)


class SearchRunsIn(RequestSchema):
    experiment_ids = Items(ExperimentId(), load_default=list)
    filter = Text(max_length=URL, load_default=None)
    run_view_type = Choice(VIEW_TYPES, _VIEW_TYPE_NUMBERS, load_default="ACTIVE_ONLY")
    max_results = MaxResults(maximum=50_000, load_default=1000)
    order_by = Items(Text(max_length=IDENTIFIER), max_items=MAX_ORDER_BY, load_default=list)
    page_token = Text(max_length=IDENTIFIER, load_default=None)


class LogParamIn(RunIdIn):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_PARAM_VALUE_LENGTH, required=True)


class LogMetricIn(RunIdIn):
    key = EntityKey(required=True)
    value = MetricValue(required=True)
    timestamp = Int64(required=True)
    step = Int64(load_default=0)
    model_id = Text(max_length=IDENTIFIER, load_default="")


class LogBatchIn(RunIdIn):
    # MLflow's batch limits (mlflow/utils/validation.py), which its client also respects; each
    # list's count is checked before its entries.
    metrics = Items(
        fields.Nested(MetricItem),
        max_items=1000,
        too_many=_TOO_MANY.format(what="metrics"),
        load_default=list,
    )
    params = Items(
        fields.Nested(ParamItem),
        max_items=100,
        too_many=_TOO_MANY.format(what="params"),
        load_default=list,
    )
    tags = Items(
        fields.Nested(RunTagItem),
        max_items=100,
        too_many=_TOO_MANY.format(what="tags"),
        load_default=list,
    )

    @validates_schema
    def _at_most_1000_entities(self, data, **kwargs):
        count = (
            len(data.get("metrics", ())) + len(data.get("params", ())) + len(data.get("tags", ()))
        )
        if count > MAX_BATCH_ENTITIES:
            raise ValidationError(
                _TOO_MANY.format(what="metrics, params, and tags").format(
                    limit=MAX_BATCH_ENTITIES, count=count
                )
            )


class SetTagIn(RunIdIn):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_RUN_TAG_VALUE_LENGTH, required=True)


class DeleteTagIn(RunIdIn):
    key = Text(max_length=MAX_KEY_LENGTH, required=True)


class MetricHistoryIn(RunIdIn):
    metric_key = Text(max_length=MAX_KEY_LENGTH, required=True)
    max_results = MaxResults(maximum=25_000, load_default=25_000)
    page_token = Text(max_length=IDENTIFIER, load_default=None)


class ModelOutputItem(ListItem):
    model_id = Text(max_length=IDENTIFIER, required=True)
    step = Int64(load_default=0)


class ModelInputItem(ListItem):
    model_id = Text(max_length=IDENTIFIER, required=True)


class LogOutputsIn(RunIdIn):
    models = Items(fields.Nested(ModelOutputItem), load_default=list)


class InputTagItem(ListItem):
    key = Text(max_length=MAX_INPUT_TAG_KEY_LENGTH, required=True)
    value = Text(max_length=MAX_INPUT_TAG_VALUE_LENGTH, required=True)


class DatasetItem(ListItem):
    # MLflow's limits (mlflow/utils/validation.py); the profile is a short JSON summary.
    name = Text(max_length=500, required=True)
    digest = Text(max_length=36, required=True)
    source_type = Text(max_length=36, required=True)
    source = Text(max_length=65_535, required=True)
    schema = Text(max_length=MAX_DATASET_SCHEMA_LENGTH, load_default=None, allow_none=True)
    profile = Text(max_length=MAX_DATASET_SCHEMA_LENGTH, load_default=None, allow_none=True)


class DatasetInputItem(ListItem):
    tags = Items(fields.Nested(InputTagItem), max_items=100, load_default=list)
    dataset = fields.Nested(DatasetItem, required=True)


class LogInputsIn(RunIdIn):
    datasets = Items(fields.Nested(DatasetInputItem), load_default=list)
    models = Items(fields.Nested(ModelInputItem), load_default=list)


class LogModelIn(RunIdIn):
    """The 2.x client's log_model metadata: the MLmodel file's fields as a JSON string."""

    model_json = Text(max_length=MAX_MODEL_JSON_LENGTH, required=True)


class AllowDeletedIn(RequestSchema):
    allow_deleted = fields.Boolean(load_default=False)


# --- responses -----------------------------------------------------------------------------


class Facets(ResponseSchema):
    """An object whose nested parts (info, data, ...) are all drawn from the same row."""

    facets: tuple[str, ...] = ()

    def get_attribute(self, obj, attr, default):
        return obj if attr in self.facets else super().get_attribute(obj, attr, default)


class ExperimentOut(ResponseSchema):
    experiment_id = IdString(attribute="id")
    name = fields.String()
    artifact_location = fields.String()
    lifecycle_stage = fields.String()
    last_update_time = fields.Integer()
    creation_time = fields.Integer()
    tags = fields.List(fields.Nested(TagOut), attribute="tag_list")


class ExperimentResponse(ResponseSchema):
    experiment = fields.Nested(ExperimentOut)


class ExperimentIdResponse(ResponseSchema):
    experiment_id = IdString()


class ExperimentsPage(ResponseSchema):
    experiments = fields.List(fields.Nested(ExperimentOut))
    next_page_token = fields.String()


class MetricOut(ResponseSchema):
    key = fields.String()
    value = MetricValue(attribute="number")
    timestamp = fields.Integer()
    step = fields.Integer()


class RunInfoOut(ResponseSchema):
    run_id = fields.String()
    run_uuid = fields.Function(lambda run: run.run_id, metadata={"type": "string"})
    run_name = fields.String(attribute="name")
    experiment_id = IdString()
    user_id = fields.String()
    status = fields.String()
    start_time = fields.Integer(allow_none=True)
    end_time = fields.Integer(allow_none=True, metadata={"description": "null while running"})
    artifact_uri = fields.String()
    lifecycle_stage = fields.String()


class RunDataOut(ResponseSchema):
    metrics = fields.List(fields.Nested(MetricOut), attribute="metric_list")
    params = fields.List(fields.Nested(TagOut), attribute="param_list")
    tags = fields.List(fields.Nested(TagOut), attribute="tag_list")


class ModelOutputOut(ResponseSchema):
    model_id = fields.String()
    step = fields.Integer()


class RunOutputsOut(ResponseSchema):
    model_outputs = fields.List(fields.Nested(ModelOutputOut))


class DatasetOut(ResponseSchema):
    name = fields.String()
    digest = fields.String()
    source_type = fields.String()
    source = fields.String()
    schema = fields.String(attribute="dataset_schema", allow_none=True)
    profile = fields.String(allow_none=True)


class DatasetInputOut(ResponseSchema):
    tags = fields.List(fields.Nested(TagOut))
    dataset = fields.Nested(DatasetOut)


class ModelInputOut(ResponseSchema):
    model_id = fields.String()


class RunInputsOut(ResponseSchema):
    dataset_inputs = fields.List(fields.Nested(DatasetInputOut), attribute="dataset_input_list")
    model_inputs = fields.List(fields.Nested(ModelInputOut), attribute="model_input_list")


class RunOut(Facets):
    facets = ("info", "data", "inputs", "outputs")
    info = fields.Nested(RunInfoOut)
    data = fields.Nested(RunDataOut)
    inputs = fields.Nested(RunInputsOut)
    outputs = fields.Nested(RunOutputsOut)


class RunResponse(ResponseSchema):
    run = fields.Nested(RunOut)


class RunInfoResponse(ResponseSchema):
    run_info = fields.Nested(RunInfoOut)


class RunsPage(ResponseSchema):
    runs = fields.List(fields.Nested(RunOut))
    next_page_token = fields.String()


class MetricHistoryPage(ResponseSchema):
    metrics = fields.List(fields.Nested(MetricOut))
    next_page_token = fields.String()
