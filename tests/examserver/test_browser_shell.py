"""As a new user would: the served app (init, demo, serve on gevent) in a real headless Chromium."""
from __future__ import annotations

import os
import pathlib

import pytest

from ..served import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(served_demo):
    """`skillcert init && skillcert demo && skillcert serve`, as `make run` does (a copy for this module)."""
    return served_demo("shell").base


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
        page.fill("input[name=password]", PASSWORD)
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
    page = sign_in(browser, served, "admin")
    page.goto(served + "/audit?object_type=agency")
    rows = page.locator("[data-testid=audit-table] tbody tr")
    assert rows.count() >= 3
    assert "agency.create" in page.locator("[data-testid=audit-table]").inner_text()
    page.click("text=校验整条审计链")
    assert page.get_attribute("[data-testid=verify-result]", "data-ok") == "true"
    page.click("text=English")
    assert "Chain verification" in page.locator("h1").inner_text()
    page.screenshot(path=str(pathlib.Path(os.environ.get("SKILLCERT_SCREENSHOTS", "/tmp")) / "audit_verify.png"))
    page.context.close()


def test_assets_are_all_served_locally(served, browser):
    page = browser.new_page()
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(served + "/login")
    page.wait_for_load_state("networkidle")
    assert requested and all(u.startswith(served) for u in requested), requested
    page.close()
