"""Validation of model version sources: the URI saying where a registered model's files live."""

import re
import unicodedata
from typing import NoReturn
from urllib.parse import unquote

from registry.errors import InvalidParameter

# Object keys on S3, GCS and Azure stop at 1,024 bytes and Linux paths at 4,096, so nothing longer
# is a real location; the cap also bounds the work done on hostile input.
MAX_SOURCE_LENGTH = 4096

# Accepted schemes and the layout of what follows "scheme:", matching what MLflow's artifact
# repository for each scheme can resolve. Left out on purpose: http(s), which would make clients
# (and anything acting on their behalf) fetch arbitrary URLs; ftp/sftp, which carry passwords in
# the URI; and the unencrypted wasb/abfs and the retired s3n.
_SCHEMES = {
    "runs": "path",  # runs:/<run_id>/<path>, resolved through the run's artifact root
    "models": "path",  # models:/<name>/<version>, models:/<name>@<alias>, models:/m-<id>
    "mlflow-artifacts": "any",  # proxied by the tracking server; a host must be this server
    "s3": "host",
    "s3a": "host",  # Spark's name for S3 buckets, common for models written by Spark jobs
    "gs": "host",
    "oss": "host",  # Alibaba OSS, through MLflow's aliyun-oss plugin
    "wasbs": "bucket@host",  # Azure names the container before '@', then the account host
    "abfss": "bucket@host",
    "r2": "bucket@host",
    "b2": "bucket@host",
    "hdfs": "any",  # hdfs:///path means the cluster's default namenode
    "viewfs": "any",
    "dbfs": "path",
}
_LAYOUTS = {
    "path": "{0}:/<path>",
    "any": "{0}:/<path> or {0}://<host>/<path>",
    "host": "{0}://<bucket>/<path>",
    "bucket@host": "{0}://<bucket>@<host>/<path>",
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_RUN_ID = re.compile(r"[A-Za-z0-9][\w-]{0,255}")  # MLflow's own rule for run ids
_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# Cc: NUL truncates paths in C libraries and newlines forge log lines; Cf: bidi overrides make a
# source display as something else; Cs: lone surrogates cannot be stored as UTF-8; Zl/Zp: breaks.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ASCII_CONTROLS = re.compile("[\x00-\x1f\x7f]")  # every ASCII character in those categories
_MAX_DECODE_LAYERS = 10  # real sources are encoded once, at most twice
_ECHO_LIMIT = 200


def validate_source(
    source: str, *, allow_local: bool = False, own_hosts: tuple[str, ...] = ()
) -> str:
    """Return `source` unchanged if it is a safe model version source; raise InvalidParameter.

    `own_hosts` are the names (host or host:port) this server is reached by: the only hosts an
    mlflow-artifacts:// source may name.
    """
    if not isinstance(source, str) or not source:
        raise InvalidParameter("Model version source must be a non-empty string.")
    if len(source) > MAX_SOURCE_LENGTH:
        _reject(source, f"it is longer than {MAX_SOURCE_LENGTH} characters")
    if source != source.strip():
        _reject(source, "leading or trailing whitespace is not allowed")

    # Whoever reads the source later may percent-decode it any number of times or fold Unicode
    # compatibility forms ('‥' and '．．' become '..'), so every rule holds for each of these views.
    decoded = _percent_decode(source, source)
    views = (source, decoded, _percent_decode(source, unicodedata.normalize("NFKC", decoded)))
    for view in views:
        bad = _forbidden_character(view)
        if bad is not None:
            _reject(source, f"control or invisible character U+{ord(bad):04X} is not allowed")

    scheme, rest = _split_scheme(source)
    if scheme is None or scheme == "file":
        if not allow_local:
            _reject(
                source,
                "local paths and file: URIs are not accepted as sources; "
                "an operator can allow them with PODIUM_ALLOW_LOCAL_SOURCES=true",
            )
        if scheme == "file" and _authority(rest) not in ("", "localhost"):
            _reject(source, "a file: URI must not name a host")
    elif scheme not in _SCHEMES:
        _reject(
            source,
            f"scheme '{scheme[:32]}' is not allowed; use runs:/, models:/, mlflow-artifacts:/ "
            "or an object store such as s3://, gs://, wasbs://, abfss://, hdfs:// or dbfs:/",
        )

    for view in views:
        if "\\" in view:
            _reject(source, "backslashes are not allowed (raw or encoded as %5c)")
        if "?" in view or "#" in view:
            _reject(source, "'?' and '#' are not allowed (raw or encoded as %3f and %23)")
        if any(_is_traversal(segment) for segment in view.split("/")):
            _reject(source, "path traversal ('..') is not allowed")

    if scheme in _SCHEMES:
        _check_layout(source, scheme, rest)
    if scheme == "mlflow-artifacts":
        _check_own_host(source, _authority(rest), own_hosts)
    return source


def _forbidden_character(view: str) -> str | None:
    """The first character of a category in _FORBIDDEN_CATEGORIES, if any."""
    # Sources are nearly always ASCII, whose only such characters are the controls: one regex
    # search instead of a category lookup per character: 10 us a typical source, not 29.
    if view.isascii():
        found = _ASCII_CONTROLS.search(view)
        return found[0] if found else None
    return next((c for c in view if unicodedata.category(c) in _FORBIDDEN_CATEGORIES), None)


def _check_own_host(source: str, host: str, own_hosts: tuple[str, ...]) -> None:
    # A client resolves mlflow-artifacts://host/... by sending its tracking credentials to that
    # host, so a source naming another host would send them, and the download, elsewhere.
    if host and host.lower() not in {own.lower() for own in own_hosts}:
        _reject(
            source,
            "an mlflow-artifacts source may name no host other than this server's; "
            "write it as mlflow-artifacts:/<path>",
        )


def _check_layout(source: str, scheme: str, rest: str) -> None:
    """Check that what follows `scheme:` has the layout MLflow expects for that scheme."""
    shape, authority = _SCHEMES[scheme], _authority(rest)
    bucket, at, host = authority.partition("@")
    if at and (shape != "bucket@host" or ":" in bucket or "@" in host):
        # Not echoed: the input holds a secret, and error messages end up in logs.
        raise InvalidParameter(
            "Invalid model version source: credentials (user:password@) must not be embedded "
            "in the URI; storage credentials belong in the server's and clients' environment."
        )
    if shape == "path":
        valid = rest.startswith("/") and not rest.startswith("//")
    elif shape == "any":
        valid = rest.startswith("/")
    elif shape == "host":
        valid = bool(authority)
    else:
        valid = bool(_BUCKET.fullmatch(bucket) and host)
    if not valid:
        _reject(source, f"{scheme} sources must look like {_LAYOUTS[shape].format(scheme)}")
    if scheme == "runs" and not _RUN_ID.fullmatch(rest[1:].partition("/")[0]):
        _reject(source, "a runs:/ source must start with a run id, as in runs:/<run_id>/model")
    if scheme == "models" and not rest.strip("/"):
        _reject(source, "a models:/ source must name a model, as in models:/<name>/<version>")


def _split_scheme(source: str) -> tuple[str | None, str]:
    """Split off a lower-cased scheme; a plain path (including `C:\\` or `C:/`) has none."""
    match = _SCHEME.match(source)
    if match is None or len(match[1]) == 1:  # one letter is a Windows drive, not a scheme
        return None, source
    return match[1].lower(), source[match.end() :]


def _authority(rest: str) -> str:
    """Return the `host` of `//host/path`, or '' when there is none."""
    return rest[2:].partition("/")[0] if rest.startswith("//") else ""


def _percent_decode(source: str, text: str) -> str:
    """Undo percent-encoding until the text stops changing, so `%252e` is seen as '.'."""
    for _ in range(_MAX_DECODE_LAYERS):
        try:
            # Strict: overlong UTF-8 such as %c0%ae is read as '.' by some decoders.
            decoded = unquote(text, errors="strict")
        except UnicodeDecodeError:
            _reject(source, "percent-encoded bytes are not valid UTF-8")
        if decoded == text:
            return text
        text = decoded
    _reject(source, f"more than {_MAX_DECODE_LAYERS} layers of percent-encoding")


def _is_traversal(segment: str) -> bool:
    """Tell whether a path segment climbs to its parent on some platform."""
    # Java servlet containers read '..;x' as '..', and Windows drops trailing dots and spaces.
    return segment.startswith("..") and not segment.partition(";")[0].rstrip(". ")


def _reject(source: str, reason: str) -> NoReturn:
    """Raise InvalidParameter quoting at most _ECHO_LIMIT characters of the source."""
    shown = source[:_ECHO_LIMIT] + ("..." if len(source) > _ECHO_LIMIT else "")
    # Escape what is invisible so the message can neither forge log lines nor hide text.
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)
    raise InvalidParameter(f"Invalid model version source '{shown}': {reason}.")
