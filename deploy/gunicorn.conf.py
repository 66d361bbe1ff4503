"""gunicorn configuration: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`.

The settings themselves live in registry/serving.py, so that `podium serve` and this file can
never drift apart. Override them with PODIUM_* environment variables (see the README).
"""

from registry.serving import gunicorn_settings

globals().update(gunicorn_settings())
