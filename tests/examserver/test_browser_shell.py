"""As a new user would: the served app (init, demo, serve on gevent) in a real headless Chromium."""
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
ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`skillcert init && skillcert demo --if-empty && skillcert serve`, as `make run` does."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/services.sh does)")
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(tmp_path_factory.mktemp("served"))}
    for var in ("SKILLCERT_DATABASE_URL", "SKILLCERT_REDIS_URL"):
        env.pop(var, None)
    cli = [sys.executable, "-m", "examserver.cli"]
    subprocess.run(cli + ["init"], env=env, cwd=ROOT, check=True, capture_output=True)
    demo = subprocess.run(cli + ["demo", "--if-empty"], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    assert "skillcert-demo" in demo.stdout
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
    yield base
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


ROLES = [("admin", "admin"), ("auditor", "center_auditor"), ("agency", "agency_admin"), ("writer", "item_writer"),
         ("reviewer", "item_reviewer"), ("proctor", "proctor"), ("chief", "chief_proctor"),
         ("examiner", "examiner"), ("supervisor", "supervisor"), ("cand001", "candidate")]


def test_each_demo_account_logs_in_and_sees_its_landing_page(served, browser):
    for username, role in ROLES:
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(served + "/")
        assert page.url.startswith(served + "/login")
        assert page.locator("h1").inner_text() == "登录"
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "skillcert-demo")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=landing]")
        assert page.get_attribute("[data-testid=landing]", "data-role") == role
        assert page.locator("[data-testid=who]").count() == 1
        ctx.close()


def test_wrong_password_stays_on_login_with_an_error(served, browser):
    page = browser.new_page()
    page.goto(served + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "用户名或密码错误。"
    page.close()


def test_admin_browses_the_audit_trail_verifies_it_and_switches_to_english(served, browser):
    page = browser.new_page()
    page.goto(served + "/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "skillcert-demo")
    page.click("button[type=submit]")
    page.goto(served + "/audit?object_type=agency")
    rows = page.locator("[data-testid=audit-table] tbody tr")
    assert rows.count() >= 3
    assert "agency.create" in page.locator("[data-testid=audit-table]").inner_text()
    page.click("text=校验整条审计链")
    assert page.get_attribute("[data-testid=verify-result]", "data-ok") == "true"
    page.click("text=English")
    assert "Chain verification" in page.locator("h1").inner_text()
    page.screenshot(path=str(pathlib.Path(os.environ.get("SKILLCERT_SCREENSHOTS", "/tmp")) / "audit_verify.png"))
    page.close()


def test_assets_are_all_served_locally(served, browser):
    page = browser.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(served + "/login")
    page.wait_for_load_state("networkidle")
    assert requested and all(u.startswith(served) for u in requested), requested
    page.close()
