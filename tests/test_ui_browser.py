"""The web UI in a real browser (Playwright driving the system's chromium) against a real
gunicorn filled by the real MLflow client: every page, every action through its form, checked
through the client; the links the client prints; no request off the origin, no console error,
and markup in names, tags and descriptions staying inert."""

import re
import shutil
from urllib.parse import quote

import pytest
from conftest import LiveServer, fresh_database
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

from tests.ui.seed import seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs the chromium package (apt-get install chromium)"
)
SERVER_ENV = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3",
    "PODIUM_WEBHOOK_TIMEOUT": "2",
    "PODIUM_DISPATCH_POLL_MS": "10",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ui")
    with fresh_database(directory) as url:
        live = LiveServer(url, directory, env=SERVER_ENV).start()
        yield live
        live.stop()


@pytest.fixture(scope="module")
def registry(server):
    return seed(server.url)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


class Watched:
    """A page, with what it logged to the console and every request it made."""

    def __init__(self, context, origin):
        self.page = context.new_page()
        self.origin, self.errors, self.requests = origin, [], []
        self.page.on("console", self._console)
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: d.accept())  # the delete confirmations

    def _console(self, message):
        # A 4xx page is a document answered on purpose; failed subresources are caught below.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def _response(self, response):
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} for {response.url}")

    def off_origin(self):
        return [u for u in self.requests if not u.startswith(self.origin + "/")]


@pytest.fixture
def watched(browser, server):
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(10_000)
    watched = Watched(context, server.url)
    yield watched
    assert watched.off_origin() == []
    assert watched.errors == []
    context.close()


@pytest.fixture
def page(watched):
    return watched.page


def model_path(name: str) -> str:
    return "/models/" + quote(name, safe="")


def heading(page) -> str:
    return page.locator("h1").inner_text()


def submit(page, button: str, scope=None):
    (scope or page).get_by_role("button", name=button, exact=True).first.click()
    page.wait_for_load_state()


# --- navigation ---------------------------------------------------------------------------


def test_the_navigation_bar_reaches_every_area(page, registry):
    page.goto("/")
    assert heading(page) == "Registered models"
    for link, title in (
        ("Experiments", "Experiments"),
        ("Webhooks", "Webhooks"),
        ("Activity", "Activity"),
        ("Models", "Registered models"),
    ):
        page.get_by_role("navigation", name="Main").get_by_role("link", name=link).click()
        assert heading(page) == title
    assert page.get_by_role("cell", name=registry["model"]).count() == 1


def test_every_page_opens(page, registry):
    name, (run_a, run_b) = registry["model"], registry["runs"]
    experiment = registry["experiment_id"]
    pages = {
        "/": "Registered models",
        model_path(name): name,
        model_path(name) + "/versions/1": f"{name} version 1",
        "/experiments": "Experiments",
        f"/experiments/{experiment}": "iris",
        f"/experiments/{experiment}/runs/{run_a}": "iris-run-0",
        f"/compare?run={run_a}&run={run_b}": "Compare 2 runs",
        "/webhooks": "Webhooks",
        "/activity": "Activity",
        "/-/patterns": "Patterns",
    }
    for path, title in pages.items():
        response = page.goto(path)
        assert response.status == 200, path
        assert heading(page).startswith(title), path
        controls = page.locator("input:not([type=hidden]), select, textarea")
        unlabelled = controls.evaluate_all(
            "els => els.filter(el => el.labels.length === 0).map(el => el.name)"
        )
        assert unlabelled == [], path
        nameless = page.locator("button").evaluate_all(
            "els => els.filter(el => !el.textContent.trim()).length"
        )
        assert nameless == 0, path


def test_search_boxes_take_substrings_and_mlflow_filters(page, registry):
    page.goto("/")
    box = page.get_by_role("searchbox")
    for text in ("IRIS-class", "name = 'iris-classifier'", "tag.team = 'vision'"):
        box.fill(text)
        with page.expect_navigation():
            box.press("Enter")  # the keyboard alone submits
        assert page.get_by_role("link", name=registry["model"]).count() == 1, text
        box = page.get_by_role("searchbox")
    box.fill("name = ")
    with page.expect_navigation():
        box.press("Enter")
    assert page.locator(".error").count() == 1
    assert page.get_by_role("searchbox").input_value() == "name = "


