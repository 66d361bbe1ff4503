"""The flows an MLflow 2.x client runs, as a script for that client's own virtual environment.

tests/test_mlflow2_client.py runs it with the newest 2.x client (mlflow-skinny 2.22) against a
live Podium: `python mlflow2_flows.py TRACKING_URI WORKDIR`. It prints one JSON object of what
it saw; the test judges it. Written for the 2.x API (`artifact_path=`, stages), so it is
not imported by the suite itself.
"""

import json
import sys
import warnings
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input.apply(lambda column: column + self.n)


def main(tracking_uri: str, workdir: Path) -> dict:
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    seen = {"client_version": mlflow.__version__}

    # The quickstart, with an implicit run.
    outputs = workdir / "outputs"
    (outputs / "sub").mkdir(parents=True, exist_ok=True)
    (outputs / "test.txt").write_text("hello")
    (outputs / "sub" / "a.json").write_text('{"a": 1}')
    mlflow.set_experiment("mlflow2-quickstart")
    mlflow.log_param("param1", 73)
    for offset in range(3):
        mlflow.log_metric("foo", 0.5 + offset)
    mlflow.log_artifacts(str(outputs))
    quickstart = mlflow.active_run().info.run_id
    mlflow.end_run()
    run = client.get_run(quickstart)
    seen["quickstart"] = {
        "params": run.data.params,
        "metrics": run.data.metrics,
        "status": run.info.status,
        "artifacts": sorted(f.path for f in client.list_artifacts(quickstart)),
        "history": [m.value for m in client.get_metric_history(quickstart, "foo")],
    }

    # A dataset input and a 2.x model (logged under the run's artifacts, with log-model).
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with warnings.catch_warnings(record=True) as caught, mlflow.start_run() as active:
        warnings.simplefilter("always")
        dataset = mlflow.data.from_pandas(
            frame, name="numbers", source=str(workdir / "numbers.csv")
        )
        mlflow.log_input(dataset, context="training")
        mlflow.pyfunc.log_model(artifact_path="model", python_model=AddN(10))
    run_id = active.info.run_id
    run = client.get_run(run_id)
    seen["warnings"] = [str(w.message) for w in caught if "tracking server" in str(w.message)]
    seen["log_model_history"] = json.loads(run.data.tags.get("mlflow.log-model.history", "[]"))
    seen["dataset_inputs"] = [
        {
            "name": i.dataset.name,
            "digest": i.dataset.digest,
            "source_type": i.dataset.source_type,
            "tags": {t.key: t.value for t in i.tags},
        }
        for i in run.inputs.dataset_inputs
    ]
    experiment = run.info.experiment_id
    seen["search_by_dataset"] = [
        r.info.run_id
        for r in client.search_runs(
            [experiment], filter_string="datasets.name = 'numbers' AND dataset.context = 'training'"
        )
    ]

    # The registry.
    name = "mlflow2-model"
    version = mlflow.register_model(f"runs:/{run_id}/model", name)
    client.transition_model_version_stage(name, version.version, "Staging")
    client.set_registered_model_alias(name, "champion", version.version)
    client.set_model_version_tag(name, version.version, "validated", "true")
    by_alias = client.get_model_version_by_alias(name, "champion")
    found = client.search_model_versions(f"name = '{name}' AND tag.validated = 'true'")
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    staged = mlflow.pyfunc.load_model(f"models:/{name}/Staging")
    seen["registry"] = {
        "version": version.version,
        "status": version.status,
        "source": version.source,
        "stage": client.get_model_version(name, version.version).current_stage,
        "alias_version": by_alias.version,
        "found": [v.version for v in found],
        "latest": [v.version for v in client.get_latest_versions(name, stages=["Staging"])],
        "prediction": model.predict(frame)["x"].tolist(),
        "staged_prediction": staged.predict(frame)["x"].tolist(),
    }
    return seen


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]))))
