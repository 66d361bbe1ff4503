"""Model version source validation: what is accepted verbatim, and every trick that is refused."""

import pytest

from registry.artifacts.sources import MAX_SOURCE_LENGTH, validate_source
from registry.errors import InvalidParameter

RUN = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "source",
    [
        f"runs:/{RUN}/model",
        f"runs:/{RUN}/artifacts/sub dir/model",
        f"runs:/{RUN}",
        f"models:/m-{RUN}",
        "models:/fraud-detector/1",
        "models:/fraud-detector@champion",
        "models:/Fraud Detector/Production",
        "models:/検出器/2",
        f"mlflow-artifacts:/1/{RUN}/artifacts/model",
        f"mlflow-artifacts:/0/models/m-{RUN}/artifacts",
        f"MLflow-Artifacts:/1/{RUN}/artifacts/model",
        "s3://bucket/path/model",
        "S3://bucket/path/model",
        "s3://my.bucket/models/100%25 done/model",  # a literal '%' in the key, encoded once
        "s3://bucket/a%2Fb/model",  # an encoded slash that makes no '..' segment
        "s3://bucket/./model",
        "s3://bucket/v1%25252e0/model",  # encoded three times, still no traversal
        "s3://bucket/model.v2/..data/model...tar",  # dots inside names are not traversal
        "s3://bucket",
        "s3a://datalake/warehouse/models/churn",
        "gs://b/p",
        "oss://bucket/models/m1",
        "wasbs://models@account.blob.core.windows.net/churn/1",
        "abfss://fs@account.dfs.core.windows.net/models/churn",
        "r2://bucket@0123abcd.r2.cloudflarestorage.com/models/m",
        "b2://bucket@s3.us-west-004.backblazeb2.com/models/m",
        "hdfs://namenode:8020/user/ml/models/churn",
        "hdfs:///user/ml/models/churn",
        "viewfs://cluster/models/churn",
        "dbfs:/databricks/mlflow-tracking/1/run/artifacts/model",
    ],
)
def test_accepts_typical_sources_verbatim(source):
    assert validate_source(source) is source


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        # Shape of the input.
        ("", "non-empty string"),
        (None, "non-empty string"),
        (b"s3://bucket/model", "non-empty string"),
        ("s3://b/" + "m" * MAX_SOURCE_LENGTH, f"longer than {MAX_SOURCE_LENGTH}"),
        (" s3://bucket/model", "whitespace"),
        ("s3://bucket/model\n", "whitespace"),
        # Control and invisible characters, raw and percent-encoded.
        ("s3://bucket/mo\x00del", "U+0000"),
        ("s3://bucket/model%00.pkl", "U+0000"),
        ("s3://bucket/model%2500", "U+0000"),
        ("s3://bucket/a\nb", "U+000A"),
        ("s3://bucket/a%0d%0aX-Injected: 1", "U+000D"),
        ("s3://bucket/a\x7fb", "U+007F"),
        ("s3://bucket/a\x85b", "U+0085"),
        ("s3://bucket/ledom\u202e.pkl", "U+202E"),
        ("s3://bucket/a%e2%80%aeb", "U+202E"),
        ("s3://bucket/\ud800", "U+D800"),
        ("s3://bucket/a\u2028b", "U+2028"),
        # Schemes.
        ("http://example.com/model.tar.gz", "scheme 'http' is not allowed"),
        ("HTTPS://example.com/model", "scheme 'https' is not allowed"),
        ("ftp://user@host/model", "scheme 'ftp' is not allowed"),
        ("sftp://host/model", "scheme 'sftp' is not allowed"),
        ("wasb://c@a.blob.core.windows.net/m", "scheme 'wasb' is not allowed"),
        ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
        ("mlflow-artifacts-evil:/x", "scheme 'mlflow-artifacts-evil'"),
        ("x" * 300 + ":/model", "scheme '" + "x" * 32 + "' is not allowed"),
        # Local paths without PODIUM_ALLOW_LOCAL_SOURCES.
        ("/srv/models/churn", "PODIUM_ALLOW_LOCAL_SOURCES"),
        ("models/churn", "PODIUM_ALLOW_LOCAL_SOURCES"),
        ("file:///srv/models/churn", "PODIUM_ALLOW_LOCAL_SOURCES"),
        ("FILE:/srv/models", "PODIUM_ALLOW_LOCAL_SOURCES"),
        ("C:\\models\\churn", "PODIUM_ALLOW_LOCAL_SOURCES"),
        ("C:/models/churn", "PODIUM_ALLOW_LOCAL_SOURCES"),
        ("\\\\fileserver\\share\\model", "PODIUM_ALLOW_LOCAL_SOURCES"),
        # Traversal, raw and through every layer of encoding.
        ("s3://bucket/models/../../secrets", "path traversal ('..')"),
        ("s3://bucket/..", "path traversal"),
        (f"runs:/{RUN}/../../other/model", "path traversal"),
        (f"runs:/{RUN}/..", "path traversal"),
        ("models:/name/../../m-1", "path traversal"),
        ("mlflow-artifacts://host:5000/../../../etc", "path traversal"),
        ("mlflow-artifacts:/1/%2e%2e/%2e%2e/etc", "path traversal"),
        ("s3://bucket/%2E%2e/x", "path traversal"),
        ("s3://bucket/.%2e/x", "path traversal"),
        ("s3://bucket/%2e./x", "path traversal"),
        ("s3://bucket/%252e%252e/x", "path traversal"),
        ("s3://bucket/%25252e%25252E/x", "path traversal"),
        ("s3://bucket/models..%2f..%2fsecrets", "path traversal"),
        ("s3://bucket/models/..%2Fsecrets", "path traversal"),
        ("s3://bucket/a%252f..%252fsecrets", "path traversal"),
        ("s3://../etc/passwd", "path traversal"),
        ("s3://bucket/..;/secrets", "path traversal"),
        ("s3://bucket/.../secrets", "path traversal"),
        ("s3://bucket/.. /secrets", "path traversal"),
        ("s3://bucket/\u2025/secrets", "path traversal"),  # '‥' folds to '..'
        ("s3://bucket/\uff0e\uff0e/secrets", "path traversal"),  # fullwidth dots
        ("s3://bucket/a\uff0f..\uff0fsecrets", "path traversal"),  # fullwidth solidus
        ("s3://bucket/%c0%ae%c0%ae/secrets", "not valid UTF-8"),  # overlong '.'
        ("s3://bucket/v1%" + "25" * 10 + "2e0", "layers of percent-encoding"),
        # Backslashes, query strings and fragments, raw and encoded.
        ("s3://bucket/models\\..\\secrets", "backslashes"),
        ("s3://bucket/models%5c..%5csecrets", "backslashes"),
        ("s3://bucket/models%255C..%255Csecrets", "backslashes"),
        ("s3://bucket/models\uff3csecrets", "backslashes"),  # fullwidth backslash
        ("s3://bucket/model?versionId=3", "'?' and '#'"),
        ("s3://bucket/model#../../x", "'?' and '#'"),
        ("s3://bucket/model%3fx=1", "'?' and '#'"),
        ("s3://bucket/model%23frag", "'?' and '#'"),
        ("s3://bucket/model%253Fx", "'?' and '#'"),
        # Layout per scheme.
        ("s3:///path/model", "s3://<bucket>/<path>"),
        ("s3:/bucket/model", "s3://<bucket>/<path>"),
        ("gs://", "gs://<bucket>/<path>"),
        ("wasbs://account.blob.core.windows.net/m", "wasbs://<bucket>@<host>/<path>"),
        ("wasbs://@account.blob.core.windows.net/m", "wasbs://<bucket>@<host>/<path>"),
        ("abfss://fs@/m", "abfss://<bucket>@<host>/<path>"),
        ("runs://host/abc/model", "runs:/<path>"),
        ("runs:abc/model", "runs:/<path>"),
        ("runs:/", "must start with a run id"),
        ("runs://model", "runs:/<path>"),
        ("runs:/-abc/model", "must start with a run id"),
        ("runs:/ab!c/model", "must start with a run id"),
        ("models:/", "must name a model"),
        ("models://name/1", "models:/<path>"),
        ("dbfs://profile@databricks/path", "credentials"),
        ("dbfs://host/path", "dbfs:/<path>"),
        ("mlflow-artifacts:1/model", "mlflow-artifacts:/<path>"),
        # Credentials in the authority.
        ("s3://AKIAEXAMPLE:secret@bucket/model", "credentials"),
        ("s3://token@bucket/model", "credentials"),
        ("gs://user:pass@bucket/model", "credentials"),
        ("mlflow-artifacts://admin:pw@host:5000/1/model", "credentials"),
        ("hdfs://user@namenode/models", "credentials"),
        ("wasbs://user:key@account.blob.core.windows.net/m", "credentials"),
        ("wasbs://c@user:key@account.blob.core.windows.net/m", "credentials"),
    ],
)
def test_rejects(source, reason):
    with pytest.raises(InvalidParameter) as caught:
        validate_source(source)
    assert reason in caught.value.message
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize("source", ["s3://AKIA:topsecret@bucket/m", "wasbs://c:topsecret@a.b/m"])
def test_credentials_are_not_echoed(source):
    with pytest.raises(InvalidParameter) as caught:
        validate_source(source)
    assert "topsecret" not in caught.value.message


