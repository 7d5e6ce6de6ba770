"""In a real browser: proctor records → proctor2 co-signs → chief confirms → agency notifies → the candidate files a
statement → the decision cancels the subject (指引 art. 5, 16, 17); and the same from live behaviour flags: the
candidate switches tabs and leaves fullscreen in the exam, the proctor sees the flags within 2 s and opens the case."""
from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.request

import pytest

from ..served import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(served_demo):
    return served_demo("violations")


def _as(browser, base, username):
    return sign_in(browser, base, username, viewport={"width": 1024, "height": 1366})  # a tablet held upright


def test_case_procedure_from_incident_to_decision(served, browser):
    base, db_path = served.base, served.db_path
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

    _through_decision(browser, base, db_path, case_url, cand, applied="第五条第（二）项", from_queue=True)


def _through_decision(browser, base, db_path, case_url, cand, *, applied, from_queue=False):
    """proctor2 co-signs → the chief confirms → the agency notifies → the candidate files a statement → the decision
    cancels the subject of this case."""
    p2 = _as(browser, base, "proctor2")
    if from_queue:
        p2.goto(base + "/violations/")
        p2.locator("[data-lane=cosign] .case-row").first.click()
    else:
        p2.goto(case_url)
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
    assert agency.locator("[data-testid=applied]").inner_text().startswith(applied)

    path = case_url[len(base):]
    cand.goto(base + "/violations/mine")
    cand.locator(f"[data-case] h2 a[href='{path}']").click()
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
    case_id = int(path.rsplit("/", 1)[1])
    with sqlite3.connect(db_path) as db:
        rows = db.execute("select scope, subject from subject_cancellation where case_id = ?", (case_id,)).fetchall()
    assert rows == [("subject", "theory")]


def _api(base, method, path, body=None, token=None):
    req = urllib.request.Request(base + "/api/v1" + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_live_behaviour_flags_become_a_case_that_cancels_the_subject(served, browser):
    from playwright.sync_api import expect
    base, db_path = served.base, served.db_path
    m = re.search(r"access code (\w+)\s+e\.g\. ticket (\d+)\s+ID (\w+)", served.demo_output)
    assert m, served.demo_output[-2000:]
    code, ticket, idn = m.groups()
    with sqlite3.connect(db_path) as db:
        plan_id, username = db.execute(
            "select se.plan_id, a.username from exam_session se join registration r on r.plan_id = se.plan_id "
            "join account a on a.person_id = r.person_id where se.access_code = ? and r.ticket_number = ?",
            (code, ticket)).fetchone()
    # the agency sets this plan's rules: the first tab switch and the first fullscreen exit are flagged
    token = _api(base, "POST", "/auth/token", {"username": "agency", "password": PASSWORD})["token"]
    _api(base, "PUT", f"/violations/plans/{plan_id}/behaviour-rules",
         {"rules": {"focus_lost": {"flag_at": 1}, "fullscreen_exit": {"flag_at": 1}}}, token)

    proctor = _as(browser, base, "proctor")
    proctor.goto(base + "/proctor")
    proctor.click(f"tr:has-text('{code}') a >> nth=0")
    expect(proctor.locator("#live.on")).to_be_visible(timeout=15000)
    dashboard = proctor.url
    seat = proctor.locator(f".seatcell[data-ticket='{ticket}']")

    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base + "/exam")
    page.fill("input[name=ticket_number]", ticket)
    page.fill("input[name=id_number]", idn)
    page.fill("input[name=access_code]", code)
    page.click("button[type=submit]")
    page.click("#confirm-identity")
    expect(page.locator("#screen-wait")).to_be_visible()
    proctor.click("#open-session")
    expect(page.locator("#start")).to_be_enabled(timeout=10000)
    page.click("#start")  # a user gesture: the page enters fullscreen
    expect(page.locator("#screen-exam")).to_be_visible()
    expect(seat).to_have_attribute("data-state", "answering", timeout=10000)
    page.wait_for_function("!!document.fullscreenElement", timeout=5000)
    # Playwright makes every page believe it has focus; switching tabs must really take it away
    ctx.new_cdp_session(page).send("Emulation.setFocusEmulationEnabled", {"enabled": False})
    page.bring_to_front()
    page.wait_for_timeout(1800)  # past the settling time after entering fullscreen

    # the candidate switches to another tab for a while and comes back
    other = ctx.new_page()
    other.bring_to_front()
    other.wait_for_timeout(1200)
    page.bring_to_front()
    t0 = time.monotonic()
    flag = proctor.locator("[data-testid=flag][data-kind=focus_lost]")
    expect(flag).to_be_visible(timeout=2000)
    expect(seat.locator("[data-testid=flag-badge]")).to_be_visible(timeout=max(100, 2000 - 1000 * (time.monotonic() - t0)))
    assert time.monotonic() - t0 < 2.0
    expect(page.locator("[data-testid=behaviour-warning]")).to_contain_text("离开考试窗口")
    other.close()

    # and leaves fullscreen, then goes back to it from the page's prompt
    if not page.evaluate("!!document.fullscreenElement"):
        page.click("#fullscreen-back")
        page.wait_for_function("!!document.fullscreenElement", timeout=5000)
        page.wait_for_timeout(1800)
    page.evaluate("document.exitFullscreen()")
    expect(page.locator("[data-testid=fullscreen-prompt]")).to_be_visible(timeout=3000)
    page.wait_for_timeout(800)
    page.click("#fullscreen-back")
    t0 = time.monotonic()
    expect(proctor.locator("[data-testid=flag][data-kind=fullscreen_exit]")).to_be_visible(timeout=2000)
    assert time.monotonic() - t0 < 2.0
    expect(seat.locator("[data-testid=flag-badge]")).to_have_text("⚑ 2")
    assert "退出全屏 1 次" in proctor.locator("[data-testid=flag][data-kind=fullscreen_exit]").inner_text()
    assert flag.locator(".evidence li").count() == 1  # the evidence: when and how long

    # the proctor opens a case from the flag: the form is filled from it
    flag.locator("[data-testid=open-case]").click()
    expect(proctor.locator("[data-testid=from-flag]")).to_be_visible()
    assert "离开考试窗口" in proctor.locator("[data-testid=facts]").input_value()
    assert proctor.locator("input[name=category][value=rule_breach]").is_checked()
    person = proctor.locator("[data-testid=person] option:checked").inner_text()
    assert ticket in person
    proctor.click("[data-testid=submit-incident]")
    assert proctor.locator("[data-testid=status]").inner_text() == "已登记"
    assert "离开考试窗口 1 次" in proctor.locator("[data-testid=evidence]").inner_text()
    case_url = proctor.url
    proctor.goto(dashboard)
    expect(proctor.locator("[data-testid=flag][data-kind=focus_lost] a", has_text="已立案")).to_be_visible(timeout=10000)
    expect(seat.locator("[data-testid=flag-badge]")).to_have_text("⚑ 1")

    cand = _as(browser, base, username)
    _through_decision(browser, base, db_path, case_url, cand, applied="第五条第（四）项")
    # the candidate never received a flag: the exam page has no trace of one
    assert page.locator("[data-testid=flag]").count() == 0
    ctx.close()
