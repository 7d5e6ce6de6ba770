"""The public verification page in a real headless Chromium against the served app (init, demo, serve)."""
from __future__ import annotations

import os
import pathlib
import socket
import sqlite3
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/services.sh does)")
    data = tmp_path_factory.mktemp("certs-served")
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(data)}
    for var in ("SKILLCERT_DATABASE_URL", "SKILLCERT_REDIS_URL"):
        env.pop(var, None)
    cli = [sys.executable, "-m", "examserver.cli"]
    subprocess.run(cli + ["init"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(cli + ["demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    with sqlite3.connect(data / "skillcert.db") as c:
        certs = {status: (number, data_json) for number, status, data_json in
                 c.execute("SELECT number, status, data FROM certificate ORDER BY id")}
    port = _free_port()
    proc = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("server did not start: " + proc.stdout.read().decode()[-2000:])
    yield base, certs
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_qr_target_shows_masked_data_and_status(served, browser):
    import json
    base, certs = served
    page = browser.new_context().new_page()
    number, data = certs["valid"]
    data = json.loads(data)
    page.goto(f"{base}/verify/{number}")
    result = page.get_by_test_id("verify-result")
    assert result.get_attribute("data-status") == "valid"
    assert page.get_by_test_id("cert-status").inner_text().startswith("有效")
    assert page.get_by_test_id("cert-number").inner_text() == number
    assert page.get_by_test_id("cert-name").inner_text() == data["name"]
    full = data["id_number"]
    assert page.get_by_test_id("cert-id").inner_text() == full[:6] + "********" + full[-4:]
    assert full not in page.content()

    revoked, _ = certs["revoked"]
    page.goto(f"{base}/verify")  # the form, as a person holding the paper certificate would use it
    page.fill("input[name=no]", revoked)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/verify/{revoked}")
    assert page.get_by_test_id("verify-result").get_attribute("data-status") == "revoked"
    assert "2026-09-15" in page.get_by_test_id("cert-status").inner_text()
    assert page.get_by_test_id("cert-revoked-on").inner_text() == "2026-09-15"