def test_long_input_is_echoed_only_in_part():
    source = "s3://bucket/" + "a" * 150 + "/../" + "b" * 5000
    with pytest.raises(InvalidParameter) as caught:
        validate_source(source)
    assert "a" * 150 in caught.value.message
    assert "b" * 100 not in caught.value.message
    assert len(caught.value.message) < 400


def test_invisible_characters_are_escaped_in_the_message():
    with pytest.raises(InvalidParameter) as caught:
        validate_source("s3://bucket/a\nFAKE LOG LINE\u202e")
    assert "\n" not in caught.value.message
    assert "\u202e" not in caught.value.message
    assert "\\n" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "mlflow-artifacts://evil.example/x",
        f"mlflow-artifacts://tracking.internal:5001/1/{RUN}/artifacts/model",  # another port
        "mlflow-artifacts://169.254.169.254/latest",
    ],
)
def test_mlflow_artifacts_sources_name_no_host_but_this_servers(source):
    with pytest.raises(InvalidParameter, match="no host other than this server's"):
        validate_source(source, own_hosts=("tracking.internal:5000",))


def test_mlflow_artifacts_sources_may_name_this_server():
    source = f"mlflow-artifacts://Tracking.Internal:5000/1/{RUN}/artifacts/model"
    assert validate_source(source, own_hosts=("tracking.internal:5000",)) is source


