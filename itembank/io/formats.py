"""File formats of item import/export: the XLSX template, JSON, and IMS QTI 3.0 packages.

Parsers turn a file into :class:`~itembank.io.ParsedRow` rows (row = the row the writer sees:
the spreadsheet row, the 1-based position in a JSON list, or the resource's position in a
QTI manifest); a file that cannot be read at all is rejected with :class:`~itembank.io.ImportRejected`.

XLSX template columns (one row per item, first sheet, header in row 1)::

    试题编号 | 题型 | 鉴定要素代码 | 等级 | 题干 | 选项A … 选项F | 答案 | 解析 | 难度p | IRT_a | IRT_b | IRT_c |
    来源 | 互斥组 | 评分标准 | 考核时间(分钟) | 设备

题型: 单选题/多选题/判断题/填空题/操作技能题. 等级: ``4`` or ``4,3``. 答案: ``B``; ``ABD``; ``对``/``错``;
fill-in ``答案1|同义词;答案2``. 来源: 国家题库/地方题库/自建题库. 评分标准 (practical tasks): one criterion
per line, ``名称|配分|扣分规则:扣分;扣分规则:扣分``.

QTI 3.0: a zip with ``imsmanifest.xml`` and one ``qti-assessment-item`` per item (choice,
text-entry and extended-text interactions); SkillCert's classification (element, levels,
difficulty, source, enemy group, rubric) travels in a namespaced ``skillcert:meta`` element of
each item, which other platforms ignore.
"""
from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from typing import Any

from itembank import richtext
from itembank.io import TYPE_ALIASES, ImportRejected, ParsedRow, RowError
from itembank.items import ITEM_TYPES, SOURCES, Item

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = ("xlsx", "json", "qti")
OPTION_COLUMNS = [f"选项{k}" for k in "ABCDEF"]
COLUMNS = ["试题编号", "题型", "鉴定要素代码", "等级", "题干", *OPTION_COLUMNS, "答案", "解析", "难度p", "IRT_a", "IRT_b",
           "IRT_c", "来源", "互斥组", "评分标准", "考核时间(分钟)", "设备"]
FIELD_OF = {"试题编号": "code", "题型": "item_type", "鉴定要素代码": "element_code", "等级": "levels", "题干": "stem",
            "答案": "answer", "解析": "explanation", "难度p": "p", "IRT_a": "irt_a", "IRT_b": "irt_b", "IRT_c": "irt_c",
            "来源": "source", "互斥组": "enemy_group"}
SOURCE_ALIASES = {**{k: k for k in SOURCES}, "国家题库": "national", "地方题库": "local", "经备案的地方题库": "local",
                  "自建题库": "own", "自建": "own"}
TYPE_NAMES = {k: v[0] for k, v in ITEM_TYPES.items()}
JUDGE_NAMES = {"T": "对", "F": "错"}


def detect(filename: str, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise ImportRejected([RowError(1, "format", f"格式应为 {'/'.join(FORMATS)} (unknown format {fmt!r})")], fmt)
        return fmt
    name = filename.lower()
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".zip"):
        return "qti"
    raise ImportRejected([RowError(1, "file", "文件应为 .xlsx、.json 或 QTI .zip (file must be .xlsx, .json or a QTI "
                                              ".zip)")], "unknown")


def parse(fmt: str, data: bytes) -> list[ParsedRow]:
    return {"xlsx": parse_xlsx, "json": parse_json, "qti": parse_qti}[fmt](data)


def export(fmt: str, items: Sequence[Item], standard) -> tuple[bytes, str, str]:
    """``(bytes, mimetype, extension)`` of the items' head versions in ``fmt``."""
    if fmt == "json":
        return export_json(items), "application/json", "json"
    if fmt == "xlsx":
        return export_xlsx(items), XLSX_MIME, "xlsx"
    return export_qti(items), "application/zip", "zip"


# --- plain dicts -----------------------------------------------------------------------------------

