"""Racing writers across several gunicorn workers: dense version numbers, one holder per stage."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow import MlflowClient

SOURCE = "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model"


@pytest.fixture
def four_worker_client(live_server_factory):
    server = live_server_factory(workers=4)
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


def _race(count: int, action) -> list:
    """Run action(i) for i in range(count) on `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_version_creation_is_dense_and_unique(four_worker_client):
    client = four_worker_client
    client.create_registered_model("racing")
    per_client = 5

    def create_several(_i):
        return [client.create_model_version("racing", SOURCE).version for _ in range(per_client)]

    created = [v for batch in _race(32, create_several) for v in batch]

    expected = [str(n) for n in range(1, 32 * per_client + 1)]
    assert sorted(created, key=int) == expected
    stored = client.search_model_versions("name = 'racing'", max_results=1000)
    assert sorted((v.version for v in stored), key=int) == expected


def test_racing_promotions_leave_exactly_one_version_in_production(four_worker_client):
    client = four_worker_client
    client.create_registered_model("promoted")
    for _ in range(16):
        client.create_model_version("promoted", SOURCE)

    _race(
        16,
        lambda i: client.transition_model_version_stage(
            "promoted", str(i + 1), "Production", archive_existing_versions=True
        ),
    )

    stages = [v.current_stage for v in client.search_model_versions("name = 'promoted'")]
    assert stages.count("Production") == 1
    assert stages.count("Archived") == 15
    latest = client.get_latest_versions("promoted", stages=["Production"])
    assert len(latest) == 1


def test_racing_alias_moves_leave_one_consistent_alias(four_worker_client):
    client = four_worker_client
    client.create_registered_model("aliased")
    for _ in range(8):
        client.create_model_version("aliased", SOURCE)

    _race(8, lambda i: client.set_registered_model_alias("aliased", "champion", str(i + 1)))

    holder = client.get_model_version_by_alias("aliased", "champion").version
    with_alias = [
        v.version
        for v in client.search_model_versions("name = 'aliased'")
        if "champion" in v.aliases
    ]
    assert with_alias == [holder]
