"""As a new user would: the demo item writer builds a blueprint, assembles, compares the forms and sends
them to review; the demo reviewer approves and seals them. Served app, headless Chromium."""
from __future__ import annotations

import re

import pytest

from ..served import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CELLS = {"1.1": {"single": 3, "multiple": 1, "judge": 1}, "1.2": {"single": 12, "multiple": 2, "judge": 4},
         "2.1": {"single": 11, "multiple": 2, "judge": 4}, "2.2": {"single": 7, "multiple": 1, "judge": 2},
         "2.3": {"single": 20, "multiple": 3, "judge": 7}, "2.4": {"single": 7, "multiple": 1, "judge": 2}}


@pytest.fixture(scope="module")
def served(served_demo):
    return served_demo("itembank").base


def _login(browser, base, username):
    errors: list[str] = []
    page = sign_in(browser, base, username, errors=errors)
    return page.context, page, errors


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
