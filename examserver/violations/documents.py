"""The written documents of a violation case, as PDF (指引 art. 17, 19).

* 违纪违规行为处理告知书 (notice): the intended decision with facts, reasons and basis, and the deadline for a
  statement (陈述申辩), before any decision (art. 17 (1)).
* 违纪违规行为处理决定书 (decision): written and delivered (art. 17 (2)); tells how to ask for review (art. 19).
* 违纪违规行为复核决定书 (review decision, art. 19).

Chinese is set in reportlab's built-in CID font ``STSong-Light`` (no font file needed). The rendering is
deterministic for the same input (fixed creation date, no random ids), so a stored PDF can be rebuilt and
compared.
"""
from __future__ import annotations

import datetime as dt
import io
from typing import Any

from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

CJK_FONT = "STSong-Light"
TITLES = {
    "notice": "技能人才评价违纪违规行为处理告知书",
    "decision": "技能人才评价违纪违规行为处理决定书",
    "review": "技能人才评价违纪违规行为复核决定书",
}
_registered = False


def _font() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=CJK_FONT, fontSize=11.5, leading=19, wordWrap="CJK", firstLineIndent=23)
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=26, alignment=TA_CENTER, firstLineIndent=0,
                                spaceAfter=4),
        "number": ParagraphStyle("number", parent=base, alignment=TA_CENTER, firstLineIndent=0, fontSize=10.5),
        "to": ParagraphStyle("to", parent=base, firstLineIndent=0, spaceBefore=10),
        "body": base,
        "head": ParagraphStyle("head", parent=base, firstLineIndent=0, spaceBefore=6, fontSize=12),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT, firstLineIndent=0),
        "small": ParagraphStyle("small", parent=base, fontSize=9, leading=13, firstLineIndent=0),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text or "").replace("\n", "<br/>"), style)


def render_document(doc: dict[str, Any]) -> bytes:
    """Render one case document. ``doc`` keys: kind, number, case_number, to (name), id_masked, agency,
    occurred_at, place, facts, reasons, basis, decision (text of the intended/actual decision), deadline
    (datetime or None), review_days (int, decision only), outcome_text (review), issued_at, issuer,
    signatures (list of "name（role）"), statements (list of (filed_at, text))."""
    _font()
    st = _styles()
    buf = io.BytesIO()
    pdf = SimpleDocTemplate(buf, pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm, topMargin=22 * mm,
                            bottomMargin=20 * mm, title=f"{TITLES[doc['kind']]} {doc['number']}",
                            author=doc["agency"], creator="SkillCert", invariant=1)
    kind = doc["kind"]
    flow = [_p(doc["agency"], st["number"]), _p(TITLES[kind], st["title"]), _p(doc["number"], st["number"]),
            _p(f"{doc['to']}（证件号码 {doc['id_masked']}）：" if doc.get("id_masked") else f"{doc['to']}：", st["to"])]
    when = doc["occurred_at"].strftime("%Y年%m月%d日 %H:%M")
    if kind == "notice":
        flow.append(_p(f"经查，你于{when}在{doc['place']}有下列行为（案件编号 {doc['case_number']}）：", st["body"]))
    elif kind == "decision":
        flow.append(_p(f"经查，你于{when}在{doc['place']}有下列行为（案件编号 {doc['case_number']}），"
                       "本机构已于作出本决定前依法告知你拟作出的处理决定及事实、理由和依据。", st["body"]))
    else:
        flow.append(_p(f"你对本机构作出的处理决定（案件编号 {doc['case_number']}）提出复核申请。本机构经复核，现决定如下。", st["body"]))
    flow += [_p("一、违纪违规事实", st["head"]), _p(doc["facts"], st["body"])]
    if doc.get("signatures"):
        flow.append(_p("以上事实经工作人员 " + "、".join(doc["signatures"]) + " 签字，并经考场负责人确认（指引第十六条）。",
                       st["body"]))
    flow += [_p("二、理由", st["head"]), _p(doc["reasons"], st["body"]),
             _p("三、依据", st["head"]), _p(doc["basis"], st["body"])]
    if kind == "notice":
        flow += [_p("四、拟作出的处理决定", st["head"]), _p(doc["decision"], st["body"]),
                 _p("五、陈述和申辩", st["head"]),
                 _p(f"根据《技能人才评价违纪违规行为处理工作指引（试行）》第十七条、第十九条，你有权进行陈述和申辩。"
                    f"请于 {doc['deadline']:%Y年%m月%d日 %H:%M} 前登录考生服务平台“我的违纪违规案件”提交书面陈述申辩；"
                    "逾期未提交的，视为放弃陈述和申辩的权利。", st["body"])]
    elif kind == "decision":
        if doc.get("statements"):
            flow.append(_p("四、当事人陈述申辩及采纳情况", st["head"]))
            for at, text in doc["statements"]:
                flow.append(_p(f"{at:%Y年%m月%d日}：{text}", st["body"]))
            flow.append(_p(doc.get("statement_response") or "经审查，当事人的陈述申辩不足以改变上述事实认定。", st["body"]))
        flow += [_p("五、处理决定" if doc.get("statements") else "四、处理决定", st["head"]), _p(doc["decision"], st["body"])]
        if doc.get("deadline"):
            flow.append(_p(f"如对本决定有异议，可于 {doc['deadline']:%Y年%m月%d日} 前通过考生服务平台向本机构提出复核申请"
                           "（指引第十九条）。", st["body"]))
    else:
        flow += [_p("四、复核结论", st["head"]), _p(doc["decision"], st["body"])]
    flow += [Spacer(1, 14 * mm), _p(doc["issuer"], st["right"]), _p(f"{doc['issued_at']:%Y年%m月%d日}", st["right"]),
             Spacer(1, 8 * mm)]
    tbl = Table([[_p("本文书经考生服务平台电子送达，送达即生效。文书编号可在评价机构核对。", st["small"])]], colWidths=[160 * mm])
    tbl.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.5, "#888888"), ("LEFTPADDING", (0, 0), (-1, -1), 6)]))
    flow.append(tbl)
    pdf.build(flow)
    return buf.getvalue()


def fixed_epoch() -> dt.datetime:
    return dt.datetime(2000, 1, 1)
