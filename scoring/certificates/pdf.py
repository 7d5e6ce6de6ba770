"""The printable / downloadable certificate as a PDF (A4 landscape, one page).

Layout follows 职业技能等级证书参考样式 and its 制作说明 (seed 003, 人社鉴发〔2019〕2号 附件2,
repeated in 豫职鉴〔2020〕2号): a thick border (269 mm × 188 mm, 2.25 pt) filling a landscape A4
sheet; the left page has the title (30 pt), the body text (16 pt) with the agency name and issue
date, and the lookup addresses (14 pt in the 2019 note; set at 11 pt here so that both fit the
half-page width); the right page has the photo and a 30 mm × 30 mm QR code at the top and the
holder's details below.

人社鉴发〔2021〕1号 later withdrew that 2019 style (§五(一)) in favour of a bilingual one with the
same content; so the labels here are bilingual as in its 参考样式（一）, the level is printed
"五级/初级工" (§三(一)), the work type "——" when absent, the photo box is 1 inch (25 × 35 mm, §三(一)),
and the fixed text avoids the words §五(二) forbids ("国家", "全国", "中华人民共和国", "职业资格" …).
Seals are not drawn: the agency stamps the paper copy, and the electronic copy is vouched for by
its signature (:mod:`.signing`).

Chinese is set in reportlab's built-in CID font ``STSong-Light`` (no font file needed); Latin text
in Times-Roman.
"""
from __future__ import annotations

import hashlib
import io
import unicodedata

import segno
from reportlab.lib.colors import Color, black, white
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from reportlab.lib.pagesizes import A5

from .numbering import LEVELS
from .signing import CertificateData, SpecialAbilityData, id_type_label

__all__ = ["render_certificate_pdf", "CERTIFICATE_LOOKUP_URL", "AGENCY_LOOKUP_URL", "FORBIDDEN_WORDS",
           "fixed_texts"]

#: Lookup addresses printed on every certificate (人社鉴发〔2019〕2号 附件2; 人社鉴发〔2021〕1号 §二(一)).
#: The agency address is written pjgg in both notices' text (pjjg in the 2021 sample picture).
CERTIFICATE_LOOKUP_URL = "http://jndj.osta.org.cn/"
AGENCY_LOOKUP_URL = "http://pjgg.osta.org.cn/"

#: Words a certificate may not carry (人社鉴发〔2021〕1号 §五(二)).
FORBIDDEN_WORDS = ("中华人民共和国", "中国", "中华", "国家", "全国", "人力资源社会保障部门", "职业技能鉴定中心",
                   "中国就业培训技术指导中心", "职业资格", "资格凭证", "就业凭证", "录用依据")

CJK_FONT = "STSong-Light"
LATIN_FONT = "Times-Roman"
LATIN_BOLD = "Times-Bold"

PAGE_W, PAGE_H = landscape(A4)
BORDER_W, BORDER_H = 269 * mm, 188 * mm
QR_SIZE = 30 * mm
PHOTO_W, PHOTO_H = 25 * mm, 35 * mm
INK = Color(0.12, 0.12, 0.12)
ACCENT = Color(0.55, 0.12, 0.10)
FAINT = Color(0.55, 0.55, 0.55)

TITLE_ZH = "职业技能等级证书"
TITLE_EN = "Certificate of Occupational Skill Level"
BODY_ZH = "本证书由{agency}颁发，表明持证人通过本机构组织的职业技能等级认定，具备该职业（工种）相应技能等级水平。"
BODY_EN = ("This is to certify that the bearer has demonstrated corresponding competency in this "
           "occupation (job) for successful completion of the occupational skill level assessment "
           "organized by {agency}.")
FIELD_LABELS = (
    ("name", "姓名", "Name"),
    ("id_type", "证件类型", "ID Type"),
    ("id_number", "证件号码", "ID No."),
    ("occupation", "职业名称", "Occupation"),
    ("work_type", "工种/职业方向", "Job"),
    ("level", "职业技能等级", "Skill Level"),
    ("certificate_number", "证书编号", "Certificate No."),
)
ISSUED_ZH, ISSUED_EN = "发证日期", "Issued date"
LOOKUP_ZH, LOOKUP_EN = "证书信息查询网址", "Certificate Information"
AGENCY_ZH, AGENCY_EN = "机构信息查询网址", "Assessment Information"
VERIFY_ZH, VERIFY_EN = "扫码验证", "Scan to verify"


