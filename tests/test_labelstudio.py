"""The review round trip through a real Label Studio (1.23.2, in its own
venv: `NERBENCH_LABEL_STUDIO=/path/to/venv/bin/label-studio`, which .ci/run
installs and sets) on 127.0.0.1: the project made from the labeling config
nerbench generated, the exported tasks imported with one prediction per
teacher member, a reviewer's answers submitted through its API (one member's
prediction accepted, another's corrected, one task skipped, one left), its
JSON export read back by `review import` — exactly the spans submitted — and
once, in headless Chromium, the task page showing each member's spans."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from nerbench.cli import cli
from nerbench.distil.reviewed import read_reviewed
from nerbench.distil.review_formats import ID_KEY

from .test_explorer import CHROMIUM_FLAGS
from .test_review import MEMBERS, annotation  # noqa: F401  (the module's annotation fixture)

pytestmark = [pytest.mark.labelstudio, pytest.mark.slow]
EMAIL, PASSWORD = "reviewer@example.com", "nerbench-review-1"
#: Bounds, not deadlines: Label Studio is healthy after ~60-90 s here; a server that never answers still ends.
START_BOUND_S = 900


class LabelStudio:
    """A Label Studio server of our own, and its API reached as 1.23 wants:
    a session login, a personal access token, a refreshed access token, Bearer."""

    def __init__(self, executable: str, data_dir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "label-studio.log"
        env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir)}
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [executable, "start", "--no-browser", "--host", "127.0.0.1", "--port", str(self.port),
                 "--username", EMAIL, "--password", PASSWORD], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        self.api = httpx.Client(base_url=self.url, timeout=120)

    def wait_healthy(self) -> None:
        started = time.monotonic()
        while time.monotonic() - started < START_BOUND_S:
            if self.process.poll() is not None:
                pytest.fail(f"Label Studio exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                if self.api.get("/health", timeout=5).json().get("status") == "UP":
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(2)
        pytest.fail(f"Label Studio did not answer /health in {START_BOUND_S} s: {self.log.read_text()[-2000:]}")

    def login(self) -> None:
        session = httpx.Client(base_url=self.url, timeout=120)
        session.get("/user/login/")
        done = session.post("/user/login/", data={"email": EMAIL, "password": PASSWORD,
                                                  "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                            headers={"Referer": f"{self.url}/user/login/"})
        assert done.status_code == 302, done.text[:500]
        pat = session.post("/api/token/", headers={"X-CSRFToken": session.cookies["csrftoken"],
                                                   "Referer": f"{self.url}/"})
        assert pat.status_code == 201, pat.text[:500]
        access = self.api.post("/api/token/refresh/", json={"refresh": pat.json()["token"]})
        assert access.status_code == 200, access.text[:500]
        self.api.headers["Authorization"] = f"Bearer {access.json()['access']}"
        session.close()

    def call(self, method: str, path: str, status: int, **kwargs):
        done = self.api.request(method, path, **kwargs)
        assert done.status_code == status, f"{method} {path}: {done.status_code} {done.text[:500]}"
        return done.json()

    def stop(self) -> None:
        self.api.close()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    executable = os.environ.get("NERBENCH_LABEL_STUDIO")
    if not executable:
        pytest.skip("set NERBENCH_LABEL_STUDIO=/path/to/venv/bin/label-studio (label-studio==1.23.2 in a venv of "
                    "its own: python3 -m venv LS && LS/bin/pip install label-studio==1.23.2); .ci/run does")
    if not Path(executable).is_file():
        pytest.fail(f"NERBENCH_LABEL_STUDIO={executable}: no such file")
    server = LabelStudio(executable, tmp_path_factory.mktemp("label-studio"))
    try:
        server.wait_healthy()
        server.login()
        yield server
    finally:
        server.stop()


def spans_of(result: list[dict]) -> list[list]:
    return sorted([r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]] for r in result)


def test_a_reviewer_in_label_studio_gives_back_exactly_the_spans_submitted(label_studio, annotation, tmp_path,  # noqa: F811
                                                                           cli_runner):
    out = tmp_path / "review"
    result = cli_runner.invoke(cli, ["review", "export", str(annotation), "--to", "label-studio", "--n", "4",
                                     "-o", str(out)])
    assert result.exit_code == 0, result.output
    ls = label_studio
    project = ls.call("POST", "/api/projects", 201, json={
        "title": "nerbench review", "label_config": (out / "label_config.xml").read_text(encoding="utf-8")})
    tasks = json.loads((out / "tasks.json").read_text(encoding="utf-8"))
    imported = ls.call("POST", f"/api/projects/{project['id']}/import", 201, json=tasks)
    assert (imported["task_count"], imported["prediction_count"]) == (4, 4 * len(MEMBERS))
    listed = ls.call("GET", "/api/tasks", 200, params={"project": project["id"]})["tasks"]
    by_sentence = {t["data"][ID_KEY]: ls.call("GET", f"/api/tasks/{t['id']}", 200) for t in listed}
    order = [t["data"][ID_KEY] for t in tasks]
    assert sorted(by_sentence) == sorted(order)

    # Label Studio kept one prediction per member, as exported.
    for sid, task in by_sentence.items():
        kept = {p["model_version"]: spans_of(p["result"]) for p in task["predictions"]}
        sent = {p["model_version"]: spans_of(p["result"]) for p in tasks[order.index(sid)]["predictions"]}
        assert kept == sent and set(kept) == set(MEMBERS)

    browser_check(ls, project["id"], by_sentence, tmp_path)

    accept, correct, skip, _left = order
    submitted = {}
    # 1. the reviewer takes member a's answer as it is
    predictions = {p["model_version"]: p for p in by_sentence[accept]["predictions"]}
    submitted[accept] = predictions[MEMBERS[0]]["result"]
    # 2. corrects member b's: drops its last span, and tags the first token as PESSOA where no span is
    predictions = {p["model_version"]: p for p in by_sentence[correct]["predictions"]}
    sentence = next(json.loads(line) for line in (out / "sentences.jsonl").read_text().splitlines()
                    if json.loads(line)["id"] == correct)
    result = [dict(r) for r in predictions[MEMBERS[1]]["result"]][:-1]
    token = next(t for t in sentence["tokens"] if not any(r["value"]["start"] < t["end"] and t["start"] <
                                                          r["value"]["end"] for r in result))
    result.append({"id": "fix-1", "from_name": "label", "to_name": "text", "type": "labels",
                   "value": {"start": token["start"], "end": token["end"], "text": token["text"],
                             "labels": ["PESSOA"]}})
    submitted[correct] = result
    for sid, regions in submitted.items():
        ls.call("POST", f"/api/tasks/{by_sentence[sid]['id']}/annotations", 201, json={"result": regions})
    # 3. skips one (Label Studio's "Skip": a cancelled annotation); 4. never opens the last
    ls.call("POST", f"/api/tasks/{by_sentence[skip]['id']}/annotations", 201,
            json={"result": [], "was_cancelled": True})

    exported = ls.api.get(f"/api/projects/{project['id']}/export",
                          params={"exportType": "JSON", "download_all_tasks": "true"})
    assert exported.status_code == 200
    export_file = tmp_path / "label-studio-export.json"
    export_file.write_bytes(exported.content)
    result = cli_runner.invoke(cli, ["review", "import", str(export_file), "--review", str(out), "--json"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert (counts["accepted"], counts["skipped"], counts["unreviewed"], counts["rejected"]) == (2, 1, 1, 0)
    gold, provenance = read_reviewed(out / "reviewed.jsonl")
    assert {s.id: sorted([x.start, x.end, x.label] for x in s.spans) for s in gold} == {
        sid: spans_of(regions) for sid, regions in submitted.items()}
    assert provenance["tools"] == {"label-studio": 2} and provenance["sources_sha256"] != []
    line = json.loads((out / "reviewed.jsonl").read_text().splitlines()[0])["review"]
    assert line["by"] and line["at"]  # Label Studio says who (its user id) and when


def browser_check(ls: LabelStudio, project: int, by_sentence: dict, tmp_path: Path) -> None:
    """The task page, in headless Chromium, shows each member's predicted
    spans (Label Studio's highlighted regions) — for the most disputed task."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("the browser check needs Debian's chromium: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + ["--window-size=1400,900", f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.implicitly_wait(5)
    artefacts = tmp_path / "artefacts"
    artefacts.mkdir()
    try:
        driver.get(f"{ls.url}/user/login/")
        driver.find_element(By.NAME, "email").send_keys(EMAIL)
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit], form input[type=submit]").click()
        task = next(t for t in by_sentence.values() if any(p["result"] for p in t["predictions"]))
        driver.get(f"{ls.url}/projects/{project}/data?task={task['id']}")
        for member in MEMBERS:
            tab = f"//*[normalize-space(text())='{member}']"
            wait_until(lambda tab=tab: wait_for(driver, By.XPATH, tab).click() or True, True)
            expected = sorted(task["data"]["text"][r["value"]["start"]:r["value"]["end"]]
                              for p in task["predictions"] if p["model_version"] == member for r in p["result"])
            shown = wait_until(lambda: sorted(h.text for h in driver.find_elements(By.CSS_SELECTOR, ".htx-highlight")),
                               expected)
            assert shown == expected, (member, shown, expected)
            shot = artefacts / f"label-studio-task-{member.replace('/', '_')}.png"
            assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
            print(f"screenshot: {shot}")
    finally:
        driver.quit()


def wait_for(driver, by: str, what: str):
    """The element, once the page (a React app) has drawn it."""
    for _ in range(120):
        found = driver.find_elements(by, what)
        if found:
            return found[0]
        time.sleep(1)
    pytest.fail(f"Label Studio's page never showed {what}")


def wait_until(read, expected):
    """What `read` gives once it gives `expected`, else its last answer: the
    page redraws, and an element read while it does is stale (read again)."""
    from selenium.common.exceptions import StaleElementReferenceException

    seen = None
    for _ in range(30):
        try:
            seen = read()
        except StaleElementReferenceException:
            seen = None
        if seen == expected:
            return seen
        time.sleep(1)
    return seen
