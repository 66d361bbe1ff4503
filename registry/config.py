"""Podium's settings: read once from PODIUM_* environment variables, with documented defaults."""

import ipaddress
import os


def _words(value: str) -> list[str]:
    return [word.strip() for word in str(value).split(",") if word.strip()]


def _seconds(value: str) -> list[float]:
    return [float(word) for word in _words(value)]


def _flag(value) -> bool:
    word = str(value).strip().lower()
    if word not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError("expected true or false")
    return word in ("1", "true", "yes", "on")


def _flag_or_auto(value) -> bool | str:
    return "auto" if str(value).strip().lower() == "auto" else _flag(value)


def _log_format(value: str) -> str:
    if value not in ("text", "json"):
        raise ValueError("expected text or json")
    return value


def _worker_class(value: str) -> str:
    if value not in ("gthread", "sync"):
        raise ValueError("expected gthread or sync")
    return value


def serves_metrics(setting: bool | str, binds: list[str]) -> bool:
    """PODIUM_METRICS for these bind addresses: `auto` serves only when all are loopback,
    since counts of routes and models are not for everyone who can reach a public port."""
    if setting != "auto":
        return setting
    return all(_is_loopback(bind) for bind in binds)


def _is_loopback(bind: str) -> bool:
    if bind.startswith("unix:"):
        return True  # a socket file: reachable only by who may open it
    host = bind.rsplit(":", 1)[0] if bind.count(":") == 1 or bind.startswith("[") else bind
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: assume others can reach it


def _auth_mode(value: str) -> str:
    if value not in ("none", "basic"):
        raise ValueError("expected none or basic")
    return value


def _permission(value: str) -> str:
    if value not in ("NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"):
        raise ValueError("expected NO_PERMISSIONS, READ, USE, EDIT or MANAGE")
    return value


# The registry's stages (registry.store.tables.registry.STAGES; settings sit below the store).
_STAGES = ("None", "Staging", "Production", "Archived")


def _stages(value: str) -> list[str]:
    # A misspelt protected stage would silently protect nothing: refuse it at start instead.
    if value.strip().lower() == "off":  # empty means the default, so "off" protects none
        return []
    chosen = []
    for word in _words(value):
        canonical = next((stage for stage in _STAGES if stage.lower() == word.lower()), None)
        if canonical is None:
            raise ValueError(f"expected stages among {', '.join(_STAGES)}, comma-separated")
        chosen.append(canonical)
    return chosen


class SettingError(ValueError):
    """A PODIUM_* variable whose value cannot be used; the message names it and says why."""