def test_the_runs_table_searches_and_compares(page, registry):
    page.goto(f"/experiments/{registry['experiment_id']}")
    assert page.locator("th.param", has_text="alpha").count() == 1
    assert page.locator("th.metric", has_text="loss").count() == 1
    page.get_by_role("searchbox").fill("params.alpha = '0.7'")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.get_by_role("link", name="iris-run-1").count() == 1
    assert page.get_by_role("link", name="iris-run-0").count() == 0
    page.goto(f"/experiments/{registry['experiment_id']}")
    for checkbox in page.get_by_role("checkbox").all():
        checkbox.check()
    submit(page, "Compare runs")
    assert heading(page) == "Compare 2 runs"
    assert page.locator("tr.differs", has_text="alpha").count() == 1
    assert page.locator("tr.differs", has_text="layers").count() == 0
    assert page.locator("figure.chart polyline").count() >= 4  # 2 metrics x 2 runs


# --- the links the MLflow client prints ---------------------------------------------------


@pytest.mark.parametrize(
    "link, lands_on",
    [
        ("/#/experiments/{experiment}", "/experiments/{experiment}"),
        ("/#/experiments/{experiment}/runs/{run}", "/experiments/{experiment}/runs/{run}"),
        ("/#/models/{model}", "/models/{model}"),
        ("/#/models/{model}/versions/2", "/models/{model}/versions/2"),
        ("/#/ml/experiments/{experiment}/runs/{run}", "/experiments/{experiment}/runs/{run}"),
        ("/?o=1234#/models/{model}", "/models/{model}"),
        ("/ml/experiments/{experiment}", "/experiments/{experiment}"),
        (
            "/#/experiments/{experiment}/runs/{run}/artifacts/model",
            "/experiments/{experiment}/runs/{run}",
        ),
        (
            '/#/compare-runs?runs=["{run}","{other}"]&experiments=["{experiment}"]',
            "/compare?run={run}&run={other}",
        ),
    ],
)
def test_links_the_client_prints_land_on_their_page(page, registry, link, lands_on):
    values = dict(
        experiment=registry["experiment_id"],
        run=registry["runs"][0],
        other=registry["runs"][1],
        model=registry["model"],
    )
    page.goto(link.format(**values))
    page.wait_for_url(re.compile(re.escape(lands_on.format(**values)) + "$"))
    assert page.locator("h1").count() == 1


def test_the_links_the_client_really_prints_are_followed(page, server, registry, capsys):
    from mlflow.tracking._tracking_service.client import TrackingServiceClient

    run_id = registry["runs"][0]
    TrackingServiceClient(server.url)._log_url(run_id)  # what end_run prints
    printed = re.findall(r"at: (\S+)", capsys.readouterr().out)
    assert len(printed) == 2
    run_link, experiment_link = printed
    page.goto(run_link)
    page.wait_for_url(f"**/experiments/{registry['experiment_id']}/runs/{run_id}")
    assert heading(page).startswith("iris-run-0")
    page.goto(experiment_link)
    page.wait_for_url(f"**/experiments/{registry['experiment_id']}")
    assert heading(page).startswith("iris")


# --- model actions ------------------------------------------------------------------------


def test_model_forms_change_what_the_client_sees(page, registry):
    client, name = registry["client"], "ui-model-forms"
    client.create_registered_model(name)
    page.goto(model_path(name))
    page.get_by_text("Edit description").click()
    page.get_by_label("Description (Markdown)").fill("Detects **faces**.")
    submit(page, "Save description")
    assert page.locator(".description strong").inner_text() == "faces"
    page.get_by_label("Key").fill("owner")
    page.get_by_label("Value").fill("vision-team")
    submit(page, "Set tag")
    model = client.get_registered_model(name)
    assert model.description == "Detects **faces**." and model.tags == {"owner": "vision-team"}
    submit(page, "Delete tag")
    assert client.get_registered_model(name).tags == {}
    page.get_by_label("New name").fill(name + "-renamed")
    submit(page, "Rename")
    assert page.url.endswith(model_path(name + "-renamed"))
    assert client.get_registered_model(name + "-renamed").name == name + "-renamed"
    submit(page, "Delete model")  # the confirm dialog is accepted
    assert heading(page) == "Registered models"
    assert [m.name for m in client.search_registered_models(f"name = '{name}-renamed'")] == []