def fixed_texts() -> list[str]:
    """Every piece of fixed wording the template prints (for the forbidden-word check)."""
    texts = [TITLE_ZH, TITLE_EN, BODY_ZH, BODY_EN, ISSUED_ZH, ISSUED_EN, LOOKUP_ZH, LOOKUP_EN,
             AGENCY_ZH, AGENCY_EN, VERIFY_ZH, VERIFY_EN]
    texts += [zh for _, zh, _ in FIELD_LABELS] + [en for _, _, en in FIELD_LABELS]
    return texts


_registered = False


def _register_fonts() -> None:
    global _registered
    if not _registered:
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        _registered = True


# --- mixed Chinese/Latin text -------------------------------------------------------------------

def _is_cjk(ch: str) -> bool:
    if ord(ch) < 0x2000:
        return False
    return unicodedata.east_asian_width(ch) in ("W", "F") or ch in "——“”‘’…·"


def _runs(text: str) -> list[tuple[str, bool]]:
    """Split text into (run, is_cjk) pieces."""
    runs: list[tuple[str, bool]] = []
    for ch in text:
        c = _is_cjk(ch)
        if runs and runs[-1][1] == c:
            runs[-1] = (runs[-1][0] + ch, c)
        else:
            runs.append((ch, c))
    return runs


def _width(text: str, size: float, latin: str = LATIN_FONT) -> float:
    return sum(pdfmetrics.stringWidth(r, CJK_FONT if c else latin, size) for r, c in _runs(text))


def _draw(cv: Canvas, x: float, y: float, text: str, size: float, latin: str = LATIN_FONT,
          align: str = "left") -> None:
    if align != "left":
        w = _width(text, size, latin)
        x -= w / 2 if align == "center" else w
    for run, cjk in _runs(text):
        font = CJK_FONT if cjk else latin
        cv.setFont(font, size)
        cv.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)


def _wrap(text: str, size: float, width: float, latin: str = LATIN_FONT, first_indent: float = 0) -> list[str]:
    """Greedy line breaking: anywhere between CJK characters, at spaces in Latin text.

    The first line is ``first_indent`` narrower; no line starts with closing punctuation.
    """
    tokens: list[str] = []
    for ch in text:
        if _is_cjk(ch) or ch == " " or not tokens or _is_cjk(tokens[-1][-1]) or tokens[-1].endswith(" "):
            tokens.append(ch)
        else:
            tokens[-1] += ch
    lines, line = [], ""
    no_start = "，。、；：）》”’!,.;:)"
    for tok in tokens:
        trial = line + tok
        limit = width - (first_indent if not lines else 0)
        if line and _width(trial.rstrip(), size, latin) > limit and tok[0] not in no_start:
            lines.append(line.rstrip())
            line = tok.lstrip()
        else:
            line = trial
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _fit(text: str, size: float, width: float, latin: str = LATIN_FONT, floor: float = 7) -> float:
    """The largest size <= ``size`` at which ``text`` fits on one line of ``width``."""
    while size > floor and _width(text, size, latin) > width:
        size -= 0.5
    return size


# --- pieces -------------------------------------------------------------------------------------

def _qr(cv: Canvas, x: float, y: float, size: float, data: str) -> None:
    """QR code of ``data`` as vector squares filling a ``size`` square (quiet zone included)."""
    qr = segno.make(data, error="m", micro=False)
    matrix = list(qr.matrix_iter(scale=1, border=2))
    n = len(matrix)
    cell = size / n
    cv.saveState()
    cv.setFillColor(white)
    cv.rect(x, y, size, size, stroke=0, fill=1)
    cv.setFillColor(black)
    for r, row in enumerate(matrix):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                cv.rect(x + start * cell, y + size - (r + 1) * cell, (c - start) * cell, cell * 1.02,
                        stroke=0, fill=1)
            else:
                c += 1
    cv.restoreState()


