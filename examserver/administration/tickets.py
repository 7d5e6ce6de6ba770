"""Admission tickets (准考证) as PDF: one A4 page per candidate, or all of a plan in one file for printing.

A ticket shows the photo (a framed box when there is none), name, masked ID number, occupation, work type
("——" when absent), level, the candidate's sessions with room, seat and times, and the rules of the room.
The session access code is *not* printed: proctors give it out in the room.

Chinese is set in reportlab's built-in CID font ``STSong-Light`` (no font file needed).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io
from collections.abc import Sequence

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from itembank.core.idcard import ID_TYPES, mask_id_number
from itembank.core.reference import LEVELS

from .models import SUBJECTS

FONT = "STSong-Light"
PAGE_W, PAGE_H = A4
PHOTO_W, PHOTO_H = 25 * mm, 35 * mm
FAINT = Color(0.45, 0.45, 0.45)

#: 考场规则 printed on every ticket; the cancellations follow 技能人才评价违纪违规行为处理工作指引 (seed 003,
#: 人社职司便函〔2021〕57号) art. 5–7; identity checks follow 河南…管理办法 art. 34(4).
ROOM_RULES = (
    "1. 考生凭本准考证和有效身份证件（与报名证件一致）入场，于开考前30分钟到达考场，接受身份核验。",
    "2. 开考15分钟后不得入场；理论考试在计算机上进行，按座位号就座，使用本座位分配的试卷。",
    "3. 手机、智能手表等具有拍照、存储、传输、通讯功能的设备须关闭并存放于指定位置，不得带至座位。",
    "4. 经警告仍违反考场纪律的，取消该科目本次成绩（指引第五条）。",
    "5. 使用通讯设备、抄袭或协助抄袭、将试题或答案带出考场的，取消本次全部科目成绩，当年不得再参加评价（指引第六条）。",
    "6. 替考、提前获取试题、组织作弊等，取消全部科目成绩，2至5年内不得参加评价（指引第七条）。",
    "7. 考试结束前不得离开座位；交卷后立即离场，不得在考场附近逗留喧哗。",
)


@dataclasses.dataclass(frozen=True)
class TicketSession:
    subject: str
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    room: str
    seat_no: int | None


@dataclasses.dataclass(frozen=True)
class TicketData:
    ticket_number: str
    name: str
    id_type: str
    id_number: str
    occupation: str
    work_type: str | None
    level: int
    agency: str
    site: str
    address: str
    plan_title: str
    sessions: tuple[TicketSession, ...]
    photo: bytes | None = None


def ticket_data(reg, seats_by_session: dict[int, object]) -> TicketData:
    """Plain data for one registration; ``seats_by_session`` maps session id → SeatAssignment of this candidate."""
    plan, person = reg.plan, reg.person
    sessions = []
    for se in plan.sessions:
        seat = seats_by_session.get(se.id)
        room = seat.room.name if seat is not None else "、".join(r.room.name for r in se.rooms)
        sessions.append(TicketSession(se.subject.subject, se.name, se.starts_at, se.ends_at, room,
                                      seat.seat_no if seat is not None else None))
    return TicketData(reg.ticket_number, person.name, person.id_type, person.id_number,
                      f"{plan.occupation.name}（{plan.occupation.code}）", plan.work_type.name if plan.work_type else None,
                      plan.level, plan.agency.name, plan.site.name, plan.site.address, plan.title, tuple(sessions),
                      person.photo)


def _font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _draw(c: Canvas, t: TicketData) -> None:
    left, right, top = 20 * mm, PAGE_W - 20 * mm, PAGE_H - 20 * mm
    c.setStrokeColor(black)
    c.setLineWidth(1.5)
    c.rect(left - 5 * mm, 15 * mm, right - left + 10 * mm, top - 10 * mm, stroke=1, fill=0)
    c.setFont(FONT, 20)
    c.drawCentredString(PAGE_W / 2, top - 12 * mm, "职业技能等级认定 准考证")
    c.setFont(FONT, 11)
    c.setFillColor(FAINT)
    c.drawCentredString(PAGE_W / 2, top - 19 * mm, t.plan_title)
    c.setFillColor(black)

    # photo box, top right
    px, py = right - PHOTO_W, top - 27 * mm - PHOTO_H
    drawn = False
    if t.photo:
        try:
            c.drawImage(ImageReader(io.BytesIO(t.photo)), px, py, PHOTO_W, PHOTO_H, preserveAspectRatio=True,
                        anchor="c")
            drawn = True
        except Exception:  # noqa: BLE001 - an unreadable photo falls back to the framed box
            drawn = False
    c.setLineWidth(0.8)
    c.rect(px, py, PHOTO_W, PHOTO_H, stroke=1, fill=0)
    if not drawn:
        c.setFont(FONT, 9)
        c.setFillColor(FAINT)
        c.drawCentredString(px + PHOTO_W / 2, py + PHOTO_H / 2 + 2 * mm, "照片")
        c.drawCentredString(px + PHOTO_W / 2, py + PHOTO_H / 2 - 3 * mm, "（一寸免冠）")
        c.setFillColor(black)

    facts = [
        ("准考证号", t.ticket_number),
        ("姓    名", t.name),
        ("证件类型", ID_TYPES.get(t.id_type, (t.id_type,))[0]),
        ("证件号码", mask_id_number(t.id_number)),
        ("职    业", t.occupation),
        ("工    种", t.work_type or "——"),
        ("等    级", LEVELS[t.level][0]),
        ("评价机构", t.agency),
        ("考    点", t.site),
        ("地    址", t.address or "——"),
    ]
    y = top - 30 * mm
    for label, value in facts:
        c.setFont(FONT, 11)
        c.setFillColor(FAINT)
        c.drawString(left, y, label)
        c.setFillColor(black)
        c.setFont(FONT, 13 if label == "准考证号" else 12)
        c.drawString(left + 24 * mm, y, value)
        y -= 8 * mm

    # sessions table
    y -= 4 * mm
    cols = [left, left + 32 * mm, left + 92 * mm, left + 150 * mm]
    c.setFont(FONT, 11)
    for x, h in zip(cols, ("科目", "时间", "考场", "座位号")):
        c.drawString(x, y, h)
    c.line(left, y - 2 * mm, right, y - 2 * mm)
    y -= 8 * mm
    for se in t.sessions:
        c.setFont(FONT, 10.5)
        c.drawString(cols[0], y, SUBJECTS.get(se.subject, (se.subject,))[0])
        c.drawString(cols[1], y, f"{se.starts_at:%Y-%m-%d %H:%M}–{se.ends_at:%H:%M}")
        room = se.room if len(se.room) <= 24 else se.room[:23] + "…"
        c.drawString(cols[2], y, room)
        c.drawString(cols[3], y, f"{se.seat_no:02d}" if se.seat_no else "现场安排")
        y -= 7 * mm
    c.line(left, y + 3 * mm, right, y + 3 * mm)

    # rules
    y -= 6 * mm
    c.setFont(FONT, 12)
    c.drawString(left, y, "考场规则")
    y -= 7 * mm
    c.setFont(FONT, 9.5)
    width = right - left
    for rule in ROOM_RULES:
        for line in _wrap(rule, width, 9.5):
            c.drawString(left, y, line)
            y -= 5.2 * mm
    c.setFont(FONT, 9)
    c.setFillColor(FAINT)
    c.drawString(left, 20 * mm, "本准考证须与有效身份证件同时使用；照片须与本人相符。")
    c.setFillColor(black)


def _wrap(text: str, width: float, size: float) -> list[str]:
    lines, cur = [], ""
    for ch in text:
        if pdfmetrics.stringWidth(cur + ch, FONT, size) > width:
            lines.append(cur)
            cur = "  " + ch
        else:
            cur += ch
    if cur:
        lines.append(cur)
    return lines


def render_tickets_pdf(tickets: Sequence[TicketData]) -> bytes:
    """One page per ticket, in the order given."""
    if not tickets:
        raise ValueError("no tickets to render")
    _font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True)
    c.setTitle("准考证" if len(tickets) > 1 else f"准考证 {tickets[0].ticket_number}")
    c.setAuthor(tickets[0].agency)
    for t in tickets:
        _draw(c, t)
        c.showPage()
    c.save()
    return buf.getvalue()