def test_the_versions_table_filters_by_stage_and_the_history_shows(page, registry):
    page.goto(model_path(registry["model"]))
    rows = page.locator("section[aria-labelledby=versions] tbody tr")
    assert rows.count() == 2
    page.get_by_label("Show stage").select_option("Staging")
    submit(page, "Filter")
    assert rows.count() == 1 and "Version 1" in rows.inner_text()
    assert page.locator("figure.timeline rect").count() >= 2  # Staging v1, @challenger v2
    assert page.locator("section[aria-labelledby=history] tbody", has_text="None → Staging").count()


def test_the_as_of_picker_shows_a_past_state(page, registry):
    client, name = registry["client"], "ui-as-of"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/model")
    page.goto(model_path(name))
    page.get_by_label("Registry as of (UTC)").fill("2000-01-01T00:00:00")
    submit(page, "Show state")
    assert "Staging none" in page.locator(".as-of").inner_text().replace("\n", " ")
    client.transition_model_version_stage(name, "1", "Staging")
    page.get_by_label("Registry as of (UTC)").fill("2099-01-01T00:00:00")
    submit(page, "Show state")
    assert "Staging v1" in page.locator(".as-of").inner_text().replace("\n", " ")


# --- version actions, webhooks ------------------------------------------------------------


def test_a_transition_in_the_ui_is_what_the_client_sees_and_fires_the_webhook(page, registry):
    client, name = registry["client"], "ui-transition"
    client.create_registered_model(name)
    for _ in range(2):
        client.create_model_version(name, "s3://bucket/model")
    client.transition_model_version_stage(name, "1", "Production")
    receiver = Receiver()
    try:
        page.goto("/webhooks")
        page.get_by_label("Name", exact=True).fill("deploy")
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("model_version.stage_transitioned").check()
        page.get_by_label("Models (comma-separated; empty: every model)").fill(name)
        page.get_by_label("Production").check()
        submit(page, "Create webhook")
        secret = page.locator("code.secret").inner_text()
        webhook_url = page.get_by_role("link", name="deploy").first.get_attribute("href")

        page.goto(model_path(name) + "/versions/2")
        page.get_by_label("Stage", exact=True).select_option("Production")
        page.get_by_label("Archive existing versions").check()
        submit(page, "Transition")
        latest = client.get_latest_versions(name, ["Production", "Archived"])
        assert {(v.version, v.current_stage) for v in latest} == {
            ("2", "Production"),
            ("1", "Archived"),
        }
        headers, body, _ = receiver.wait_for(1)[0]
        event = StandardWebhook(secret).verify(body, headers)
        assert event["type"] == "model_version.stage_transitioned"
        assert event["data"]["to_stage"] == "Production"

        page.goto(webhook_url)
        page.wait_for_selector("table.attempts td:text-is('200')")
        submit(page, "Redeliver")
        again, _body, _ = receiver.wait_for(2)[1]
        assert again["webhook-id"] == headers["webhook-id"]
    finally:
        receiver.close()


def test_alias_forms_and_a_refused_alias_keeps_the_input(page, registry):
    client, name = registry["client"], "ui-alias"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/model")
    page.goto(model_path(name) + "/versions/1")
    page.get_by_label("Alias", exact=True).fill("champion")
    submit(page, "Set alias")
    assert client.get_model_version_by_alias(name, "champion").version == "1"
    page.get_by_label("Alias", exact=True).fill("not valid!")
    submit(page, "Set alias")
    assert "Invalid alias name" in page.locator(".error").inner_text()
    assert page.get_by_label("Alias", exact=True).input_value() == "not valid!"
    submit(page, "Delete alias @champion")
    assert client.get_registered_model(name).aliases == {}


