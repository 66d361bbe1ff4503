"""The UI's blueprint: the CSRF check before every POST, security headers after every answer,
and error pages in place of the API's JSON errors."""

from flask import Blueprint, render_template, request
from werkzeug.exceptions import HTTPException

from registry.errors import PodiumError
from registry.ui import csrf

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


def _error_page(status: int, message: str, title: str):
    return render_template("error.html", status=status, message=message, title=title), status