@pytest.mark.parametrize(
    "source",
    [
        "/abs/path",
        "file:///x",
        "file:/srv/models/churn",
        "file://localhost/srv/models",
        "relative/dir",
        "./relative/dir",
        "C:/models/churn",
    ],
)
def test_local_sources_depend_on_allow_local(source):
    with pytest.raises(InvalidParameter, match="PODIUM_ALLOW_LOCAL_SOURCES"):
        validate_source(source)
    assert validate_source(source, allow_local=True) is source


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("/srv/models/../../etc/passwd", "path traversal"),
        ("../outside", "path traversal"),
        ("file:///srv/%2e%2e/etc", "path traversal"),
        ("/srv/models/a%00b", "U+0000"),
        ("/srv/models/a\x1bb", "U+001B"),
        ("C:\\models\\churn", "backslashes"),
        ("\\\\fileserver\\share\\model", "backslashes"),
        ("/srv/model?x", "'?' and '#'"),
        ("file://fileserver/share/model", "must not name a host"),
        ("file://user:pw@localhost/x", "must not name a host"),
        ("http://example.com/model", "scheme 'http' is not allowed"),
    ],
)
def test_allow_local_keeps_every_other_rule(source, reason):
    with pytest.raises(InvalidParameter) as caught:
        validate_source(source, allow_local=True)
    assert reason in caught.value.message