def test_version_tags_description_and_delete(page, registry):
    client, name = registry["client"], "ui-version-forms"
    client.create_registered_model(name)
    client.create_model_version(name, "s3://bucket/model")
    page.goto(model_path(name) + "/versions/1")
    page.get_by_text("Edit description").click()
    page.get_by_label("Description (Markdown)").fill("First cut.")
    submit(page, "Save description")
    page.get_by_label("Key").fill("validated")
    page.get_by_label("Value").fill("true")
    submit(page, "Set tag")
    version = client.get_model_version(name, "1")
    assert version.description == "First cut." and version.tags == {"validated": "true"}
    submit(page, "Delete tag")
    assert client.get_model_version(name, "1").tags == {}
    submit(page, "Delete version")
    assert client.search_model_versions(f"name = '{name}'") == []


def test_webhook_controls(page, registry):
    receiver = Receiver()
    try:
        page.goto("/webhooks")
        page.get_by_label("Name", exact=True).fill("audit")
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("registered_model.created").check()
        submit(page, "Create webhook")
        first_secret = page.locator("code.secret").inner_text()
        page.get_by_role("link", name="audit").first.click()
        submit(page, "Test")
        assert "Test delivery succeeded: HTTP 200" in page.locator(".notice").inner_text()
        submit(page, "Disable")
        assert page.locator(".status").first.inner_text() == "DISABLED"
        submit(page, "Enable")
        assert page.locator(".status").first.inner_text() == "ACTIVE"
        submit(page, "Rotate secret")
        assert page.locator("code.secret").inner_text() not in ("", first_secret)
        submit(page, "Delete webhook")
        assert heading(page) == "Webhooks"
        assert page.get_by_role("link", name="audit").count() == 0
    finally:
        receiver.close()


# --- runs, charts, artifacts --------------------------------------------------------------


