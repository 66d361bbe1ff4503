"""A small registry for the UI's browser tests and screenshots, made with the real MLflow client:
an experiment with two runs (params, metric histories, text, image and model artifacts) and a
model with versions, stages, aliases and tags."""

import base64
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

# A 2x2 PNG, so the image preview has something real to show.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAEUlEQVR4nGP4z8DwH4QZYAwAR8oH+WdZbrcAAAAASUVORK5CYII="
)
MLMODEL = """artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
signature:
  inputs: '[{"type": "double", "name": "sepal_length"}, {"type": "double", "name": "petal_width"}]'
  outputs: '[{"type": "long"}]'
saved_input_example_info:
  artifact_path: input_example.json
  type: dataframe
"""


def seed(url: str, *, model: str = "iris-classifier", experiment: str = "iris") -> dict:
    """Fill the server at `url`; return the ids and names the tests look for."""
    client = MlflowClient(tracking_uri=url, registry_uri=url)
    experiment_id = client.create_experiment(experiment, tags={"team": "vision"})
    runs = []
    for index, alpha in enumerate(("0.5", "0.7")):
        run = client.create_run(experiment_id, run_name=f"{experiment}-run-{index}")
        run_id = run.info.run_id
        client.log_param(run_id, "alpha", alpha)
        client.log_param(run_id, "layers", "3")
        now = int(time.time() * 1000)
        from mlflow.entities import Metric

        metrics = [
            Metric(key, value, now + step, step)
            for step in range(40)
            for key, value in (
                ("loss", 1 / (step + 1 + index)),
                ("accuracy", 0.5 + step / 100 - index / 50),
            )
        ]
        client.log_batch(run_id, metrics=metrics)
        with tempfile.TemporaryDirectory() as directory:
            folder = Path(directory)
            (folder / "notes.txt").write_text(f"run {index}: alpha={alpha}\n<b>not bold</b>\n")
            (folder / "plot.png").write_bytes(PNG)
            (folder / "model").mkdir()
            (folder / "model" / "MLmodel").write_text(MLMODEL)
            (folder / "model" / "input_example.json").write_text(
                '{"columns": ["sepal_length", "petal_width"], "data": [[5.1, 0.2]]}'
            )
            client.log_artifacts(run_id, directory)
        client.set_terminated(run_id)
        runs.append(client.get_run(run_id))
    client.create_registered_model(model, tags={"team": "vision"}, description="Iris *species*.")
    for run in runs:
        client.create_model_version(model, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
    client.transition_model_version_stage(model, "1", "Staging")
    client.set_registered_model_alias(model, "challenger", "2")
    return {
        "client": client,
        "experiment_id": experiment_id,
        "runs": [run.info.run_id for run in runs],
        "model": model,
    }