def qr_box() -> tuple[float, float, float]:
    """(x, y, size) in points of the QR code square, origin bottom left (quiet zone included)."""
    bx, by = (PAGE_W - BORDER_W) / 2, (PAGE_H - BORDER_H) / 2
    right_x1 = bx + BORDER_W - 14 * mm
    return right_x1 - 14 * mm - QR_SIZE, by + BORDER_H - 14 * mm - QR_SIZE, QR_SIZE


def _photo_reader(photo: bytes) -> ImageReader:
    if not (photo.startswith(b"\xff\xd8\xff") or photo.startswith(b"\x89PNG\r\n\x1a\n")):
        raise ValueError("photo must be JPEG or PNG bytes")
    try:
        reader = ImageReader(io.BytesIO(photo))
        reader.getSize()
    except Exception as e:  # noqa: BLE001 - any decoder failure means the bytes are not a usable image
        raise ValueError(f"photo cannot be read as an image: {e}") from None
    return reader


def _checked_photo(data, photo: bytes | None) -> ImageReader | None:
    if photo is not None:
        if data.photo_sha256 is not None and hashlib.sha256(photo).hexdigest() != data.photo_sha256:
            raise ValueError("photo does not match the certificate's photo_sha256")
        return _photo_reader(photo)
    if data.photo_sha256 is not None:
        raise ValueError("the certificate names a photo (photo_sha256) but none was given")
    return None


# --- special-ability certificates ------------------------------------------------------------------

SPECIAL_PAGE_W, SPECIAL_PAGE_H = landscape(A5)  # 210 x 148 mm: 证书规格 148×210 (豫人社办函〔2020〕41号 附件2)
SPECIAL_TITLE_ZH = "专项职业能力证书"
SPECIAL_TITLE_EN = "Certificate of Special Vocational Ability"
SPECIAL_RECORD_ZH = "专项职业能力考核记录"
SPECIAL_BODY_ZH = "持证人参加{project}专项职业能力考核，成绩合格，具备从事本专项工作的技能。"
SPECIAL_BODY_EN = ("The bearer passed the special vocational ability assessment of {project} and has the skills "
                   "to do this work.")
SPECIAL_FIELDS = (("name", "姓名", "Name"), ("id_type", "证件类型", "ID Type"), ("id_number", "证件号码", "ID No."),
                  ("certificate_number", "证书编号", "Certificate No."))
SPECIAL_QR = 24 * mm


def special_fixed_texts() -> list[str]:
    texts = [SPECIAL_TITLE_ZH, SPECIAL_TITLE_EN, SPECIAL_RECORD_ZH, SPECIAL_BODY_ZH, SPECIAL_BODY_EN, ISSUED_ZH,
             ISSUED_EN, VERIFY_ZH, VERIFY_EN, "所属职业", "发证机构", "机构代码", "证书查询"]
    return texts + [zh for _, zh, _ in SPECIAL_FIELDS] + [en for _, _, en in SPECIAL_FIELDS]


