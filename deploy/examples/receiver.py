"""An example webhook receiver: logs "model X version N moved to Production".

    PODIUM_WEBHOOK_SECRET=whsec_... flask --app deploy/examples/receiver.py run --port 8000

then create a webhook pointing at http://<host>:8000/podium-webhook with that secret.
"""

import logging
import os

from flask import Flask

from hooks.receiver import receiver_blueprint

log = logging.getLogger("podium.receiver")
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")


def on_event(event: dict, delivery_id: str) -> None:
    data = event["data"]
    if event["type"] == "model_version.stage_transitioned":
        log.info("model %s version %s moved to %s", data["name"], data["version"], data["to_stage"])
    else:
        log.info("%s: %s", event["type"], data)


app = Flask(__name__)
app.register_blueprint(
    receiver_blueprint(secret=os.environ["PODIUM_WEBHOOK_SECRET"], handle=on_event)
)
