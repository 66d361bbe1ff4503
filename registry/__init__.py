"""Podium: a model registry that speaks the MLflow REST protocol, with event hooks."""

from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the Podium WSGI application: settings, database, error handling, routes."""
    # Imported here, not at module level, so `import registry.x` never drags in every route
    # (and hooks, which the services import, can import registry modules freely).
    import hooks
    from registry import auth, request_ids, store
    from registry.api import (
        approvals,
        artifacts,
        errors,
        health,
        logged_models,
        metrics,
        podium,
        server_info,
        slow_clients,
        tokens,
        tracking,
        users,
        webhooks,
    )
    from registry.api import registry as registry_api
    from registry.api.json_encoding import OrjsonProvider
    from registry.artifacts import store as artifact_store
    from registry.config import load_settings

    app = Flask(__name__)
    app.json = OrjsonProvider(app)
    app.config.update(load_settings())
    app.config.update(config or {})
    app.config["MAX_CONTENT_LENGTH"] = app.config["PODIUM_MAX_REQUEST_BYTES"]

    # First, so that even a request the database fails has its id and is counted.
    request_ids.init_app(app)
    metrics.init_app(app)
    store.init_app(app)
    errors.init_app(app)
    slow_clients.init_app(app)
    hooks.init_app(app)
    artifact_store.init_app(app)
    auth.init_app(app)

    app.register_blueprint(health.bp)
    # The MLflow web UI calls the same routes under /ajax-api; the Python client uses /api.
    for area, prefix in (
        (registry_api, "/2.0/mlflow"),
        (approvals, "/2.0/mlflow"),
        (tracking, "/2.0/mlflow"),
        (logged_models, "/2.0/mlflow"),
        (artifacts, "/2.0/mlflow-artifacts"),
        (server_info, "/3.0/mlflow"),
    ):
        app.register_blueprint(area.bp, url_prefix="/api" + prefix)
        app.register_blueprint(area.bp, url_prefix="/ajax-api" + prefix, name=area.bp.name + "_ui")
    app.register_blueprint(users.bp, url_prefix="/api")
    app.register_blueprint(users.bp, url_prefix="/ajax-api", name="users_ui")
    app.register_blueprint(tokens.bp, url_prefix="/api/2.0/podium")
    app.register_blueprint(webhooks.bp, url_prefix="/api/2.0/mlflow/webhooks")
    app.register_blueprint(podium.bp, url_prefix="/api/2.0/podium")
    app.register_blueprint(webhooks.podium_bp, url_prefix="/api/2.0/podium")
    app.register_blueprint(approvals.podium_bp, url_prefix="/api/2.0/podium")
    if app.config["PODIUM_UI"]:
        from registry import ui

        ui.init_app(app)
    return app
