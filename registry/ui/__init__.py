"""The web UI: server-rendered pages over the same services the API calls, at `/`.

One blueprint; each page area has a module of views (models, versions, runs, webhooks,
activity) and a template per page. Forms POST and redirect; a failed action re-renders the page
with the service's message beside its form.
"""

from flask import Blueprint, Flask, render_template, request
from werkzeug.exceptions import HTTPException

from registry.errors import PodiumError
from registry.store import secrets
from registry.ui import access, csrf, formatting

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


def init_app(app: Flask) -> None:
    """Register the UI at `/`, signing its session cookie with Podium's own secret key."""
    from registry.ui import activity, models, runs, versions, webhooks  # noqa: F401 (routes)

    keys, _source = secrets.load_keys(app.config)
    csrf.configure(app, keys[0])
    app.jinja_env.globals.update(
        may=access.may, acting_user=access.acting_user, csrf_token=csrf.token
    )
    formatting.init_app(app)
    app.register_blueprint(bp)
