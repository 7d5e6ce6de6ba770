"""In a real browser: proctor records → proctor2 co-signs → chief confirms → agency notifies → the candidate files a
statement → the decision cancels the subject (指引 art. 5, 16, 17). The live-flag part needs delivery's events."""
from __future__ import annotations

import sqlite3

import pytest

from ..served import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(served_demo):
    s = served_demo("violations")
    return s.base, s.db_path


def _as(browser, base, username):
    return sign_in(browser, base, username, viewport={"width": 1024, "height": 1366})  # a tablet held upright


def test_case_procedure_from_incident_to_decision(served, browser):
    base, db_path = served
    cand = _as(browser, base, "cand001")
    name = cand.locator("[data-testid=who]").inner_text().split("·")[0].strip()

    proctor = _as(browser, base, "proctor")
    proctor.goto(base + "/violations/new")
    option = proctor.locator("[data-testid=person] option", has_text=name)
    proctor.select_option("[data-testid=person]", value=option.get_attribute("value"))
    proctor.check("input[name=category][value=left_seat]")
    proctor.fill("[data-testid=facts]", "考生未经允许离开座位，经两次提醒拒不回座。")
    proctor.click("[data-testid=submit-incident]")
    assert proctor.locator("[data-testid=status]").inner_text() == "已登记"
    case_url = proctor.url
    assert "/violations/cases/" in case_url

    p2 = _as(browser, base, "proctor2")
    p2.goto(base + "/violations/")
    p2.locator("[data-lane=cosign] .case-row").first.click()
    assert p2.url == case_url
    p2.click("[data-testid=cosign] button")
    assert p2.locator("[data-testid=status]").inner_text() == "已会签"

    chief = _as(browser, base, "chief")
    chief.goto(case_url)
    chief.click("[data-testid=confirm] button")
    assert chief.locator("[data-testid=status]").inner_text() == "已确认"

    agency = _as(browser, base, "agency")
    agency.goto(case_url)
    agency.fill("[data-testid=notify] textarea[name=reasons]", "两名监考人员记录一致，监控录像可证。")
    agency.click("[data-testid=notify] button")
    assert agency.locator("[data-testid=status]").inner_text() == "已告知"
    assert agency.locator("[data-testid=applied]").inner_text().startswith("第五条第（二）项")

    cand.goto(base + "/violations/mine")
    cand.locator("[data-case] h2 a").first.click()
    cand.fill("[data-testid=statement-text]", "我离开座位是因为身体不适，已向监考人员示意。")
    cand.click("[data-testid=statement] button")
    assert "身体不适" in cand.locator("[data-testid=statements]").inner_text()

    agency.goto(case_url)
    agency.fill("[data-testid=decide] textarea[name=reasons]", "经核实，当事人未示意，离开座位属实。")
    agency.click("[data-testid=decide] button")
    assert agency.locator("[data-testid=status]").inner_text() == "已决定"
    assert agency.locator("[data-testid=documents] li").count() == 2

    cand.goto(case_url)
    assert cand.locator("[data-testid=status]").inner_text() == "已决定"
    assert cand.locator("[data-testid=request-review]").count() == 1
    with sqlite3.connect(db_path) as db:
        rows = db.execute("select scope, subject from subject_cancellation").fetchall()
    assert rows == [("subject", "theory")]