def _render_special(data: SpecialAbilityData, *, verify_url: str, reader: ImageReader | None) -> bytes:
    """The special-ability certificate after the Henan reference style (豫人社办函〔2020〕41号 附件2): A5 landscape;
    photo and QR code top left, the holder's details below them; on the right the assessment record (project,
    result), the occupation, the agency with its code and the issue date; the lookup address at the foot."""
    W, H = SPECIAL_PAGE_W, SPECIAL_PAGE_H
    buf = io.BytesIO()
    cv = Canvas(buf, pagesize=(W, H), invariant=True, pageCompression=1)
    cv.setTitle(f"{SPECIAL_TITLE_ZH} {data.certificate_number}")
    cv.setAuthor(data.agency)
    cv.setSubject(f"{data.name} {data.project_name}")
    cv.setCreator("SkillCert")
    bx, by, bw, bh = 6 * mm, 6 * mm, W - 12 * mm, H - 12 * mm
    cv.setStrokeColor(ACCENT)
    cv.setLineWidth(2)
    cv.rect(bx, by, bw, bh, stroke=1, fill=0)
    cv.setLineWidth(0.5)
    cv.rect(bx + 2 * mm, by + 2 * mm, bw - 4 * mm, bh - 4 * mm, stroke=1, fill=0)
    top = by + bh
    cv.setFillColor(ACCENT)
    _draw(cv, W / 2, top - 15 * mm, SPECIAL_TITLE_ZH, 22, align="center")
    _draw(cv, W / 2, top - 21 * mm, SPECIAL_TITLE_EN, 11, LATIN_BOLD, align="center")
    cv.setFillColor(INK)

    # left: photo and QR side by side, then the holder's details
    lx0, lx1 = bx + 8 * mm, W / 2 - 2 * mm
    photo_y = top - 28 * mm - PHOTO_H
    if reader is not None:
        cv.drawImage(reader, lx0, photo_y, PHOTO_W, PHOTO_H, preserveAspectRatio=True, anchor="c", mask="auto")
    cv.setStrokeColor(FAINT)
    cv.setLineWidth(0.8)
    cv.rect(lx0, photo_y, PHOTO_W, PHOTO_H, stroke=1, fill=0)
    qr_x, qr_y = lx0 + PHOTO_W + 8 * mm, photo_y + PHOTO_H - SPECIAL_QR
    _qr(cv, qr_x, qr_y, SPECIAL_QR, verify_url)
    cv.setFillColor(FAINT)
    _draw(cv, qr_x + SPECIAL_QR / 2, qr_y - 3.5 * mm, f"{VERIFY_ZH} {VERIFY_EN}", 7, align="center")
    cv.setFillColor(INK)
    values = {"name": data.name, "id_type": id_type_label(data.id_type), "id_number": data.id_number,
              "certificate_number": data.certificate_number}
    label_w = max(_width(zh + "：", 11) for _, zh, _ in SPECIAL_FIELDS)
    vx = lx0 + label_w + 2 * mm
    y = photo_y - 10 * mm
    for key, zh, en in SPECIAL_FIELDS:
        _draw(cv, lx0, y, f"{zh}：", 11)
        cv.setFillColor(FAINT)
        _draw(cv, lx0, y - 3.5 * mm, en, 7)
        cv.setFillColor(INK)
        latin = "Courier-Bold" if key in ("id_number", "certificate_number") else LATIN_FONT
        _draw(cv, vx, y, values[key], _fit(values[key], 11, lx1 - vx, latin), latin)
        cv.setStrokeColor(FAINT)
        cv.setLineWidth(0.3)
        cv.line(vx, y - 1.4 * mm, lx1, y - 1.4 * mm)
        y -= 10 * mm

    # right: the assessment record, occupation, agency and date
    rx0, rx1 = W / 2 + 6 * mm, bx + bw - 8 * mm
    rw = rx1 - rx0
    y = top - 32 * mm
    _draw(cv, (rx0 + rx1) / 2, y, SPECIAL_RECORD_ZH, 14, align="center")
    y -= 9 * mm
    indent = _width("持证", 12)
    for i, line in enumerate(_wrap(SPECIAL_BODY_ZH.format(project=f"“{data.project_name}”"), 12, rw,
                                   first_indent=indent)):
        _draw(cv, rx0 + (indent if i == 0 else 0), y, line, 12)
        y -= 6.5 * mm
    for line in _wrap(SPECIAL_BODY_EN.format(project=data.project_name), 8.5, rw):
        _draw(cv, rx0, y, line, 8.5)
        y -= 4 * mm
    y -= 3 * mm
    occ = f"所属职业：{data.occupation_name}（{data.occupation_code}）"
    _draw(cv, rx0, y, occ, _fit(occ, 11, rw))
    y = by + 40 * mm
    agency = f"发证机构：{data.agency}"
    _draw(cv, rx1, y, agency, _fit(agency, 12, rw), align="right")
    y -= 6 * mm
    _draw(cv, rx1, y, f"机构代码：{data.agency_code}", 10, align="right")
    d = data.issue_date
    y -= 8 * mm
    _draw(cv, rx1, y, f"{ISSUED_ZH}：{d.year}年{d.month}月{d.day}日", 12, align="right")
    y -= 5 * mm
    _draw(cv, rx1, y, f"{ISSUED_EN}: {d.isoformat()}", 9, align="right")
    lookup = f"证书查询：{verify_url}"
    cv.setFillColor(FAINT)
    _draw(cv, rx1, by + 8 * mm, lookup, _fit(lookup, 9, bw - 16 * mm), align="right")
    cv.showPage()
    cv.save()
    return buf.getvalue()


