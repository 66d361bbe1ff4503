"""Request and response shapes of MLflow 3's logged models."""

from marshmallow import fields

from registry.schemas.base import RequestSchema, ResponseSchema
from registry.schemas.fields import MAX_ORDER_BY, Items, MaxResults, StrictBoolean, Text
from registry.schemas.registry import IDENTIFIER, URL, TagOut
from registry.schemas.tracking import Facets, ListItem, MetricOut, ParamItem
from registry.schemas.tracking_fields import (
    Choice,
    EntityKey,
    ExperimentId,
    IdString,
)

STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_STATUS_NUMBERS = dict(enumerate(STATUSES, start=1))
# Logged-model tags hold e.g. mlflow.modelVersions, a JSON list that grows with each version.
MAX_TAG_VALUE_LENGTH = 100_000


class LoggedModelTagItem(ListItem):
    key = EntityKey(required=True)
    value = Text(max_length=MAX_TAG_VALUE_LENGTH, load_default="")


class OrderByItem(ListItem):
    field_name = Text(max_length=IDENTIFIER, required=True)
    ascending = StrictBoolean(load_default=True)


class CreateLoggedModelIn(RequestSchema):
    experiment_id = ExperimentId(required=True)
    name = Text(max_length=IDENTIFIER, load_default="")
    source_run_id = Text(max_length=IDENTIFIER, load_default="")
    model_type = Text(max_length=IDENTIFIER, load_default="")
    params = Items(fields.Nested(ParamItem), load_default=list)
    tags = Items(fields.Nested(LoggedModelTagItem), load_default=list)


class GetLoggedModelIn(RequestSchema):
    allow_deleted = fields.Boolean(load_default=False)


class FinalizeLoggedModelIn(RequestSchema):
    status = Choice(STATUSES, _STATUS_NUMBERS, required=True)


class SetLoggedModelTagsIn(RequestSchema):
    tags = Items(fields.Nested(LoggedModelTagItem), required=True)


class LogLoggedModelParamsIn(RequestSchema):
    params = Items(fields.Nested(ParamItem), required=True)


class SearchLoggedModelsIn(RequestSchema):
    experiment_ids = Items(ExperimentId(), load_default=list)
    filter = Text(max_length=URL, load_default=None)
    max_results = MaxResults(maximum=1000, load_default=50)
    order_by = Items(fields.Nested(OrderByItem), max_items=MAX_ORDER_BY, load_default=list)
    page_token = Text(max_length=IDENTIFIER, load_default=None)


class LoggedModelInfoOut(ResponseSchema):
    model_id = fields.String()
    experiment_id = IdString()
    name = fields.String()
    creation_timestamp_ms = fields.Integer(attribute="creation_timestamp")
    last_updated_timestamp_ms = fields.Integer(attribute="last_updated_timestamp")
    artifact_uri = fields.String()
    status = fields.String()
    model_type = fields.String()
    source_run_id = fields.String()
    tags = fields.List(fields.Nested(TagOut), attribute="tag_list")


class LoggedModelMetricOut(MetricOut):
    model_id = fields.String()
    run_id = fields.String()


class LoggedModelDataOut(ResponseSchema):
    params = fields.List(fields.Nested(TagOut), attribute="param_list")
    metrics = fields.List(fields.Nested(LoggedModelMetricOut), attribute="metric_list")


class LoggedModelOut(Facets):
    facets = ("info", "data")
    info = fields.Nested(LoggedModelInfoOut)
    data = fields.Nested(LoggedModelDataOut)


class LoggedModelResponse(ResponseSchema):
    model = fields.Nested(LoggedModelOut)


class LoggedModelsPage(ResponseSchema):
    models = fields.List(fields.Nested(LoggedModelOut))
    next_page_token = fields.String()
