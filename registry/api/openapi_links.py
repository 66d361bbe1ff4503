"""OpenAPI links: which answer names the resource the next call acts on.

A fuzzer following them (tests/test_fuzz.py) creates a model, then gets, updates, tags, versions
and deletes that model, instead of guessing names that mostly do not exist. Keyed by operationId
(`<view>_<method>`); each link fills the target's query parameters or merges into its body.
"""

MODEL = "$response.body#/registered_model/name"
VERSION_MODEL = "$response.body#/model_version/name"
VERSION = "$response.body#/model_version/version"
EXPERIMENT = "$response.body#/experiment_id"
RUN = "$response.body#/run/info/run_id"
WEBHOOK = "$response.body#/webhook/webhook_id"


def _query(operation: str, **parameters: str) -> dict:
    return {"operationId": operation, "parameters": parameters}


def _body(operation: str, **fields: str) -> dict:
    return {"operationId": operation, "requestBody": fields}


_BY_MODEL = {
    "GetRegisteredModel": _query("get_registered_model_get", name=MODEL),
    "UpdateRegisteredModel": _body("update_registered_model_patch", name=MODEL),
    "RenameRegisteredModel": _body("rename_registered_model_post", name=MODEL),
    "SetRegisteredModelTag": _body("set_registered_model_tag_post", name=MODEL),
    "CreateModelVersion": _body("create_model_version_post", name=MODEL),
    "GetLatestVersions": _query("get_latest_versions_get", name=MODEL),
    "ModelHistory": _query("model_history_get", name=MODEL),
    "DeleteRegisteredModel": _body("delete_registered_model_delete", name=MODEL),
}

_BY_VERSION = {
    "GetModelVersion": _query("get_model_version_get", name=VERSION_MODEL, version=VERSION),
    "UpdateModelVersion": _body("update_model_version_patch", name=VERSION_MODEL, version=VERSION),
    "TransitionStage": _body(
        "transition_model_version_stage_post", name=VERSION_MODEL, version=VERSION
    ),
    "SetModelVersionTag": _body("set_model_version_tag_post", name=VERSION_MODEL, version=VERSION),
    "SetAlias": _body("set_registered_model_alias_post", name=VERSION_MODEL, version=VERSION),
    "Lineage": _query("model_version_lineage_get", name=VERSION_MODEL, version=VERSION),
    "DownloadUri": _query(
        "get_model_version_download_uri_get", name=VERSION_MODEL, version=VERSION
    ),
    "DeleteModelVersion": _body("delete_model_version_delete", name=VERSION_MODEL, version=VERSION),
}

_BY_EXPERIMENT = {
    "GetExperiment": _query("get_experiment_get", experiment_id=EXPERIMENT),
    "CreateRun": _body("create_run_post", experiment_id=EXPERIMENT),
    "CreateLoggedModel": _body("create_logged_model_post", experiment_id=EXPERIMENT),
}

_BY_RUN = {
    "GetRun": _query("get_run_get", run_id=RUN),
    "UpdateRun": _body("update_run_post", run_id=RUN),
    "LogMetric": _body("log_metric_post", run_id=RUN),
    "LogBatch": _body("log_batch_post", run_id=RUN),
    "SetTag": _body("set_tag_post", run_id=RUN),
}

_BY_WEBHOOK = {
    "GetWebhook": {"operationId": "get_webhook_get", "parameters": {"path.webhook_id": WEBHOOK}},
    "UpdateWebhook": {
        "operationId": "update_webhook_patch",
        "parameters": {"path.webhook_id": WEBHOOK},
    },
    "DeleteWebhook": {
        "operationId": "delete_webhook_delete",
        "parameters": {"path.webhook_id": WEBHOOK},
    },
}

LINKS = {
    "create_registered_model_post": _BY_MODEL,
    "rename_registered_model_post": _BY_MODEL,
    "create_model_version_post": _BY_VERSION,
    "create_experiment_post": _BY_EXPERIMENT,
    "create_run_post": _BY_RUN,
    "create_webhook_post": _BY_WEBHOOK,
}
