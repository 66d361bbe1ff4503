"""The web UI: server-rendered pages over the same services the API calls, at `/`.

One blueprint; each page area has a module of views (models, versions, runs, webhooks,
activity) and a template per page. Forms POST and redirect; a failed action re-renders the page
with the service's message beside its form.
"""

from flask import Flask

from registry.store import secrets
from registry.ui import access, csrf, formatting
from registry.ui.blueprint import bp


def init_app(app: Flask) -> None:
    """Register the UI at `/`, signing its session cookie with Podium's own secret key."""
    # The page modules declare their routes on bp when imported.
    from registry.ui import (  # noqa: F401
        activity,
        artifacts,
        models,
        patterns,
        requests,
        runs,
        signin,
        versions,
        webhooks,
    )

    keys, _source = secrets.load_keys(app.config)
    csrf.configure(app, keys[0])
    # Looked up on each call, so whatever access.py decides (or a test patches in) applies.
    app.jinja_env.globals.update(
        may=lambda level, **resource: access.may(level, **resource),
        acting_user=lambda: access.acting_user(),
        csrf_token=csrf.token,
        open_requests=lambda model=None: requests.open_requests_shown(model),
    )
    formatting.init_app(app)
    app.register_blueprint(bp)
