"""Certificates in a real headless Chromium against the served demo (`skillcert init && skillcert demo && serve`).

- The public verification page (the QR target) with masked data and both statuses.
- Issue #7's end-to-end flow: three examiners mark a candidate's practical task on the tablet pages, their marks
  spread wider than the task's threshold, the lead examiner adjudicates, the agency computes and submits the
  results, the centre's auditor approves the batch, the agency issues the certificates, the candidate downloads
  the PDF, and the QR code decoded from that PDF opens the verification page showing 有效 (valid).
"""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess

import pytest

from tests.served import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TABLET = {"width": 1024, "height": 1366}  # examiners mark on a tablet (portrait)


@pytest.fixture(scope="module")
def served(served_demo):
    return served_demo("certification")


@pytest.fixture(scope="module")
def demo_certs(served):
    """The demo's certificates: skill level ones by status, and the special-ability one as 'special'."""
    with sqlite3.connect(served.db_path) as c:
        rows = c.execute("SELECT number, status, data, scheme FROM certificate WHERE source_plan_id IS NULL "
                         "ORDER BY id").fetchall()
    out = {status: (number, json.loads(data)) for number, status, data, scheme in rows if scheme != "special"}
    out["special"] = next((number, json.loads(data)) for number, _, data, scheme in rows if scheme == "special")
    return out


def test_qr_target_shows_masked_data_and_status(served, demo_certs, browser):
    base = served.base
    page = browser.new_context().new_page()
    number, data = demo_certs["valid"]
    page.goto(f"{base}/verify/{number}")
    result = page.get_by_test_id("verify-result")
    assert result.get_attribute("data-status") == "valid"
    assert page.get_by_test_id("cert-status").inner_text().startswith("有效")
    assert page.get_by_test_id("cert-number").inner_text() == number
    assert page.get_by_test_id("cert-name").inner_text() == data["name"]
    full = data["id_number"]
    assert page.get_by_test_id("cert-id").inner_text() == full[:6] + "********" + full[-4:]
    assert full not in page.content()

    revoked, _ = demo_certs["revoked"]
    page.goto(f"{base}/verify")  # the form, as a person holding the paper certificate would use it
    page.fill("input[name=no]", revoked)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/verify/{revoked}")
    assert page.get_by_test_id("verify-result").get_attribute("data-status") == "revoked"
    assert "2026-09-15" in page.get_by_test_id("cert-status").inner_text()
    assert page.get_by_test_id("cert-revoked-on").inner_text() == "2026-09-15"

    special, data = demo_certs["special"]  # a special-ability certificate: 15 digits, a project, no level
    page.goto(f"{base}/verify")
    page.fill("input[name=no]", special)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/verify/{special}")
    assert page.get_by_test_id("verify-result").get_attribute("data-status") == "valid"
    assert page.get_by_test_id("cert-kind").inner_text() == "专项职业能力证书"
    assert page.get_by_test_id("cert-project").inner_text() == data["project_name"] == "轴类零件车削"
    assert page.get_by_test_id("cert-level").count() == 0
    page.context.close()


# --- issue #7: mark, adjudicate, audit, certify, download, verify by QR -----------------------------------------

def _flash_ok(page) -> str:
    page.locator(".flash").first.wait_for()
    errors = page.locator(".flash.error")
    assert errors.count() == 0, errors.first.inner_text()
    return page.locator(".flash.ok").first.inner_text()


def _sheet(browser, base, username, plan_title, ticket):
    """An examiner's tablet: the marking index → the plan's task → the candidate's rubric sheet."""
    page = sign_in(browser, base, username, viewport=TABLET)
    page.goto(base + "/marking/")
    page.locator(".task-row", has_text=plan_title).locator("a[data-task]").click()
    page.locator("a.cand", has_text=ticket).click()
    page.get_by_test_id("sheet").wait_for()
    return page


def _sign(page, deductions: dict[str, int]) -> None:
    form = page.get_by_test_id("sheet")
    for name, count in deductions.items():
        form.locator(f"input[name={name}]").fill(str(count))
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button[type=submit]").click()
    assert _flash_ok(page) == "评分已签名。"


def _qr_payloads(pdf_path, tmp_path) -> list[str]:
    import zxingcpp
    from PIL import Image
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is needed to render the certificate"
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf_path),
                    str(tmp_path / "page")], check=True, capture_output=True)
    with Image.open(tmp_path / "page.png") as img:
        return [b.text for b in zxingcpp.read_barcodes(img.convert("L")) if b.format == zxingcpp.BarcodeFormat.QRCode]


