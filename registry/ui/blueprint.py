"""The UI's blueprint: the CSRF check before every POST, security headers after every answer,
and error pages in place of the API's JSON errors."""

import logging

from flask import Blueprint, render_template, request
from werkzeug.exceptions import HTTPException

from registry.errors import PodiumError, TemporarilyUnavailable
from registry.store.failures import DATABASE_ERRORS, database_fault
from registry.ui import csrf

log = logging.getLogger(__name__)

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/ui",
)

# No script, style, image or connection from anywhere but this server, and no inline script.
CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; form-action 'self'"


@bp.before_request
def _refuse_forged_posts():
    if request.method == "POST":
        csrf.check()


@bp.after_request
def _headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.errorhandler(PodiumError)
def _podium_error(error: PodiumError):
    return _error_page(error.http_status, error.message, error.error_code)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return _error_page(error.code, error.description, error.name)


def _database_error(error: Exception):
    # Busy, unreachable or full: the same judgement (and status) the API gives, as a page.
    fault = database_fault(error)
    if fault is None:
        return _unexpected(error)
    page, status = _podium_error(fault)
    headers = (
        {"Retry-After": str(fault.retry_after)} if isinstance(fault, TemporarilyUnavailable) else {}
    )
    return page, status, headers


for _error in DATABASE_ERRORS:
    bp.register_error_handler(_error, _database_error)


@bp.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("unexpected error while rendering a page")
    return _error_page(500, "Internal error; the server log has the details.", "Internal error")


def _error_page(status: int, message: str, title: str):
    return render_template("error.html", status=status, message=message, title=title), status
