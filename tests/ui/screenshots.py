"""Screenshots of the main pages, light and dark, for the README.

    python -m tests.ui.screenshots

Starts a real server on a scratch database, seeds it (tests/ui/seed.py) with the MLflow
client, and writes small PNGs to tests/ui/screenshots/.
"""

import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
OUT = HERE / "screenshots"
sys.path.insert(0, str(HERE.parent))  # conftest's LiveServer

# name -> (path, the section to capture, or None for the top of the page)
PAGES = {
    "models": ("/", None),
    "model": ("/models/{model}", None),
    "history": ("/models/{model}", "section[aria-labelledby=history]"),
    "version": ("/models/{model}/versions/1", None),
    "run-metrics": ("/experiments/{experiment}/runs/{run}", "section[aria-labelledby=metrics]"),
}


def main() -> None:
    from conftest import LiveServer
    from playwright.sync_api import sync_playwright

    from tests.ui.seed import seed

    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        server = LiveServer(
            f"sqlite:///{directory / 'podium.db'}",
            directory,
            env={"PODIUM_SECRET_KEY_FILE": str(directory / "podium.key")},
        ).start()
        try:
            made = seed(server.url)
            client = made["client"]
            client.transition_model_version_stage(made["model"], "2", "Production")
            client.set_registered_model_alias(made["model"], "champion", "2")
            values = dict(
                model=quote(made["model"]), experiment=made["experiment_id"], run=made["runs"][0]
            )
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                    args=["--no-sandbox"],
                )
                for scheme in ("light", "dark"):
                    context = browser.new_context(
                        base_url=server.url,
                        color_scheme=scheme,
                        viewport={"width": 1000, "height": 700},
                    )
                    page = context.new_page()
                    for name, (path, section) in PAGES.items():
                        page.goto(path.format(**values))
                        target = page.locator(section) if section else page
                        target.screenshot(path=OUT / f"{name}-{scheme}.png")
                    context.close()
                browser.close()
        finally:
            server.stop()
    for image in sorted(OUT.glob("*.png")):
        print(image.relative_to(HERE.parent.parent), image.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