def render_certificate_pdf(data: CertificateData | SpecialAbilityData, *, verify_url: str,
                           photo: bytes | None = None,
                           certificate_lookup_url: str = CERTIFICATE_LOOKUP_URL,
                           agency_lookup_url: str = AGENCY_LOOKUP_URL,
                           print_serial: str | None = None) -> bytes:
    """Render one certificate; returns the PDF bytes.

    A :class:`SpecialAbilityData` is rendered as a special-ability certificate (A5 landscape, see
    :func:`_render_special`).

    Parameters
    ----------
    data : CertificateData or SpecialAbilityData
        What the certificate shows. When ``data.photo_sha256`` is set, ``photo`` must be those bytes.
    verify_url : str
        Encoded in the QR code (the public verification page of this certificate).
    photo : bytes, optional
        JPEG or PNG; a framed blank box is printed when absent.
    certificate_lookup_url, agency_lookup_url : str
        The lookup addresses printed at the foot of the left page.
    print_serial : str, optional
        证书印制流水码 printed as "No.…" (人社鉴发〔2021〕1号 §二(一) allows it).
    """
    if not isinstance(verify_url, str) or not verify_url:
        raise ValueError("verify_url must be a non-empty string")
    reader = _checked_photo(data, photo)
    _register_fonts()
    if isinstance(data, SpecialAbilityData):
        return _render_special(data, verify_url=verify_url, reader=reader)

    buf = io.BytesIO()
    cv = Canvas(buf, pagesize=(PAGE_W, PAGE_H), invariant=True, pageCompression=1)
    cv.setTitle(f"{TITLE_ZH} {data.certificate_number}")
    cv.setAuthor(data.agency)
    cv.setSubject(f"{data.name} {data.occupation_name} {LEVELS[data.level][0]}")
    cv.setCreator("SkillCert")

    # border: 269 x 188 mm, 2.25 pt, centred; a thin inner rule
    bx, by = (PAGE_W - BORDER_W) / 2, (PAGE_H - BORDER_H) / 2
    cv.setStrokeColor(ACCENT)
    cv.setLineWidth(2.25)
    cv.rect(bx, by, BORDER_W, BORDER_H, stroke=1, fill=0)
    cv.setLineWidth(0.6)
    cv.rect(bx + 2.5 * mm, by + 2.5 * mm, BORDER_W - 5 * mm, BORDER_H - 5 * mm, stroke=1, fill=0)
    mid = PAGE_W / 2
    cv.setStrokeColor(FAINT)
    cv.setLineWidth(0.3)
    cv.setDash(2, 3)
    cv.line(mid, by + 12 * mm, mid, by + BORDER_H - 12 * mm)
    cv.setDash()

    top = by + BORDER_H
    cv.setFillColor(INK)

    # ---- left page: title, body, agency and date, lookup addresses
    left_x0, left_x1 = bx + 14 * mm, mid - 12 * mm
    left_c, left_w = (left_x0 + left_x1) / 2, left_x1 - left_x0
    cv.setFillColor(ACCENT)
    _draw(cv, left_c, top - 34 * mm, TITLE_ZH, 30, align="center")
    _draw(cv, left_c, top - 44 * mm, TITLE_EN, 16, LATIN_BOLD, align="center")
    cv.setFillColor(INK)

    # body: 16 pt Chinese and 12 pt English, shrunk together if a long agency name overflows
    y = top - 62 * mm
    room = y - (by + 64 * mm)
    for zh_size in (16, 15, 14, 13, 12, 11, 10):
        en_size = zh_size * 0.75
        indent = _width("本证", zh_size)
        zh_lines = _wrap(BODY_ZH.format(agency=data.agency), zh_size, left_w, first_indent=indent)
        en_lines = _wrap(BODY_EN.format(agency=data.agency), en_size, left_w)
        zh_lead, en_lead = zh_size * 0.53 * mm, en_size * 0.43 * mm
        if len(zh_lines) * zh_lead + mm + len(en_lines) * en_lead <= room:
            break
    for i, line in enumerate(zh_lines):
        _draw(cv, left_x0 + (indent if i == 0 else 0), y, line, zh_size)
        y -= zh_lead
    y -= 1 * mm
    for line in en_lines:
        _draw(cv, left_x0, y, line, en_size)
        y -= en_lead

    # agency name (one line at up to 16 pt, else two lines at 12 pt), then the issue date
    size = _fit(data.agency, 16, left_w)
    agency_lines = [data.agency] if size >= 12 else _wrap(data.agency, 12, left_w)[:2]
    size = max(size, 12) if len(agency_lines) > 1 else size
    y = by + 54 * mm + (len(agency_lines) - 1) * 6 * mm
    for line in agency_lines:
        _draw(cv, left_x1, y, line, _fit(line, size, left_w), align="right")
        y -= 6 * mm
    y += 6 * mm
    d = data.issue_date
    y -= 9 * mm
    _draw(cv, left_x1, y, f"{ISSUED_ZH}：{d.year}年{d.month}月{d.day}日", 14, align="right")
    y -= 6 * mm
    _draw(cv, left_x1, y, f"{ISSUED_EN}: {d.isoformat()}", 12, align="right")

    y = by + 20 * mm
    for zh, en, url in ((LOOKUP_ZH, LOOKUP_EN, certificate_lookup_url),
                        (AGENCY_ZH, AGENCY_EN, agency_lookup_url)):
        text = f"{zh}（{en}）：{url}"
        _draw(cv, left_x0, y, text, _fit(text, 11, left_w))
        y -= 6 * mm

    # ---- right page: photo and QR code, then the details
    right_x0, right_x1 = mid + 14 * mm, bx + BORDER_W - 14 * mm
    photo_x, photo_y = right_x0 + 14 * mm, top - 14 * mm - PHOTO_H
    if reader is not None:
        cv.drawImage(reader, photo_x, photo_y, PHOTO_W, PHOTO_H, preserveAspectRatio=True, anchor="c",
                     mask="auto")
    cv.setStrokeColor(FAINT)
    cv.setLineWidth(0.8)
    cv.rect(photo_x, photo_y, PHOTO_W, PHOTO_H, stroke=1, fill=0)
    qr_x, qr_y, _ = qr_box()
    _qr(cv, qr_x, qr_y, QR_SIZE, verify_url)
    cv.setFillColor(FAINT)
    _draw(cv, qr_x + QR_SIZE / 2, qr_y - 4 * mm, f"{VERIFY_ZH} {VERIFY_EN}", 8, align="center")
    cv.setFillColor(INK)

    values = {
        "name": data.name,
        "id_type": id_type_label(data.id_type),
        "id_number": data.id_number,
        "occupation": data.occupation_name,
        "work_type": data.work_type,
        "level": LEVELS[data.level][0],
        "certificate_number": data.certificate_number,
    }
    label_w = max(_width(zh + "：", 14) for _, zh, _ in FIELD_LABELS)
    value_x = right_x0 + label_w + 3 * mm
    value_w = right_x1 - value_x
    y = photo_y - 14 * mm
    for key, zh, en in FIELD_LABELS:
        _draw(cv, right_x0, y, f"{zh}：", 14)
        cv.setFillColor(FAINT)
        _draw(cv, right_x0, y - 4 * mm, en, 9)
        cv.setFillColor(INK)
        value = values[key]
        latin = "Courier-Bold" if key in ("id_number", "certificate_number") else LATIN_FONT
        _draw(cv, value_x, y, value, _fit(value, 14, value_w, latin), latin)
        cv.setStrokeColor(FAINT)
        cv.setLineWidth(0.3)
        cv.line(value_x, y - 1.6 * mm, right_x1, y - 1.6 * mm)
        y -= 12.5 * mm

    if print_serial:
        cv.setFillColor(ACCENT)
        _draw(cv, right_x1, by + 7 * mm, f"No.{print_serial}", 11, align="right")

    cv.showPage()
    cv.save()
    return buf.getvalue()
