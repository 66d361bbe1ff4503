"""The gunicorn application behind `podium serve`: Podium's configuration file, then overrides."""

from pathlib import Path

from gunicorn.app.base import Application

# The commented gunicorn configuration; deploy/gunicorn.conf.py links to the same file.
GUNICORN_CONFIG = Path(__file__).with_name("gunicorn_config.py")


class PodiumServer(Application):
    """gunicorn with Podium's configuration file and command-line overrides: create_app()."""

    def __init__(self, overrides: dict):
        self.overrides = overrides
        super().__init__()

    def load_config(self):
        # Read afresh on every (re)load, like `gunicorn -c`: a SIGHUP picks up changed variables.
        self.load_config_from_file(str(GUNICORN_CONFIG))
        for key, value in self.overrides.items():
            self.cfg.set(key, value)

    def load(self):
        from registry import create_app

        return create_app()
