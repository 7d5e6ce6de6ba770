"""As a new user would, in headless Chromium against a served demo: the item writer opens the analysis of
the demo sitting, the report draws its charts, the review queue lists flagged items, and the bank shows
calibrated parameters."""
from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = pathlib.Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium")
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(tmp_path_factory.mktemp("analysis-served"))}
    for var in ("SKILLCERT_DATABASE_URL", "SKILLCERT_REDIS_URL"):
        env.pop(var, None)
    cli = [sys.executable, "-m", "examserver.cli"]
    subprocess.run(cli + ["init"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(cli + ["demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not start: " + proc.stdout.read().decode()[-2000:])
    yield base
    proc.terminate()
    proc.wait(10)


def test_writer_opens_analysis_sees_flags_and_calibration(served):
    from playwright.sync_api import expect, sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served + "/login")
            page.fill("input[name=username]", "writer")
            page.fill("input[name=password]", "skillcert-demo")
            page.click("button[type=submit]")
            page.wait_for_url(served + "/")
            page.click("a[href='/analysis/']")
            expect(page.get_by_test_id("report-link")).to_have_count(2)
            with page.expect_navigation():                              # re-running is safe; the page reloads
                page.get_by_test_id("analyse-session").first.click()
            expect(page.get_by_test_id("report-link")).to_have_count(2)
            page.get_by_test_id("report-link").first.click()
            expect(page.get_by_test_id("alpha")).not_to_have_text("—")
            page.wait_for_function("() => Chart.getChart('histogram') && Chart.getChart('icc')"
                                   " && Chart.getChart('information')")
            expect(page.get_by_test_id("flag").first).to_be_visible()
            page.goto(served + "/itembank/review")
            expect(page.get_by_test_id("flagged-item").first).to_be_visible()
            data = page.evaluate("async () => (await fetch('/api/v1/itembank/items?limit=500')).json()")
            assert sum(1 for i in data["items"] if i["difficulty"]["a"] is not None) >= 5
            assert errors == []
        finally:
            browser.close()
