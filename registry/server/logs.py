"""Log lines: readable text by default, or one JSON object a line (PODIUM_LOG_FORMAT=json), for
Podium's own loggers and gunicorn's error and access logs alike.

Each line carries the request id of the request it belongs to (registry/request_ids.py), and
the route and user when they are known. Nothing here adds a header, a query string or a body:
a line holds what the code chose to log, and the access line holds the method, the path, the
status and the time taken.
"""

import json
import logging
import sys
from datetime import UTC, datetime

from flask import g, has_request_context, request
from gunicorn.glogging import Logger

from registry.config import load_settings
from registry.request_ids import current_request_id

# Text lines look like gunicorn's own, with the logger's name and the request id added.
TEXT_DATE_FORMAT = "[%Y-%m-%d %H:%M:%S %z]"
TEXT_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s%(request_suffix)s"
# The access line in text: gunicorn's combined format without the query string and referrer
# (either may carry anything), then the time taken and the request id.
TEXT_ACCESS_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms %({x-request-id}o)s'
)


class RequestContext(logging.Filter):
    """Adds the current request's id, route and user to each record logged during it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        if has_request_context() and not hasattr(record, "route"):
            record.route = request.url_rule.rule if request.url_rule else None
            record.user = g.get("username")
        record.request_suffix = f" [request {record.request_id}]" if record.request_id else ""
        return True


# Fields a JSON line takes from a record, when set; everything else in a record stays out.
_FIELDS = ("request_id", "user", "route", "method", "path", "status", "duration_ms", "remote")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message, then the request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for PODIUM_LOG_FORMAT."""
    if log_format == "json":
        return JsonLines()
    return logging.Formatter(TEXT_FORMAT, TEXT_DATE_FORMAT)


def configure(log_format: str, stream=None) -> None:
    """Send Podium's log records (the root logger, INFO and up) to stderr in `log_format`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(log_format))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "podium", False)]:
        root.removeHandler(old)
    handler.podium = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class PodiumLogger(Logger):
    """gunicorn's logger, writing its error and access lines in PODIUM_LOG_FORMAT too, and
    setting up Podium's own loggers in each process it runs in."""

    def setup(self, cfg):
        super().setup(cfg)
        self.log_format = load_settings()["PODIUM_LOG_FORMAT"]
        configure(self.log_format)
        if self.log_format == "json":
            for handler in self.error_log.handlers + self.access_log.handlers:
                handler.setFormatter(JsonLines())
        for handler in self.error_log.handlers:
            handler.addFilter(RequestContext())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        if self.log_format != "json":
            return super().access(resp, req, environ, request_time)
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        duration_ms = round(request_time.total_seconds() * 1000, 3)
        method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
        self.access_log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "request_id": _header(resp.headers, "x-request-id"),
                "route": environ.get("podium.route"),
                "user": environ.get("podium.user"),
                "method": method,
                "path": path,  # without the query string, which may carry anything
                "status": int(status),
                "duration_ms": duration_ms,
                "remote": environ.get("REMOTE_ADDR"),
            },
        )


def _header(headers, name: str):
    for key, value in headers:
        if key.lower() == name:
            return value
    return None