def test_the_run_page_charts_metrics_without_javascript(browser, server, registry):
    context = browser.new_context(base_url=server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/experiments/{registry['experiment_id']}/runs/{registry['runs'][0]}")
        assert page.locator("figure.chart svg polyline").count() == 2  # loss, accuracy
        points = page.locator("figure.chart svg polyline").first.get_attribute("points")
        assert len(points.split()) == 40
        assert page.get_by_role("link", name="iris-classifier version 1").count() == 1
    finally:
        context.close()


def test_the_version_page_shows_lineage_signature_and_files(page, registry):
    page.goto(model_path(registry["model"]) + "/versions/1")
    assert "sepal_length" in page.locator("section[aria-labelledby=signature]").inner_text()
    assert "iris-run-0" in page.locator("section[aria-labelledby=lineage]").inner_text()
    assert page.locator("section[aria-labelledby=lineage] figure.chart").count() == 2
    assert page.get_by_role("link", name="MLmodel", exact=True).count() == 1


def test_the_artifact_browser_shows_text_and_images_and_downloads(page, registry):
    page.goto(f"/experiments/{registry['experiment_id']}/runs/{registry['runs'][0]}")
    page.get_by_role("link", name="notes.txt").click()
    assert "<b>not bold</b>" in page.locator("pre").inner_text()
    page.go_back()
    page.get_by_role("link", name="plot.png").click()
    assert page.locator("img.artifact").evaluate("img => img.naturalWidth") == 2
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").click()
    assert download.value.suggested_filename == "plot.png"
    page.go_back()
    page.get_by_role("link", name="model/").click()
    assert page.get_by_role("link", name="MLmodel").count() == 1


# --- safety and looks ---------------------------------------------------------------------


def test_markup_in_names_tags_and_descriptions_stays_inert(page, registry):
    client, name = registry["client"], "<img src=x onerror=window.__xss=1>"
    client.create_registered_model(
        name,
        tags={"<script>window.__xss=2</script>": "<svg onload=window.__xss=3>"},
        description='<img src=x onerror="window.__xss=4"> [x](javascript:window.__xss=5)',
    )
    client.create_model_version(name, "s3://bucket/model")
    client.transition_model_version_stage(name, "1", "Staging")
    for path in ("/", model_path(name), model_path(name) + "/versions/1", "/activity"):
        page.goto(path)
        assert page.evaluate("window.__xss") is None, path
    page.goto(model_path(name))
    assert heading(page) == name  # shown as the text it is
    assert page.locator(".description a").count() == 0


def test_unknown_pages_say_404_and_link_home(watched, registry):
    page = watched.page
    response = page.goto("/models/no-such-model")
    assert response.status == 404
    assert "404" in heading(page)
    page.get_by_role("link", name="Back to the models").click()
    assert heading(page) == "Registered models"


def test_light_and_dark_themes_follow_the_system(browser, server, registry):
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(base_url=server.url, color_scheme=scheme)
        page = context.new_page()
        page.goto("/")
        colours[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        context.close()
    assert colours == {"light": "rgb(255, 255, 255)", "dark": "rgb(21, 25, 29)"}


def test_half_a_laptop_screen_needs_no_sideways_scrolling(browser, server, registry):
    context = browser.new_context(base_url=server.url, viewport={"width": 720, "height": 800})
    page = context.new_page()
    for path in ("/", model_path(registry["model"]) + "/versions/1", "/webhooks"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
    context.close()


def test_the_activity_feed_filters_by_model_user_and_event(page, registry):
    page.goto("/activity")
    page.get_by_label("Model").fill(registry["model"])
    page.get_by_label("Event").select_option("Stage change")
    submit(page, "Filter")
    rows = page.locator("tbody tr")
    assert rows.count() == 1 and "None → Staging" in rows.inner_text()
    page.get_by_label("Event").select_option("Version created")
    submit(page, "Filter")
    assert page.locator("tbody tr").count() == 2


def test_the_keyboard_alone_reaches_the_search_and_submits_it(page, registry):
    page.goto("/")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "search":
            break
    else:
        pytest.fail("Tab never reached the search box")
    page.keyboard.type("iris")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("link", name=registry["model"]).count() == 1


def test_a_dismissed_confirmation_deletes_nothing(browser, server, registry):
    client, name = registry["client"], "ui-keep-me"
    client.create_registered_model(name)
    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        asked = []
        page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.goto(model_path(name))
        page.get_by_role("button", name="Delete model").click()
        assert asked == [f"Delete the model {name} and all its versions?"]
        assert heading(page) == name
        assert client.get_registered_model(name).name == name
    finally:
        context.close()


def test_signing_in_with_basic_auth_on(browser, tmp_path_factory):
    """PODIUM_AUTH=basic: a stranger lands on the sign-in page, signs in with the labelled form,
    comes back where they were going, and signs out again."""
    directory = tmp_path_factory.mktemp("ui-auth")
    env = {
        "PODIUM_AUTH": "basic",
        "PODIUM_ADMIN_USERNAME": "admin",
        "PODIUM_ADMIN_PASSWORD": "admin-password",
    }
    with fresh_database(directory) as url:
        live = LiveServer(url, directory, env=env).start()
        try:
            context = browser.new_context()
            watched = Watched(context, live.url)
            page = watched.page
            page.goto(live.url + "/activity")
            assert page.url.startswith(live.url + "/sign-in")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill("wrong-password")
            page.get_by_role("button", name="Sign in").click()
            assert page.get_by_role("alert").is_visible()  # the form says why, and stays
            assert page.get_by_label("Username").input_value() == "admin"
            page.get_by_label("Password").fill("admin-password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(live.url + "/activity")
            assert page.get_by_role("link", name="Webhooks").is_visible()  # an admin's bar
            page.get_by_role("button", name="Sign out").click()
            page.wait_for_url(re.compile(re.escape(live.url) + "/sign-in.*"))
            page.goto(live.url + "/")
            assert page.url.startswith(live.url + "/sign-in")
            assert watched.off_origin() == [] and watched.errors == []
            context.close()
        finally:
            live.stop()
