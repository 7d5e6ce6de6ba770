"""As a new user would: the demo item writer builds a blueprint, assembles, compares the forms and sends
them to review; the demo reviewer approves and seals them. Served app, headless Chromium."""
from __future__ import annotations

import os
import pathlib
import re
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
        "--no-first-run"]
CELLS = {"1.1": {"single": 3, "multiple": 1, "judge": 1}, "1.2": {"single": 12, "multiple": 2, "judge": 4},
         "2.1": {"single": 11, "multiple": 2, "judge": 4}, "2.2": {"single": 7, "multiple": 1, "judge": 2},
         "2.3": {"single": 20, "multiple": 3, "judge": 7}, "2.4": {"single": 7, "multiple": 1, "judge": 2}}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium")
    env = {**os.environ, "SKILLCERT_DATA_DIR": str(tmp_path_factory.mktemp("itembank-served"))}
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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(browser, base, username):
    ctx = browser.new_context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "skillcert-demo")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return ctx, page, errors


def test_writer_builds_assembles_compares_and_reviewer_approves_and_seals(served, browser):
    from playwright.sync_api import expect
    ctx, page, errors = _login(browser, served, "writer")
    page.get_by_role("link", name="双向细目表").first.click()
    page.get_by_test_id("new-blueprint").click()
    page.get_by_test_id("bp-name").fill("车工四级理论 A/B 卷（浏览器测试）")
    page.fill("input[name=target_mean_p]", "0.68")
    page.fill("input[name=exposure_limit]", "5")
    expect(page.get_by_test_id("cell-2.3-single")).to_be_visible()
    for el, per in CELLS.items():
        for t, n in per.items():
            page.get_by_test_id(f"cell-{el}-{t}").fill(str(n))
    # live coverage: every cell shows approved/needed and the totals add up
    expect(page.locator("#points-total")).to_have_text(re.compile("100"))
    expect(page.locator(".cov.short")).to_have_count(0)
    expect(page.locator("#cov-2_3-single")).to_have_text(re.compile(r"^\d+/40$"))
    page.get_by_test_id("assemble").click()
    link = page.get_by_test_id("compare-link")
    expect(link).to_be_visible(timeout=60000)
    expect(page.get_by_test_id("run-message")).to_contain_text("组卷完成")
    link.click()
    # comparison: two forms, no shared item, information curves drawn
    expect(page.get_by_test_id("paper-link")).to_have_count(2)
    expect(page.locator("#overlap td.short")).to_have_count(0)
    expect(page.get_by_test_id("tif-chart")).to_be_visible()
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('tif-chart'))")
    for left in (1, 0):
        page.get_by_test_id("submit-paper").first.click()
        expect(page.get_by_test_id("submit-paper")).to_have_count(left)
    expect(page.get_by_test_id("form-status")).to_have_text(["in_review", "in_review"])
    assert errors == []
    ctx.close()

    ctx, page, errors = _login(browser, served, "reviewer")
    page.get_by_role("link", name="审核队列").first.click()
    titles = page.get_by_test_id("queue-paper")
    expect(titles).to_have_count(2)
    hrefs = [titles.nth(i).get_attribute("href") for i in range(2)]
    for href in hrefs:
        page.goto(served + href)
        expect(page.get_by_test_id("paper-digest")).to_contain_text("✓")
        page.get_by_test_id("paper-approve").click()
        page.get_by_test_id("paper-seal").click()
        expect(page.get_by_test_id("paper-status")).to_have_text("已封存")
    assert errors == []
    ctx.close()