# name -> (default, converter, description). The README and `podium serve --help` list these.
SETTINGS = {
    "DATABASE_URL": (
        "sqlite:///podium.db",
        str,
        "sqlite:///path/to/file.db or postgresql://user@host:5432/db",
    ),
    "ARTIFACTS_DESTINATION": (
        "./podium-artifacts",
        str,
        "where uploaded artifacts go: a directory, or s3://bucket/prefix (needs .[s3])",
    ),
    "S3_PART_SIZE": (
        8 * 1024 * 1024,
        int,
        "bytes per part when an upload streams into S3 (at least 5 MiB); smaller bodies go "
        "in one request",
    ),
    "HOST": ("127.0.0.1", str, "address `podium serve` binds to"),
    "PORT": (5000, int, "port `podium serve` binds to"),
    "WORKERS": (2, int, "gunicorn worker processes"),
    "WORKER_CLASS": ("gthread", _worker_class, "gunicorn worker class: gthread (threads), or sync"),
    "THREADS": (4, int, "threads per worker (gthread workers)"),
    "CLIENT_TIMEOUT": (20, float, "seconds a client may go silent while sending a request body"),
    "WORKER_TIMEOUT": (120, int, "seconds before gunicorn replaces a silent worker"),
    "GRACEFUL_TIMEOUT": (30, int, "seconds in-flight requests get to finish on shutdown"),
    "FORWARDED_ALLOW_IPS": (
        "127.0.0.1,::1",
        str,
        "proxies trusted for X-Forwarded-* headers (comma-separated, or *)",
    ),
    "DATABASE_POOL_SIZE": (
        8,
        int,
        "PostgreSQL connections each process keeps for reuse (0: connect per request)",
    ),
    "DATABASE_PREPARED_STATEMENTS": (
        True,
        _flag,
        "prepare the hot queries on each pooled PostgreSQL connection (off behind PgBouncer's "
        "transaction pooling, which does not carry them between transactions)",
    ),
    "DATABASE_CONNECT_TIMEOUT": (
        5,
        int,
        "seconds a PostgreSQL connection attempt may take before the request answers 503",
    ),
    "MAX_REQUEST_BYTES": (
        16 * 1024 * 1024,
        int,
        "largest JSON request body accepted (artifact uploads are exempt)",
    ),
    "SQLITE_BUSY_TIMEOUT_MS": (30000, int, "how long a SQLite writer waits for the write lock"),
    "ALLOW_LOCAL_SOURCES": (
        False,
        _flag,
        "accept plain paths and file: URIs as model version sources",
    ),
    "PLUGINS": ([], _words, "modules imported at start to connect signal receivers"),
    "WEBHOOK_ALLOWED_SCHEMES": (["https"], _words, "URL schemes webhooks may use"),
    "WEBHOOK_ALLOWED_NETWORKS": (
        [],
        _words,
        "CIDRs webhooks may reach although private, e.g. 10.0.0.0/8",
    ),
    "WEBHOOK_RETRY_SCHEDULE": (
        [5, 300, 1800, 7200, 18000, 36000, 36000],
        _seconds,
        "seconds between delivery attempts; after the last, a delivery fails",
    ),
    "WEBHOOK_TIMEOUT": (10.0, float, "seconds to wait for a receiver's answer"),
    "WEBHOOK_DISABLE_AFTER": (
        30,
        int,
        "consecutive failed attempts after which a webhook is disabled",
    ),
    "SECRET_KEY": (
        [],
        _words,
        "Fernet keys that encrypt webhook secrets at rest, comma-separated: the first "
        "encrypts, all decrypt (podium secrets new-key makes one)",
    ),
    "SECRET_KEY_FILE": (
        "",
        str,
        "file holding those keys, one a line, if PODIUM_SECRET_KEY is unset; SQLite "
        "default: <database>.key, created on first start",
    ),
    "WEBHOOK_ROTATION_OVERLAP": (
        86400,
        int,
        "seconds the previous secret keeps signing after a rotation",
    ),
    "AUTH": (
        "",
        _auth_mode,
        "basic: users, passwords and tokens; none: every route open. Unset: none when bound to "
        "a loopback address, and the server refuses to start on any other",
    ),
    "ADMIN_USERNAME": ("", str, "the first admin, created on start when no admin exists"),
    "ADMIN_PASSWORD": ("", str, "that admin's password (from a secret, never an image)"),
    "DEFAULT_PERMISSION": (
        "READ",
        _permission,
        "what a signed-in user may do on a model or experiment nobody granted them anything "
        "on; NO_PERMISSIONS makes the registry private by default",
    ),
    "LOGIN_ATTEMPTS": (10, int, "failed sign-ins per user name and address before 429"),
    "LOGIN_WINDOW": (300, int, "seconds over which failed sign-ins are counted"),
    "PROTECTED_STAGES": (
        ["Production"],
        _stages,
        "stages a version enters or leaves only through an approved transition request, unless "
        "the caller holds the stage permission (with authentication on); off: none; a model's "
        "approval policy overrides",
    ),
    "PROTECTED_ALIASES": (
        [],
        _words,
        "aliases only MANAGE_PRODUCTION_VERSIONS holders may set, move or delete, "
        "e.g. champion,prod",
    ),
    "APPROVAL_SELF": (False, _flag, "whether a requester may approve their own request"),
    "APPROVALS_REQUIRED": (
        1,
        int,
        "approvals by distinct reviewers a transition request needs; per model in its policy",
    ),
    "UI": (True, _flag, "serve the web UI at / (false: the API only)"),
    "DISPATCHER": (True, _flag, "run the webhook dispatcher inside `podium serve`/gunicorn"),
    "DISPATCH_CONCURRENCY": (8, int, "deliveries one dispatcher sends at once"),
    "DISPATCH_POLL_MS": (
        1000,
        int,
        "how often an idle dispatcher looks for due deliveries when no commit wakes it",
    ),
    "METRICS": (
        "auto",
        _flag_or_auto,
        "serve Prometheus metrics at GET /metrics: true, false, or auto (on a loopback bind only)",
    ),
    "METRICS_TOKEN": ("", str, "bearer token a scraper must send to GET /metrics (empty: none)"),
    "WORKER_METRICS_PORT": (
        0,
        int,
        "port a separate `podium worker` serves its own metrics on, at PODIUM_HOST (0: none)",
    ),
    "LOG_FORMAT": ("text", _log_format, "log lines as readable text, or json (one object a line)"),
    "READY_MAX_OUTBOX_AGE": (
        0.0,
        float,
        "seconds the oldest pending delivery may wait before /ready answers 503 (0: no limit)",
    ),
}


def load_settings(environ=None) -> dict:
    """Return every setting as a Flask config entry named PODIUM_<NAME>."""
    environ = os.environ if environ is None else environ
    config = {}
    for name, (default, convert, _description) in SETTINGS.items():
        raw = environ.get("PODIUM_" + name)
        try:
            config["PODIUM_" + name] = default if raw in (None, "") else convert(raw)
        except ValueError as error:
            expected = _EXPECTED.get(convert, str(error))
            raise SettingError(f"PODIUM_{name}={raw[:100]!r} is not valid: {expected}") from None
    return config


_EXPECTED = {
    int: "expected a whole number",
    float: "expected a number",
    _seconds: "expected seconds, comma-separated (e.g. 5,60,300)",
    _flag_or_auto: "expected true, false or auto",
}
