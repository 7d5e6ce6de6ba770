"""As a new user would, in headless Chromium against a served demo: the item writer opens the analysis of
the demo sitting, the report draws its charts, the review queue lists flagged items, and the bank shows
calibrated parameters."""
from __future__ import annotations

import pytest

from ...served import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(served_demo):
    return served_demo("analysis").base


def test_writer_opens_analysis_sees_flags_and_calibration(served, browser):
    from playwright.sync_api import expect
    errors: list[str] = []
    page = sign_in(browser, served, "writer", errors=errors)
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
    page.context.close()