def item_record(item: Item) -> dict[str, Any]:
    v = item.head_version
    return {"code": item.code, "item_type": item.item_type, "element_code": v.element_code, "levels": v.levels,
            "source": v.source, "enemy_group": v.enemy_group, "stem": v.stem,
            "options": [o["html"] for o in v.options], "answer": v.answer, "explanation": v.explanation,
            "p": v.p, "irt_a": v.irt_a, "irt_b": v.irt_b, "irt_c": v.irt_c, "rubric": v.rubric}


def _row_from_record(n: int, rec: Any, columns: dict[str, str] | None = None) -> ParsedRow | RowError:
    if not isinstance(rec, dict):
        return RowError(n, "-", "每道题应为一个对象 (each item must be an object)")
    t = TYPE_ALIASES.get(str(rec.get("item_type", "")).strip(), str(rec.get("item_type", "")).strip())
    fields = {k: rec.get(k) for k in ("element_code", "levels", "source", "enemy_group", "stem", "options", "answer",
                                      "explanation", "p", "irt_a", "irt_b", "irt_c", "rubric") if k in rec}
    if "source" in fields and fields["source"] is not None:
        fields["source"] = SOURCE_ALIASES.get(str(fields["source"]).strip(), fields["source"])
    code = str(rec.get("code") or "").strip() or None
    return ParsedRow(row=n, item_type=t, fields=fields, code=code, columns=columns or {})


# --- JSON ------------------------------------------------------------------------------------------

def export_json(items: Sequence[Item]) -> bytes:
    return json.dumps({"format": "skillcert-items", "version": 1, "items": [item_record(i) for i in items]},
                      ensure_ascii=False, indent=1).encode("utf-8")


def parse_json(data: bytes) -> list[ParsedRow]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImportRejected([RowError(getattr(e, "lineno", 1), "-", f"不是有效的 JSON (not valid JSON: {e})")],
                             "json") from None
    records = doc.get("items") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        raise ImportRejected([RowError(1, "items", "JSON 应为试题列表或含 items 列表的对象 (expected a list of items)")],
                             "json")
    rows, errors = [], []
    for n, rec in enumerate(records, start=1):
        r = _row_from_record(n, rec)
        (errors if isinstance(r, RowError) else rows).append(r)
    if errors:
        raise ImportRejected(errors, "json")
    return rows


# --- XLSX ------------------------------------------------------------------------------------------

def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter
    return get_column_letter(i + 1)


def _rubric_text(rubric: dict | None) -> str:
    if not rubric:
        return ""
    return "\n".join(f"{c['name']}|{c['max_points']:g}|" + ";".join(f"{d['rule']}:{d['points']:g}" for d in c["deductions"])
                     for c in rubric.get("criteria", []))


def _parse_rubric(text: str, minutes: Any, equipment: Any) -> tuple[dict, str | None]:
    criteria = []
    for k, line in enumerate(l for l in str(text or "").splitlines() if l.strip()):
        parts = line.split("|")
        if len(parts) < 2:
            return {}, f"第{k + 1}行应为 名称|配分|规则:扣分 (line {k + 1}: name|max points|rule:points)"
        deductions = []
        for d in (parts[2].split(";") if len(parts) > 2 else []):
            if not d.strip():
                continue
            rule, _, pts = d.rpartition(":")
            deductions.append({"rule": rule.strip(), "points": pts.strip()})
        criteria.append({"name": parts[0].strip(), "max_points": parts[1].strip(), "deductions": deductions})
    return {"criteria": criteria, "time_minutes": minutes, "equipment": equipment or []}, None