def test_panel_marks_lead_adjudicates_centre_approves_candidate_verifies_certificate_by_qr(served, browser,
                                                                                        tmp_path):
    base = served.base
    m = re.search(r"Practical marking \(marking\): (.+?) — .*? ticket (\S+) \((cand\d+)\).*?/marking/plans/(\d+)",
                  served.demo_output)
    assert m, "the marking demo step did not announce its plan"
    plan_title, ticket, username, plan_id = m.group(1), m.group(2), m.group(3), int(m.group(4))

    # 1. three examiners mark independently (blind until the whole panel has signed): 100, 97, 86 → spread 14 > 10
    e1 = _sheet(browser, base, "examiner", plan_title, ticket)
    assert e1.get_by_test_id("blind").is_visible()
    _sign(e1, {})
    assert "100 / 100" in e1.get_by_test_id("my-mark").inner_text()

    e2 = _sheet(browser, base, "examiner2", plan_title, ticket)
    assert e2.get_by_test_id("blind").is_visible() and e2.get_by_test_id("panel-marks").count() == 0
    _sign(e2, {"d_0_0": 1})                         # one diameter 0.01 mm out: −3
    assert e2.get_by_test_id("panel-marks").count() == 0  # examiner4 has not signed: still blind

    e4 = _sheet(browser, base, "examiner4", plan_title, ticket)
    _sign(e4, {"d_0_1": 1, "d_2_0": 1})             # a diameter >0.02 mm out (−10), roughness one grade (−4)
    assert [x.inner_text() for x in e4.locator("[data-testid=panel-marks] .mark").all()] == ["100", "97", "86"]
    outcome = e4.get_by_test_id("outcome")
    assert outcome.get_attribute("data-status") == "needs_adjudication" and "待主考评员仲裁" in outcome.inner_text()
    registration_id = int(re.search(r"/candidates/(\d+)", e4.url).group(1))
    for p in (e1, e2, e4):
        p.context.close()

    # 2. the lead examiner adjudicates with a reason
    lead = sign_in(browser, base, "examiner", viewport=TABLET)
    lead.goto(base + "/marking/")
    lead.get_by_test_id("adjudication-link").click()
    form = lead.locator(f"form[data-reg='{registration_id}']")
    assert [x.inner_text() for x in form.locator(".mark").all()] == ["100", "97", "86"]
    form.locator("input[name=final_mark]").fill("95")
    form.locator("textarea[name=reason]").fill("复核工件：φ40 外圆实测超差 0.012 mm，按超差0.01 mm 扣3分；粗糙度合格。")
    form.locator("button[type=submit]").click()
    _flash_ok(lead)
    assert lead.locator(f"form[data-reg='{registration_id}']").count() == 0
    lead.context.close()

    # 3. the agency computes the results and submits them to the centre
    agency = sign_in(browser, base, "agency")
    agency.goto(f"{base}/marking/plans/{plan_id}")
    agency.locator("form:has(input[name=action][value=compute]) button[type=submit]").click()
    _flash_ok(agency)
    row = agency.get_by_test_id("results").locator("tr", has_text=ticket)
    cells = [c.inner_text() for c in row.locator("td").all()]
    assert cells[2:4] == ["100", "95"], cells           # theory, practical (the lead's adjudicated mark)
    assert cells[4].startswith("合格"), cells
    agency.locator("form:has(input[name=action][value=submit]) button[type=submit]").click()
    _flash_ok(agency)
    assert "submitted" in agency.get_by_test_id("batch-status").inner_text()
    assert agency.locator("form:has(input[name=action][value=certify])").count() == 0  # not before approval

    # 4. the centre's auditor approves the batch
    auditor = sign_in(browser, base, "auditor")
    auditor.goto(base + "/marking/batches")
    auditor.locator("tr", has_text=plan_title).locator("a").first.click()
    assert auditor.get_by_test_id("batch-status").inner_text() == "submitted"
    assert auditor.locator("tr", has_text=ticket).locator("td").nth(2).inner_text().startswith("合格")
    auditor.locator("button[name=decision][value=approve]").click()
    assert _flash_ok(auditor) == "成绩批次已审核通过。"
    assert auditor.get_by_test_id("batch-status").inner_text() == "approved"
    auditor.context.close()

    # 5. the agency issues the certificates of the approved batch
    agency.goto(f"{base}/marking/plans/{plan_id}")
    agency.locator("form:has(input[name=action][value=certify]) button[type=submit]").click()
    assert _flash_ok(agency).startswith("已发证")
    agency.context.close()

    # 6. the candidate downloads the certificate PDF
    cand = sign_in(browser, base, username)
    cand.goto(base + "/certificates/mine")
    rows = cand.get_by_test_id("my-certificates").locator("tr[data-number]")
    assert rows.count() == 1
    number = rows.first.get_attribute("data-number")
    with cand.expect_download() as dl:
        rows.first.get_by_role("link", name="PDF").click()
    pdf = tmp_path / "certificate.pdf"
    dl.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
        assert number in text.replace(" ", "")

    # 7. the QR code in the PDF encodes the address that verifies it
    payloads = _qr_payloads(pdf, tmp_path)
    assert payloads == [f"{base}/verify/{number}"], payloads
    cand.context.close()
    anyone = browser.new_context().new_page()  # the public: no sign-in
    anyone.goto(payloads[0])
    result = anyone.get_by_test_id("verify-result")
    assert result.get_attribute("data-status") == "valid" and result.get_attribute("data-signature") == "valid"
    assert anyone.get_by_test_id("cert-status").inner_text().startswith("有效")
    assert anyone.get_by_test_id("cert-number").inner_text() == number
    assert anyone.get_by_test_id("cert-level").inner_text().startswith("四级")
    anyone.context.close()
