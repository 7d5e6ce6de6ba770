"""A candidate in headless Chromium: login → answers → reload → still there → 2 minutes offline while answering →
back online → all synced → submit; and a proctor page that watches it happen."""
from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest

from ...served import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(served_demo):
    s = served_demo("delivery")
    m = re.search(r"access code (\w+)\s+e\.g\. ticket (\d+)\s+ID (\w+)", s.demo_output)
    assert m, s.demo_output[-2000:]
    return {"url": s.base, "code": m.group(1), "ticket": m.group(2), "idn": m.group(3), "db_path": s.db_path}


def test_candidate_survives_reload_and_two_minutes_offline_and_the_proctor_sees_it(served, browser):
    from playwright.sync_api import expect
    base = served["url"]
    # the proctor opens the room's live dashboard
    pp = sign_in(browser, base, "proctor")
    pp.goto(base + "/proctor")
    pp.click(f"tr:has-text('{served['code']}') a >> nth=0")
    expect(pp.locator("#live.on")).to_be_visible(timeout=15000)
    seat = pp.locator(f".seatcell[data-ticket='{served['ticket']}']")
    expect(seat).to_have_attribute("data-state", "absent")

    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base + "/exam")
    page.fill("input[name=ticket_number]", served["ticket"])
    page.fill("input[name=id_number]", served["idn"])
    page.fill("input[name=access_code]", served["code"])
    page.click("button[type=submit]")
    expect(page.locator("#screen-identity")).to_be_visible()
    expect(page.locator("#id-ticket")).to_have_text(served["ticket"])
    page.click("#confirm-identity")
    expect(page.locator("#screen-wait")).to_be_visible()
    expect(page.locator("#start")).to_be_disabled()
    pp.click("#open-session")
    expect(page.locator("#start")).to_be_enabled(timeout=10000)
    page.click("#start")
    expect(page.locator("#screen-exam")).to_be_visible()
    expect(seat).to_have_attribute("data-state", "answering", timeout=10000)

    def answer(n: int) -> None:
        """Answer question n (1-based) with its first option or a fill-in text."""
        page.locator("#grid button").nth(n - 1).click()
        if page.locator("#q-answer input.blank").count():
            page.locator("#q-answer input.blank").first.fill(f"答{n}")
            page.locator("#q-answer input.blank").first.press("Tab")
        else:
            page.locator("#q-answer label.opt").first.click()

    for n in (1, 2, 3):
        answer(n)
        expect(page.locator("#q-status")).to_have_text(re.compile(r"(已保存|Saved) \d\d:\d\d:\d\d"), timeout=5000)
    expect(seat.locator(".prog")).to_have_text("3/10", timeout=10000)

    page.reload()
    expect(page.locator("#screen-exam")).to_be_visible()
    expect(page.locator("#count-answered")).to_have_text("3")
    page.locator("#grid button").nth(0).click()
    expect(page.locator("#q-answer input:checked")).to_have_count(1)

    # offline for two minutes while answering
    ctx.set_offline(True)
    t0 = time.monotonic()
    expect(page.locator("#offline-banner")).to_be_visible(timeout=5000)
    assert time.monotonic() - t0 < 5.5
    for n in range(4, 9):
        answer(n)
    expect(page.locator("#count-pending")).to_have_text("5")
    expect(seat).to_have_attribute("data-state", "offline", timeout=30000)
    time.sleep(max(0.0, 120 - (time.monotonic() - t0)))
    ctx.set_offline(False)
    expect(page.locator("#offline-banner")).to_be_hidden(timeout=30000)
    expect(page.locator("#count-pending")).to_have_text("0", timeout=30000)
    expect(seat.locator(".prog")).to_have_text("8/10", timeout=15000)
    expect(seat).to_have_attribute("data-state", "answering", timeout=15000)

    # submit after the confirmation that lists the unanswered items
    page.click("#submit")
    expect(page.locator("#confirm-unanswered")).to_have_text("9, 10")
    page.click("#confirm-submit")
    expect(page.locator("#screen-done")).to_be_visible(timeout=10000)
    expect(page.locator("#done-score")).to_be_hidden()
    expect(seat).to_have_attribute("data-state", "submitted", timeout=10000)

    ctx.close()
    pp.context.close()
    con = sqlite3.connect(str(served["db_path"]))
    row = con.execute("select a.status, a.submit_reason, (select count(*) from answer n where n.attempt_id=a.id "
                      "and n.answered=1), (select count(*) from answer_change c where c.attempt_id=a.id) from attempt a "
                      "join registration r on r.person_id=a.person_id where r.ticket_number=? "
                      "order by a.id desc limit 1",  # this sitting's attempt (the demo holds an earlier one)
                      (served["ticket"],)).fetchone()
    assert row == ("submitted", "candidate", 8, 8), json.dumps(row)
