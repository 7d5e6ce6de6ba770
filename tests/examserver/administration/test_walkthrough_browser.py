"""As a new user would (issue #4): the demo agency admin, in a real Chromium against the served app, creates
a plan 14 working days ahead, imports the 60 candidates (a barred person in the file is refused), files it on
time, seats everyone in the two theory rooms with forms A/B alternating, assigns proctors, a chief and an
examiner panel, draws a supervisor, and downloads the admission tickets; the centre auditor approves."""
from __future__ import annotations

import datetime as dt
import io
import pathlib
import subprocess

import pytest
from openpyxl import load_workbook

from ...served import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(served_demo):
    s = served_demo("administration")
    return s.base, s.data


def _login(browser, base, username):
    page = sign_in(browser, base, username)  # contexts accept downloads by default
    return page.context, page


def _option(page, select: str, text: str) -> str:
    return page.locator(f"{select} option", has_text=text).first.get_attribute("value")


def _submit(page, selector: str) -> None:
    """Click a submit button and wait for the page it posts to (POST, redirect, GET)."""
    with page.expect_navigation():
        page.locator(selector).first.click()


def _flash(page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def _banned_person(data_dir) -> tuple[str, str]:
    import sqlalchemy as sa
    eng = sa.create_engine(f"sqlite:///{data_dir / 'skillcert.db'}")
    with eng.connect() as c:
        row = c.execute(sa.text("select name, id_number from person where name = '宋立军'")).one()
    eng.dispose()
    return row[0], row[1]


def test_agency_admin_walkthrough(served, browser, tmp_path):
    base, data = served
    ctx, page = _login(browser, base, "agency")

    # 1. a new plan, 14 working days ahead (the form suggests that day), theory + practical sessions
    page.click("nav.main-nav >> text=认定计划")
    page.wait_for_selector("[data-testid=plans-page]")
    first_day = page.input_value("form[data-testid=new-plan] input[name=first_day]")
    page.select_option("select[name=scope_id]", _option(page, "select[name=scope_id]", "—— · 四级"))
    second_day = (dt.date.fromisoformat(first_day) + dt.timedelta(days=1)).isoformat()
    page.fill("form[data-testid=new-plan] input[name=last_day]", second_day)
    page.fill("input[name=title]", "车工四级 第二批（演示）")
    _submit(page, "form[data-testid=new-plan] button[type=submit]")
    page.wait_for_selector("[data-testid=plan-title]")
    assert "草稿" in page.inner_text("[data-testid=plan-status]")
    plan_url = page.url

    form = "form[data-testid=add-session]"
    page.fill(f"{form} input[name=starts]", "14:00")
    page.fill(f"{form} input[name=ends]", "15:30")
    for label in ("301", "302"):
        page.locator(f"{form} label.check", has_text=label).locator("input").check()
    _submit(page, f"{form} button[type=submit]")
    assert "场次已添加" in _flash(page), _flash(page)
    page.select_option(f"{form} select[name=subject]", "practical")
    page.fill(f"{form} input[name=day]", second_day)  # the workshop is busy with the demo plan on day one
    page.fill(f"{form} input[name=starts]", "09:00")
    page.fill(f"{form} input[name=ends]", "12:00")
    page.locator(f"{form} label.check", has_text="实训车间").locator("input").check()
    page.fill(f"{form} input[name=forms]", "A")
    page.fill(f"{form} textarea[name=tasks]", "轴类零件加工")
    _submit(page, f"{form} button[type=submit]")
    assert "场次已添加" in _flash(page), _flash(page)
    assert page.locator("[data-testid=sessions] tbody tr").count() == 2

    # 2. import the 60 candidates from the agency's list, plus one barred person
    page.click("nav.tabs >> text=人员名册")
    with page.expect_download() as dl:
        page.click("[data-testid=filled-template]")
    wb = load_workbook(io.BytesIO(pathlib.Path(dl.value.path()).read_bytes()))
    ws = wb.active
    assert ws.max_row == 61
    name, idn = _banned_person(data)
    ws.append([name, "居民身份证", idn, "", ""])
    upload = tmp_path / "考生.xlsx"
    wb.save(upload)
    page.set_input_files("form[data-testid=import-form] input[type=file]", str(upload))
    _submit(page, "form[data-testid=import-form] button[type=submit]")
    page.wait_for_selector("[data-testid=import-result]")
    assert "成功报名 60 人" in _flash(page)
    refused = page.inner_text("[data-testid=import-result]")
    assert name in refused and "禁考" in refused and "指引第六条" in refused
    assert page.locator("[data-testid=roster] tbody tr").count() == 60

    # 3. file with the centre: 13 working days lie between today and the first day, so it is on time
    page.goto(plan_url)
    _submit(page, "form[data-testid=action-file] button")
    assert "已报备" in page.inner_text("[data-testid=plan-status]"), _flash(page)
    assert "逾期" not in page.inner_text("[data-testid=filed-on]")

    # 4. seat at random in the two rooms: 30 + 30, A/B alternating, neighbours differ
    page.click("nav.tabs >> text=考场编排")
    _submit(page, "form[data-testid=seat-form] button")
    assert "已随机编排 60 名考生座位" in _flash(page), _flash(page)
    cells = page.locator(".adm-session").first.locator(".cell[data-form]")
    assert cells.count() == 60
    rooms = page.locator(".adm-session").first.locator("figure.adm-room")
    assert rooms.count() == 2
    for i in range(2):
        chart = {}
        for cell in rooms.nth(i).locator(".cell[data-form]").all():
            chart[(int(cell.get_attribute("data-row")), int(cell.get_attribute("data-col")))] = cell.get_attribute(
                "data-form")
        assert len(chart) == 30 and sorted(set(chart.values())) == ["A", "B"]
        for (r, c), f in chart.items():
            for nb in ((r, c + 1), (r + 1, c)):
                assert chart.get(nb, "-") != f

    # 5. staff: chief + proctor in 301, two proctors in 302, three examiners for the practical task
    page.click("nav.tabs >> text=考务人员")
    af = "form[data-testid=assign-form]"

    def assign(duty, username, session_text, room_text=None, task=None):
        page.select_option(f"{af} select[name=duty]", duty)
        page.select_option(f"{af} select[name=account_id]", _option(page, f"{af} select[name=account_id]",
                                                                    f"({username})"))
        page.select_option(f"{af} select[name=session_id]", _option(page, f"{af} select[name=session_id]",
                                                                    session_text))
        page.select_option(f"{af} select[name=room_id]",
                           _option(page, f"{af} select[name=room_id]", room_text) if room_text else "")
        page.select_option(f"{af} select[name=task]",
                           _option(page, f"{af} select[name=task]", task) if task else "")
        _submit(page, f"{af} button[type=submit]")
        assert "已安排" in _flash(page), _flash(page)

    assign("chief_proctor", "chief", "理论", "301")
    assign("proctor", "proctor", "理论", "301")
    assign("proctor", "proctor2", "理论", "302")
    assign("proctor", "proctor3", "理论", "302")
    for u in ("examiner", "examiner2", "examiner4"):
        assign("examiner", u, "操作", task="轴类零件加工")
    problems = page.inner_text("[data-testid=staff-problems]")
    assert "督导" in problems and "监考" not in problems

    # 6. draw the supervisor: seed, pool and the re-run check are shown
    _submit(page, "form[data-testid=draw-form] button")
    assert "已抽取质量督导员" in _flash(page), _flash(page)
    assert page.locator("[data-testid=staff-ready]").count() == 1
    draw = page.inner_text("[data-testid=draw]")
    assert "按种子复算结果一致" in draw
    assert page.inner_text("[data-testid=supervisor-cell]").strip()

    # 7. the tickets, all 60 in one PDF
    with page.expect_download() as dl:
        page.click("[data-testid=tickets-batch]")
    pdf = pathlib.Path(dl.value.path())
    assert pdf.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(next(x.split()[-1] for x in info.splitlines() if x.startswith("Pages:"))) == 60
    ctx.close()

    # 8. the centre auditor approves: pass marks are now fixed
    ctx, page = _login(browser, base, "auditor")
    page.goto(plan_url)
    _submit(page, "form[data-testid=action-approve] button")
    assert "已审核" in page.inner_text("[data-testid=plan-status]")
    ctx.close()

    # and the candidate finds the ticket on their page
    ctx, page = _login(browser, base, "cand001")
    page.click("nav.main-nav >> text=我的考试")
    assert page.locator("text=车工四级 第二批（演示）").count() == 1
    with page.expect_download() as dl:
        page.locator("tr", has_text="车工四级 第二批（演示）").locator("a.button").click()
    assert pathlib.Path(dl.value.path()).read_bytes().startswith(b"%PDF-")
    ctx.close()
    assert first_day  # the suggested first day was used