def template_xlsx() -> bytes:
    """The blank template with the documented columns, an instruction sheet and two example rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    ws = wb.active
    ws.title = "试题"
    ws.append(COLUMNS)
    for c in ws[1]:
        c.font = Font(bold=True)
    ws.append(["", "单选题", "2.3.3", "4", "普通螺纹的牙型角为（ ）。", "60°", "55°", "30°", "40°", "", "", "A",
               "普通螺纹牙型角为60°。", 0.8, "", "", "", "地方题库", "", "", "", ""])
    ws.append(["", "判断题", "1.2.5", "4", "车削时可以戴手套操作。", "", "", "", "", "", "", "错", "", 0.85, "", "", "",
               "自建题库", "", "", "", ""])
    help_ = wb.create_sheet("填写说明")
    for line in [("列", "说明"), ("试题编号", "可空；为空时系统自动编号；同一机构内不得重复"),
                 ("题型", "单选题 / 多选题 / 判断题 / 填空题 / 操作技能题"),
                 ("鉴定要素代码", "技能标准中的要素代码，如 2.3.3"), ("等级", "4 或 4,3（1 高级技师 … 5 初级工）"),
                 ("题干", "可含简单格式（<sub>、<sup>、<b>）；填空题用 ___ 或 （ ） 标出每个空"),
                 ("选项A–F", "单选题至少2项，多选题至少3项；判断题、填空题不填"),
                 ("答案", "单选 B；多选 ABD；判断 对/错；填空 答案1|同义词;答案2"),
                 ("难度p", "0–1 的通过率估计；或填 IRT_a 与 IRT_b"), ("来源", "国家题库 / 地方题库 / 自建题库"),
                 ("互斥组", "不能出现在同一套试卷中的试题填相同的组名"),
                 ("评分标准", "操作技能题：每行一项 名称|配分|扣分规则:扣分;扣分规则:扣分"),
                 ("考核时间(分钟)", "操作技能题必填"), ("设备", "操作技能题：用、分隔")]:
        help_.append(line)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def export_xlsx(items: Sequence[Item]) -> bytes:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = "试题"
    ws.append(COLUMNS)
    for it in items:
        r = item_record(it)
        ans = r["answer"]
        if it.item_type == "judge":
            ans = JUDGE_NAMES.get(ans, ans)
        elif it.item_type == "fill":
            ans = ";".join("|".join(b) for b in ans)
        opts = (r["options"] + [""] * 6)[:6]
        rub = r["rubric"] or {}
        ws.append([r["code"], TYPE_NAMES[it.item_type], r["element_code"], ",".join(str(x) for x in r["levels"]),
                   r["stem"], *opts, ans or "", r["explanation"], r["p"], r["irt_a"], r["irt_b"], r["irt_c"],
                   SOURCES[r["source"]][0], r["enemy_group"] or "", _rubric_text(rub), rub.get("time_minutes"),
                   "、".join(rub.get("equipment", []))])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def parse_xlsx(data: bytes) -> list[ParsedRow]:
    from openpyxl import load_workbook
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable workbook is one error for the writer
        raise ImportRejected([RowError(1, "-", f"无法读取 XLSX 文件 (cannot read the workbook: {type(e).__name__})")],
                             "xlsx") from None
    ws = wb.worksheets[0]
    rows_iter = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows_iter, ())]
    missing = [c for c in ("题型", "鉴定要素代码", "题干", "答案") if c not in header]
    if missing:
        raise ImportRejected([RowError(1, c, f"缺少列“{c}” (missing column {c})") for c in missing], "xlsx")
    pos = {h: i for i, h in enumerate(header) if h}
    columns = {FIELD_OF[h]: f"{_letter(i)} {h}" for h, i in pos.items() if h in FIELD_OF}
    columns["options"] = " ".join(f"{_letter(pos[c])}" for c in OPTION_COLUMNS if c in pos) + " 选项"
    columns["rubric"] = f"{_letter(pos['评分标准'])} 评分标准" if "评分标准" in pos else "评分标准"
    out, errors = [], []
    for n, values in enumerate(rows_iter, start=2):
        cell = lambda h: values[pos[h]] if h in pos and pos[h] < len(values) else None  # noqa: E731
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        t_raw = str(cell("题型") or "").strip()
        t = TYPE_ALIASES.get(t_raw, t_raw)
        rec: dict[str, Any] = {"item_type": t, "code": cell("试题编号")}
        for h, f in FIELD_OF.items():
            if f in ("code", "item_type"):
                continue
            v = cell(h)
            if v is not None and str(v).strip() != "":
                rec[f] = v if not isinstance(v, str) else v.strip()
        if "levels" in rec:
            rec["levels"] = str(rec["levels"])
        if "answer" in rec and isinstance(rec["answer"], (int, float)) and t == "fill":
            rec["answer"] = f"{rec['answer']:g}"
        opts = [cell(c) for c in OPTION_COLUMNS]
        opts = [str(o).strip() if not isinstance(o, str) else o.strip() for o in opts if o is not None and str(o).strip()]
        if opts:
            rec["options"] = opts
        if t == "practical":
            rubric, why = _parse_rubric(cell("评分标准"), cell("考核时间(分钟)"), cell("设备"))
            if why:
                errors.append(RowError(n, columns["rubric"], why))
                continue
            rec["rubric"] = rubric
        r = _row_from_record(n, rec, columns)
        if isinstance(r, RowError):
            errors.append(r)
        else:
            r.columns.setdefault("item_type", f"{_letter(pos['题型'])} 题型")
            out.append(r)
    if errors:
        raise ImportRejected(errors, "xlsx")
    return out


# --- QTI 3.0 ---------------------------------------------------------------------------------------

QTI_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
CP_NS = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1"
SC_NS = "urn:skillcert:item:1"
MATCH_CORRECT = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct"
MAP_RESPONSE = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/map_response"
_VOID = re.compile(r"<(br|hr|img)(\b[^>]*?)\s*/?>", re.I)


def _xhtml(html: str) -> str:
    """Our sanitised HTML as well-formed XHTML (void elements closed, named entities numeric)."""
    out = _VOID.sub(lambda m: f"<{m.group(1)}{m.group(2)}/>", html or "")
    return out.replace("&nbsp;", "&#160;")


def _fragment(parent: ET.Element, html: str) -> None:
    wrapper = ET.fromstring(f'<div xmlns="{QTI_NS}">{_xhtml(html)}</div>')
    parent.text = wrapper.text
    for child in list(wrapper):
        parent.append(child)


def _inner_html(el: ET.Element) -> str:
    """The content of an XML element as our (sanitised) HTML: namespaces and prefixes dropped."""
    html = (el.text or "") + "".join(ET.tostring(child, encoding="unicode") for child in el)
    html = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    html = re.sub(r"<(/?)\w+:(\w)", r"<\1\2", html)
    return richtext.clean(html)


def _q(tag: str) -> str:
    return f"{{{QTI_NS}}}{tag}"


def qti_item_xml(item: Item) -> bytes:
    """One ``qti-assessment-item`` (QTI 3.0) for an item's head version."""
    ET.register_namespace("", QTI_NS)
    ET.register_namespace("skillcert", SC_NS)
    v = item.head_version
    root = ET.Element(_q("qti-assessment-item"), {"identifier": f"I{item.id}-{item.code}", "title": item.code,
                                                   "adaptive": "false", "time-dependent": "false",
                                                   "xml:lang": "zh-CN"})
    t = item.item_type
    if t in ("single", "multiple", "judge"):
        rd = ET.SubElement(root, _q("qti-response-declaration"), {"identifier": "RESPONSE", "cardinality":
                                                                  "multiple" if t == "multiple" else "single",
                                                                  "base-type": "identifier"})
        cr = ET.SubElement(rd, _q("qti-correct-response"))
        for k in v.answer:
            ET.SubElement(cr, _q("qti-value")).text = k
    elif t == "fill":
        for b, alts in enumerate(v.answer, start=1):
            rd = ET.SubElement(root, _q("qti-response-declaration"), {"identifier": f"RESPONSE_{b}", "cardinality":
                                                                      "single", "base-type": "string"})
            ET.SubElement(ET.SubElement(rd, _q("qti-correct-response")), _q("qti-value")).text = alts[0]
            mp = ET.SubElement(rd, _q("qti-mapping"), {"default-value": "0"})
            for a in alts:
                ET.SubElement(mp, _q("qti-map-entry"), {"map-key": a, "mapped-value": "1"})
    else:
        ET.SubElement(root, _q("qti-response-declaration"), {"identifier": "RESPONSE", "cardinality": "single",
                                                             "base-type": "string"})
    ET.SubElement(root, _q("qti-outcome-declaration"), {"identifier": "SCORE", "cardinality": "single",
                                                        "base-type": "float"})
    body = ET.SubElement(root, _q("qti-item-body"))
    if t == "fill":
        stem = ET.SubElement(body, _q("div"), {"class": "stem"})
        counter = iter(range(1, 100))
        html = re.sub(r"_{3,}|（\s*）|\(\s*\)", lambda m: f'<qti-text-entry-interaction response-identifier='
                      f'"RESPONSE_{next(counter)}" expected-length="8"/>', _xhtml(v.stem))
        _fragment(stem, html)
    else:
        _fragment(ET.SubElement(body, _q("div"), {"class": "stem"}), v.stem)
    if t in ("single", "multiple", "judge"):
        ci = ET.SubElement(body, _q("qti-choice-interaction"), {"response-identifier": "RESPONSE", "shuffle": "true",
                                                                 "max-choices": "0" if t == "multiple" else "1"})
        opts = v.options if t != "judge" else [{"key": "T", "html": "正确"}, {"key": "F", "html": "错误"}]
        for o in opts:
            _fragment(ET.SubElement(ci, _q("qti-simple-choice"), {"identifier": o["key"]}), o["html"])
    elif t == "practical":
        ET.SubElement(body, _q("qti-extended-text-interaction"), {"response-identifier": "RESPONSE"})
    if v.explanation:
        fb = ET.SubElement(root, _q("qti-modal-feedback"), {"outcome-identifier": "FEEDBACK", "identifier":
                                                            "EXPLANATION", "show-hide": "show"})
        _fragment(ET.SubElement(fb, _q("qti-content-body")), v.explanation)
    ET.SubElement(root, _q("qti-response-processing"), {"template": MAP_RESPONSE if t == "fill" else MATCH_CORRECT})
    meta = {"code": item.code, "item_type": t, "element_code": v.element_code, "levels": v.levels, "source": v.source,
            "enemy_group": v.enemy_group, "p": v.p, "irt_a": v.irt_a, "irt_b": v.irt_b, "irt_c": v.irt_c,
            "rubric": v.rubric}
    ET.SubElement(root, f"{{{SC_NS}}}meta").text = json.dumps(meta, ensure_ascii=False)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export_qti(items: Sequence[Item]) -> bytes:
    buf = io.BytesIO()
    ET.register_namespace("", CP_NS)
    manifest = ET.Element(f"{{{CP_NS}}}manifest", {"identifier": "skillcert-export"})
    resources = ET.SubElement(manifest, f"{{{CP_NS}}}resources")
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for it in items:
            href = f"items/{it.code}.xml"
            z.writestr(href, qti_item_xml(it))
            res = ET.SubElement(resources, f"{{{CP_NS}}}resource", {"identifier": f"R{it.id}", "type":
                                                                     "imsqti_item_xmlv3p0", "href": href})
            ET.SubElement(res, f"{{{CP_NS}}}file", {"href": href})
        ET.register_namespace("", CP_NS)
        z.writestr("imsmanifest.xml", ET.tostring(manifest, encoding="utf-8", xml_declaration=True))
    return buf.getvalue()


