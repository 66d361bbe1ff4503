"""One place that turns every failure into MLflow's {"error_code", "message"} JSON."""

import logging

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from registry.errors import (
    BadRequest,
    EndpointNotFound,
    MethodNotAllowed,
    PodiumError,
    RequestTooLarge,
    TemporarilyUnavailable,
    TooManyAttempts,
    Unauthenticated,
)
from registry.store.failures import DATABASE_ERRORS, database_fault, first_line

log = logging.getLogger(__name__)


def render(error: PodiumError):
    response = jsonify(error_code=error.error_code, message=error.message)
    response.status_code = error.http_status
    if isinstance(error, TemporarilyUnavailable | TooManyAttempts):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = 'Basic realm="podium"'
    return response


def _http_error(error: HTTPException):
    if error.code == 404:
        return render(EndpointNotFound("No endpoint at this path. See the API docs."))
    if error.code == 405:
        response = render(
            MethodNotAllowed(f"This endpoint does not accept {request.method} requests.")
        )
        # RFC 9110 requires a 405 to say which methods the resource does take.
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))
        return response
    if error.code == 413:
        return render(RequestTooLarge("The request body is larger than the server accepts."))
    if error.code < 500:
        return render(BadRequest(error.description or error.name))
    log.error("HTTP %s while serving a request: %s", error.code, error.description)
    return render(PodiumError(error.name))


def _database_error(error: Exception):
    # Busy, unreachable or full: expected states of a database, answered 503 or 507, not bugs.
    fault = database_fault(error)
    if fault is None:
        return _unexpected(error)
    log.warning(
        "%s %s answered %s: %s",
        request.method,
        request.path,
        fault.http_status,
        first_line(fault.__cause__ or error),
    )
    return render(fault)


def _unexpected(error: Exception):
    log.exception("unexpected error while serving a request")
    return render(PodiumError("Internal error; the server log has the details."))


def init_app(app: Flask) -> None:
    """Register the handlers for every route, unknown routes and 405s included."""
    app.register_error_handler(PodiumError, render)
    app.register_error_handler(HTTPException, _http_error)
    for database_error in DATABASE_ERRORS:
        app.register_error_handler(database_error, _database_error)
    app.register_error_handler(Exception, _unexpected)