def _parse_qti_item(n: int, href: str, xml: bytes) -> ParsedRow | RowError:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        return RowError(n, href, f"XML 格式错误 (malformed XML: {e})")
    if root.tag != _q("qti-assessment-item"):
        return RowError(n, href, f"不是 QTI 3.0 试题 (not a QTI 3.0 qti-assessment-item: {root.tag})")
    meta_el = root.find(f"{{{SC_NS}}}meta")
    meta = {}
    if meta_el is not None and meta_el.text:
        try:
            meta = json.loads(meta_el.text)
        except json.JSONDecodeError:
            return RowError(n, f"{href} skillcert:meta", "元数据不是有效 JSON (metadata is not valid JSON)")
    body = root.find(_q("qti-item-body"))
    if body is None:
        return RowError(n, href, "缺少 qti-item-body (no qti-item-body)")
    decls = {d.get("identifier"): d for d in root.findall(_q("qti-response-declaration"))}
    choice = body.find(f".//{_q('qti-choice-interaction')}")
    entries = body.findall(f".//{_q('qti-text-entry-interaction')}")
    stem_el = body.find(_q("div"))
    rec: dict[str, Any] = {k: meta.get(k) for k in ("code", "element_code", "levels", "source", "enemy_group", "p",
                                                    "irt_a", "irt_b", "irt_c", "rubric") if meta.get(k) is not None}
    if choice is not None:
        keys = [c.get("identifier") for c in choice.findall(_q("qti-simple-choice"))]
        rd = decls.get(choice.get("response-identifier"))
        correct = [x.text for x in rd.findall(f"{_q('qti-correct-response')}/{_q('qti-value')}")] if rd is not None else []
        if keys == ["T", "F"]:
            rec["item_type"], rec["answer"] = "judge", correct[0] if correct else None
        else:
            multiple = rd is not None and rd.get("cardinality") == "multiple"
            rec["item_type"] = "multiple" if multiple else "single"
            # other platforms name choices freely: map their identifiers to A, B, C … by position
            letters = {k: "ABCDEFGH"[i] for i, k in enumerate(keys[:8])}
            rec["options"] = [_inner_html(c) for c in choice.findall(_q("qti-simple-choice"))]
            rec["answer"] = "".join(letters.get(k, "?") for k in correct)
        rec["stem"] = _inner_html(stem_el) if stem_el is not None else ""
    elif entries:
        rec["item_type"] = "fill"
        answers = []
        for e in entries:
            rd = decls.get(e.get("response-identifier"))
            alts = [m.get("map-key") for m in rd.findall(f"{_q('qti-mapping')}/{_q('qti-map-entry')}")] if rd is not None else []
            if not alts and rd is not None:
                alts = [x.text for x in rd.findall(f"{_q('qti-correct-response')}/{_q('qti-value')}")]
            answers.append(alts)
        rec["answer"] = answers
        if stem_el is not None:
            for e in stem_el.iter():
                for child in list(e):
                    if child.tag == _q("qti-text-entry-interaction"):
                        child.tag, child.attrib = "span", {}
                        child.text = "______"
        rec["stem"] = _inner_html(stem_el) if stem_el is not None else ""
        rec["stem"] = re.sub(r"<span>(_{3,})</span>", r"\1", rec["stem"])
    elif body.find(f".//{_q('qti-extended-text-interaction')}") is not None:
        rec["item_type"] = "practical"
        rec["stem"] = _inner_html(stem_el) if stem_el is not None else ""
    else:
        return RowError(n, href, "不支持的交互类型 (unsupported interaction: use choice, text-entry or extended-text)")
    fb = root.find(f"{_q('qti-modal-feedback')}/{_q('qti-content-body')}")
    if fb is not None:
        rec["explanation"] = _inner_html(fb)
    return _row_from_record(n, rec, {k: f"{href} {k}" for k in ("element_code", "levels", "stem", "options", "answer",
                                                                "p", "irt_a", "irt_b", "irt_c", "rubric", "code",
                                                                "source", "explanation", "item_type")})


def parse_qti(data: bytes) -> list[ParsedRow]:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
    except (zipfile.BadZipFile, KeyError, ET.ParseError) as e:
        raise ImportRejected([RowError(1, "imsmanifest.xml", f"不是有效的 QTI 包 (not a QTI package: {e})")],
                             "qti") from None
    hrefs = [r.get("href") for r in manifest.iter() if r.tag.endswith("resource") and "qti_item" in (r.get("type") or "")]
    rows, errors = [], []
    for n, href in enumerate(hrefs, start=1):
        try:
            xml = z.read(href)
        except KeyError:
            errors.append(RowError(n, href, "清单中的文件不在包内 (file listed in the manifest is missing)"))
            continue
        r = _parse_qti_item(n, href, xml)
        (errors if isinstance(r, RowError) else rows).append(r)
    if errors:
        raise ImportRejected(errors, "qti")
    if not rows:
        raise ImportRejected([RowError(1, "imsmanifest.xml", "包中没有试题 (the package holds no item)")], "qti")
    return rows
