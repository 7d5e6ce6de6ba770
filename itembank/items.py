"""Items (试题) of the item bank (题库), their immutable versions and the review workflow.

Item types: single choice (单选题), multiple choice (多选题), true/false (判断题), fill-in
(填空题) — the theory items scored automatically — and practical tasks (操作技能考核试题)
scored by examiners with a rubric (评分标准: criteria, maximum points, deduction rules, time,
equipment).

Workflow of an item: ``draft → in_review → approved → retired``. A reviewer (审题人员) approves
or sends back; the reviewer is never the author of the item or of the version under review.
Editing an approved item makes a new version (the approved one stays usable and pinned by
papers until the new one is approved); an approved version can never change again (a
flush-time guard refuses it). Every change is in the audit trail. Items must come from the
national bank where one exists, otherwise from a bank filed with the province
(003_a71c6090dc5bb9da.txt, 人社职司便函〔2020〕44号 art. 3), which is why each item records
its ``source``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from itembank import richtext
from itembank.core import audit
from itembank.core.audit import Actor, canonical_json
from itembank.core.db import Base, utcnow
from itembank.core.errors import Conflict, DomainError, Forbidden, NotFound
from itembank.standards import SkillStandard, StandardElement

ITEM_TYPES: dict[str, tuple[str, str]] = {
    "single": ("单选题", "single choice"),
    "multiple": ("多选题", "multiple choice"),
    "judge": ("判断题", "true/false"),
    "fill": ("填空题", "fill-in-the-blank"),
    "practical": ("操作技能题", "practical task"),
}
THEORY_TYPES = ("single", "multiple", "judge", "fill")
STATUSES: dict[str, tuple[str, str]] = {
    "draft": ("草稿", "draft"), "in_review": ("待审", "in review"), "approved": ("已审定", "approved"),
    "retired": ("已停用", "retired"),
}
VERSION_STATUSES = ("draft", "in_review", "approved", "superseded")
SOURCES: dict[str, tuple[str, str]] = {
    "national": ("国家题库", "national item bank"),
    "local": ("经备案的地方题库", "approved local bank"),
    "own": ("自建题库", "own bank"),
}
OPTION_KEYS = "ABCDEFGH"
BLANK = re.compile(r"_{3,}|（\s*）|\(\s*\)")
JUDGE_TRUE = {"t", "true", "1", "对", "正确", "√", "✓", "y", "yes"}
JUDGE_FALSE = {"f", "false", "0", "错", "错误", "×", "✗", "n", "no"}
# Content fields of a version; an approved version's content never changes.
CONTENT_FIELDS = ("element_code", "levels", "source", "enemy_group", "stem", "options", "answer", "explanation",
                  "rubric", "p", "irt_a", "irt_b", "irt_c")


# --- models ------------------------------------------------------------------------------------

class Item(Base):
    """One item of an agency's bank: identity, type, workflow state, exposure and calibrated statistics.

    ``head_version`` is the newest version (being written or reviewed); ``approved_version``
    the newest approved one, used for assembly and pinned by papers.
    """

    __tablename__ = "item"
    __table_args__ = (UniqueConstraint("agency_id", "code"), Index("ix_item_bank", "standard_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    standard_id: Mapped[int] = mapped_column(ForeignKey("skill_standard.id"))
    code: Mapped[str] = mapped_column(String(40))
    item_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    head_version_id: Mapped[int | None] = mapped_column(ForeignKey("item_version.id", use_alter=True))
    approved_version_id: Mapped[int | None] = mapped_column(ForeignKey("item_version.id", use_alter=True))
    exposure_count: Mapped[int] = mapped_column(Integer, default=0)
    # Difficulty calibrated from real answers (item analysis); the version's estimate applies until then.
    calibrated_p: Mapped[float | None] = mapped_column(Float)
    calibrated_a: Mapped[float | None] = mapped_column(Float)
    calibrated_b: Mapped[float | None] = mapped_column(Float)
    calibrated_c: Mapped[float | None] = mapped_column(Float)
    calibrated_n: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    standard: Mapped[SkillStandard] = relationship()
    versions: Mapped[list[ItemVersion]] = relationship(back_populates="item", order_by="ItemVersion.number",
                                                       foreign_keys="ItemVersion.item_id")
    head_version: Mapped[ItemVersion | None] = relationship(foreign_keys=[head_version_id], post_update=True)
    approved_version: Mapped[ItemVersion | None] = relationship(foreign_keys=[approved_version_id],
                                                                post_update=True)

    def difficulty(self) -> dict[str, float | None]:
        """Effective difficulty: calibrated values when present, else the approved (or head) version's estimate."""
        v = self.approved_version or self.head_version
        if self.calibrated_p is not None or self.calibrated_a is not None:
            return {"p": self.calibrated_p if self.calibrated_p is not None else (v.p if v else None),
                    "a": self.calibrated_a, "b": self.calibrated_b, "c": self.calibrated_c}
        return {"p": v.p if v else None, "a": v.irt_a if v else None, "b": v.irt_b if v else None,
                "c": v.irt_c if v else None}


class ItemVersion(Base):
    """One version of an item's content (stem, options, key, rubric, classification, difficulty estimate).

    Draft versions are edited in place; from approval on a version is immutable and papers pin it.
    ``digest`` is the SHA-256 of the canonical content.
    """

    __tablename__ = "item_version"
    __table_args__ = (UniqueConstraint("item_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    element_code: Mapped[str] = mapped_column(String(32), index=True)
    levels: Mapped[list] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="own")
    enemy_group: Mapped[str | None] = mapped_column(String(64))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    answer: Mapped[Any] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
    rubric: Mapped[dict | None] = mapped_column(JSON)
    points: Mapped[float | None] = mapped_column(Float)
    p: Mapped[float | None] = mapped_column(Float)
    irt_a: Mapped[float | None] = mapped_column(Float)
    irt_b: Mapped[float | None] = mapped_column(Float)
    irt_c: Mapped[float | None] = mapped_column(Float)
    digest: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_comment: Mapped[str] = mapped_column(String(1000), default="")
    item: Mapped[Item] = relationship(back_populates="versions", foreign_keys=[item_id])

    def content(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in CONTENT_FIELDS}


class ItemReview(Base):
    """A reviewer's decision on one version (审题记录)."""

    __tablename__ = "item_review"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("item_version.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    comment: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


@event.listens_for(Session, "before_flush")
def _approved_versions_are_immutable(session: Session, _ctx, _instances) -> None:
    """Refuse any change to the content of an approved (or superseded) version, and its deletion."""
    from sqlalchemy import inspect as sa_inspect
    for obj in session.dirty:
        if isinstance(obj, ItemVersion):
            st = sa_inspect(obj)
            was = st.attrs.status.history.deleted
            old_status = was[0] if was else obj.status
            if old_status in ("approved", "superseded"):
                changed = [f for f in CONTENT_FIELDS + ("digest", "points") if st.attrs[f].history.has_changes()]
                if changed:
                    raise Conflict("version_immutable", f"已审定的试题版本不能修改 (approved version {obj.id} is "
                                   f"immutable; changed {', '.join(changed)})", changed[0])
    for obj in session.deleted:
        if isinstance(obj, ItemVersion) and obj.status in ("approved", "superseded"):
            raise Conflict("version_immutable", f"已审定的试题版本不能删除 (approved version {obj.id} cannot be deleted)")


# --- pure validation -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Problem:
    """One problem with an item's fields: the field at fault and a bilingual message."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def _num(v: Any) -> float | None:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, bool):
        raise ValueError(v)
    x = float(v)
    if not math.isfinite(x):
        raise ValueError(v)
    return x


def blanks_in(stem: str) -> int:
    """Number of blanks (``___`` or ``（ ）``) in a fill-in stem."""
    return len(BLANK.findall(richtext.text_of(stem)))


def normalise_answer(item_type: str, answer: Any, option_keys: Sequence[str] = ()) -> tuple[Any, str | None]:
    """The canonical key of an answer, or ``(None, problem)``.

    single: ``"B"``; multiple: ``"ABD"`` (sorted, ≥2 keys); judge: ``"T"``/``"F"`` (对/错, √/×, true/false
    accepted); fill: a list per blank of accepted answers (a string ``"答案1|同义词;答案2"`` is split on
    ``;``/``；`` between blanks and ``|`` between alternatives); practical: ``None``.
    """
    if item_type == "practical":
        return None, None
    if answer is None or (isinstance(answer, str) and not answer.strip()) or answer == []:
        return None, "答案不能为空 (the key is required)"
    if item_type in ("single", "multiple"):
        if isinstance(answer, (list, tuple)):
            keys = [str(k).strip().upper() for k in answer]
        else:
            keys = [c for c in re.sub(r"[\s,，、;；]", "", str(answer).upper())]
        if len(set(keys)) != len(keys):
            return None, f"答案中有重复选项 (duplicate keys in {answer!r})"
        bad = [k for k in keys if k not in option_keys]
        if bad:
            return None, f"答案 {''.join(bad)} 不是选项 (key {''.join(bad)} is not an option; options are " \
                         f"{''.join(option_keys)})"
        if item_type == "single" and len(keys) != 1:
            return None, f"单选题只能有一个答案 (single choice needs exactly one key, got {''.join(keys)})"
        if item_type == "multiple" and len(keys) < 2:
            return None, "多选题至少有两个正确选项 (multiple choice needs at least two keys)"
        return "".join(sorted(keys)), None
    if item_type == "judge":
        v = str(answer).strip().lower() if not isinstance(answer, bool) else ("t" if answer else "f")
        if v in JUDGE_TRUE:
            return "T", None
        if v in JUDGE_FALSE:
            return "F", None
        return None, f"判断题答案应为 对/错 (true/false key must be T or F, got {answer!r})"
    if item_type == "fill":
        if isinstance(answer, str):
            blanks = [[alt.strip() for alt in part.split("|") if alt.strip()] for part in re.split(r"[;；]", answer)]
        elif isinstance(answer, (list, tuple)):
            blanks = [[str(a).strip() for a in (b if isinstance(b, (list, tuple)) else [b]) if str(a).strip()]
                      for b in answer]
        else:
            return None, f"填空题答案格式不对 (fill-in key must be text or a list, got {type(answer).__name__})"
        if not blanks or any(not b for b in blanks):
            return None, "每个空都要有答案 (every blank needs at least one accepted answer)"
        return blanks, None
    return None, f"未知题型 (unknown item type {item_type!r})"


def normalise_options(options: Any) -> tuple[list[dict[str, str]], list[Problem]]:
    """Options as ``[{"key": "A", "html": ...}]`` (keys by position), sanitised."""
    if options is None:
        return [], []
    if not isinstance(options, (list, tuple)):
        return [], [Problem("options", "选项应为列表 (options must be a list)")]
    out, problems = [], []
    for i, o in enumerate(options):
        html = o.get("html", o.get("text", "")) if isinstance(o, dict) else o
        if i >= len(OPTION_KEYS):
            problems.append(Problem("options", f"最多 {len(OPTION_KEYS)} 个选项 (at most {len(OPTION_KEYS)} options)"))
            break
        cleaned = richtext.clean(str(html) if html is not None else "")
        if not richtext.has_content(cleaned):
            problems.append(Problem(f"options[{i}]", f"选项 {OPTION_KEYS[i]} 为空 (option {OPTION_KEYS[i]} is empty)"))
        out.append({"key": OPTION_KEYS[i], "html": cleaned})
    texts = [richtext.text_of(o["html"]) for o in out]
    dup = {t for t in texts if t and texts.count(t) > 1}
    if dup:
        problems.append(Problem("options", f"选项内容重复 (duplicate options: {', '.join(sorted(dup))})"))
    return out, problems


def normalise_rubric(rubric: Any) -> tuple[dict | None, float | None, list[Problem]]:
    """A practical task's rubric: criteria with max points and deduction rules, time and equipment."""
    if not isinstance(rubric, dict):
        return None, None, [Problem("rubric", "操作技能题需要评分标准 (a practical task needs a rubric)")]
    problems: list[Problem] = []
    criteria = rubric.get("criteria")
    if not isinstance(criteria, list) or not criteria:
        problems.append(Problem("rubric.criteria", "评分标准至少一项 (at least one criterion)"))
        criteria = []
    out_criteria, total = [], 0.0
    for i, c in enumerate(criteria):
        where = f"rubric.criteria[{i}]"
        if not isinstance(c, dict):
            problems.append(Problem(where, "评分项格式不对 (a criterion must be an object)"))
            continue
        name = str(c.get("name", "")).strip()
        if not name:
            problems.append(Problem(f"{where}.name", "评分项名称不能为空 (criterion name is required)"))
        try:
            mx = _num(c.get("max_points"))
        except (TypeError, ValueError):
            mx = None
        if mx is None or mx <= 0:
            problems.append(Problem(f"{where}.max_points", f"配分应大于0 (max points must be > 0, got "
                                                           f"{c.get('max_points')!r})"))
            mx = 0.0
        deductions = []
        for j, d in enumerate(c.get("deductions") or []):
            rule = str((d or {}).get("rule", "")).strip() if isinstance(d, dict) else ""
            try:
                pts = _num(d.get("points")) if isinstance(d, dict) else None
            except (TypeError, ValueError):
                pts = None
            if not rule:
                problems.append(Problem(f"{where}.deductions[{j}].rule", "扣分规则不能为空 (deduction rule is required)"))
            if pts is None or pts <= 0 or pts > mx:
                problems.append(Problem(f"{where}.deductions[{j}].points",
                                        f"扣分应在 0 与配分 {mx:g} 之间 (deduction must be in (0, {mx:g}])"))
            deductions.append({"rule": rule, "points": pts})
        total += mx
        out_criteria.append({"name": name, "max_points": mx, "deductions": deductions,
                             "standard": str(c.get("standard", "")).strip()})
    try:
        minutes = _num(rubric.get("time_minutes"))
    except (TypeError, ValueError):
        minutes = None
    if minutes is None or not 1 <= minutes <= 600:
        problems.append(Problem("rubric.time_minutes", "考核时间应为1–600分钟 (time must be 1..600 minutes)"))
    equipment = rubric.get("equipment") or []
    if isinstance(equipment, str):
        equipment = [e.strip() for e in re.split(r"[;；,，、\n]", equipment) if e.strip()]
    if not isinstance(equipment, list):
        problems.append(Problem("rubric.equipment", "设备清单应为列表 (equipment must be a list)"))
        equipment = []
    out = {"criteria": out_criteria, "time_minutes": minutes, "equipment": [str(e) for e in equipment],
           "safety": str(rubric.get("safety", "")).strip()}
    return out, total, problems


def difficulty_problems(p: float | None, a: float | None, b: float | None, c: float | None) -> list[Problem]:
    """Range checks of a classical p and 3PL a, b, c (each optional; a and b together)."""
    problems = []
    if p is not None and not 0.0 <= p <= 1.0:
        problems.append(Problem("p", f"难度 p 应在0–1之间 (p must be in [0, 1], got {p:g})"))
    if (a is None) != (b is None):
        problems.append(Problem("irt_a" if a is None else "irt_b", "IRT 参数 a 与 b 须同时给出 (give IRT a and b together)"))
    if a is not None and a <= 0:
        problems.append(Problem("irt_a", f"区分度 a 应大于0 (a must be > 0, got {a:g})"))
    if b is not None and not -6 <= b <= 6:
        problems.append(Problem("irt_b", f"难度 b 应在 −6…6 (b must be in [-6, 6], got {b:g})"))
    if c is not None:
        if a is None:
            problems.append(Problem("irt_c", "给出 c 时须同时给出 a 与 b (c needs a and b)"))
        elif not 0.0 <= c < 1.0:
            problems.append(Problem("irt_c", f"猜测参数 c 应在 [0,1) (c must be in [0, 1), got {c:g})"))
    return problems


def validate_item(item_type: str, fields: dict[str, Any], *,
                  element_codes: Iterable[str] | None = None) -> tuple[dict[str, Any], list[Problem]]:
    """Normalise and check an item's fields; returns ``(clean fields, problems)``.

    Pure: no session. ``element_codes`` (the skill standard's codes) is checked when given.
    Theory items need a classical p or IRT a and b; practical tasks a rubric.
    """
    problems: list[Problem] = []
    if item_type not in ITEM_TYPES:
        return {}, [Problem("item_type", f"题型应为 {'/'.join(ITEM_TYPES)} (unknown item type {item_type!r})")]
    out: dict[str, Any] = {}
    stem = richtext.clean(fields.get("stem"))
    if not richtext.has_content(stem):
        problems.append(Problem("stem", "题干不能为空 (the stem is required)"))
    elif len(stem) > 20000:
        problems.append(Problem("stem", "题干过长 (the stem is longer than 20000 characters)"))
    out["stem"] = stem
    code = str(fields.get("element_code") or "").strip()
    if not code:
        problems.append(Problem("element_code", "鉴定要素代码不能为空 (element code is required)"))
    elif element_codes is not None and code not in set(element_codes):
        problems.append(Problem("element_code", f"鉴定要素 {code} 不在技能标准中 (element {code} is not in the "
                                                "skill standard)"))
    out["element_code"] = code
    levels = fields.get("levels")
    if levels is None and fields.get("level") is not None:
        levels = [fields.get("level")]
    if isinstance(levels, (str, int)):
        levels = [x for x in re.split(r"[,，、;；\s]+", str(levels)) if x]
    try:
        levels = sorted({int(x) for x in (levels or [])}, reverse=True)
    except (TypeError, ValueError):
        levels = []
        problems.append(Problem("levels", f"等级应为1–5的数字 (levels must be numbers 1..5, got "
                                          f"{fields.get('levels')!r})"))
    if not levels or any(not 1 <= lv <= 5 for lv in levels):
        problems.append(Problem("levels", "至少一个等级，且在1–5之间 (one or more levels, 1..5)"))
    out["levels"] = levels
    source = str(fields.get("source") or "own").strip()
    if source not in SOURCES:
        problems.append(Problem("source", f"来源应为 {'/'.join(SOURCES)} (unknown source {source!r})"))
    out["source"] = source
    enemy = str(fields.get("enemy_group") or "").strip() or None
    if enemy and len(enemy) > 64:
        problems.append(Problem("enemy_group", "互斥组名称过长 (enemy group longer than 64)"))
    out["enemy_group"] = enemy
    out["explanation"] = richtext.clean(fields.get("explanation"))
    # difficulty
    diff = {}
    for f in ("p", "irt_a", "irt_b", "irt_c"):
        try:
            diff[f] = _num(fields.get(f))
        except (TypeError, ValueError):
            problems.append(Problem(f, f"应为数字 (must be a number, got {fields.get(f)!r})"))
            diff[f] = None
    problems += difficulty_problems(diff["p"], diff["irt_a"], diff["irt_b"], diff["irt_c"])
    if item_type in THEORY_TYPES and diff["p"] is None and diff["irt_a"] is None:
        problems.append(Problem("p", "理论题须给出难度 p 或 IRT 参数 (give a difficulty p or IRT a, b)"))
    out.update(diff)
    # type-specific
    options, opt_problems = normalise_options(fields.get("options"))
    out["options"], out["rubric"], out["points"] = [], None, None
    if item_type in ("single", "multiple"):
        problems += opt_problems
        need = 2 if item_type == "single" else 3
        if len(options) < need:
            problems.append(Problem("options", f"{ITEM_TYPES[item_type][0]}至少 {need} 个选项 "
                                               f"({ITEM_TYPES[item_type][1]} needs at least {need} options)"))
        out["options"] = options
    elif options and item_type in ("judge", "fill", "practical"):
        problems.append(Problem("options", f"{ITEM_TYPES[item_type][0]}不应有选项 "
                                           f"({ITEM_TYPES[item_type][1]} has no options)"))
    answer, why = normalise_answer(item_type, fields.get("answer"), [o["key"] for o in options])
    if why:
        problems.append(Problem("answer", why))
    out["answer"] = answer
    if item_type == "fill" and answer is not None and stem:
        n = blanks_in(stem)
        if n == 0:
            problems.append(Problem("stem", "填空题题干中应有空（___ 或 （ ））(mark each blank with ___ or （ ）)"))
        elif n != len(answer):
            problems.append(Problem("answer", f"题干有 {n} 个空，答案有 {len(answer)} 个 (the stem has {n} blanks "
                                              f"but the key has {len(answer)})"))
    if item_type == "practical":
        rubric, total, rub_problems = normalise_rubric(fields.get("rubric"))
        problems += rub_problems
        out["rubric"], out["points"] = rubric, total
    return out, problems


def content_digest(item_type: str, content: dict[str, Any]) -> str:
    """SHA-256 of an item's canonical content (type + content fields)."""
    body = canonical_json({"item_type": item_type, **{f: content.get(f) for f in CONTENT_FIELDS}})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


# --- services --------------------------------------------------------------------------------------

def _raise_problems(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        raise DomainError("invalid_item", "; ".join(p.message for p in problems[:5]), first.field,
                          problems=[p.as_dict() for p in problems])


def element_codes(s: Session, standard: SkillStandard) -> set[str]:
    return set(s.scalars(select(StandardElement.code).where(StandardElement.standard_id == standard.id)))


def next_code(s: Session, agency_id: int, standard: SkillStandard, item_type: str) -> str:
    """A new item code like ``L4-SC-00012`` (level, type, serial within the agency)."""
    prefix = {"single": "SC", "multiple": "MC", "judge": "TF", "fill": "FB", "practical": "PR"}[item_type]
    n = s.scalar(select(Item.id).order_by(Item.id.desc()).limit(1)) or 0
    return f"L{standard.level}-{prefix}-{n + 1:05d}"


def build_item(actor: Actor, *, agency_id: int, standard: SkillStandard, item_type: str, code: str,
               clean: dict[str, Any]) -> Item:
    """A new draft item and its first version from fields already validated by :func:`validate_item`."""
    item = Item(agency_id=agency_id, standard_id=standard.id, code=code, item_type=item_type, status="draft",
                author_id=actor.account_id)
    v = ItemVersion(number=1, status="draft", author_id=actor.account_id, digest=content_digest(item_type, clean),
                    **clean)
    item.versions.append(v)
    item.head_version = v
    return item


def create_item(s: Session, actor: Actor, *, agency_id: int, standard: SkillStandard, item_type: str,
                code: str | None = None, **fields: Any) -> Item:
    """A new draft item with its first version."""
    clean, problems = validate_item(item_type, fields, element_codes=element_codes(s, standard))
    code = (code or "").strip() or None
    if code and len(code) > 40:
        problems.append(Problem("code", "试题编号最长40字符 (item code is at most 40 characters)"))
    _raise_problems(problems)
    if code and s.scalar(select(Item.id).where(Item.agency_id == agency_id, Item.code == code)):
        raise Conflict("duplicate", f"试题编号 {code} 已存在 (item code {code} exists)", "code")
    item = build_item(actor, agency_id=agency_id, standard=standard, item_type=item_type,
                      code=code or next_code(s, agency_id, standard, item_type), clean=clean)
    s.add(item)
    s.flush()
    v = item.head_version
    audit.record(s, actor, "item.create", "item", item.id,
                 {"code": item.code, "item_type": item_type, "version": 1, "digest": v.digest, **clean})
    return item


def get_item(s: Session, item_id: int, agency_id: int | None = None) -> Item:
    item = s.get(Item, item_id)
    if item is None or (agency_id is not None and item.agency_id != agency_id):
        raise NotFound("not_found", f"试题 {item_id} 不存在 (no item {item_id})", "item_id")
    return item


def revise_item(s: Session, actor: Actor, item: Item, **fields: Any) -> ItemVersion:
    """Edit an item. A draft version changes in place; an approved head gets a new draft version.

    Fields not given keep their current values. An item in review must be sent back first;
    a retired item cannot be edited.
    """
    if item.status == "retired":
        raise Conflict("retired", "已停用的试题不能修改 (a retired item cannot be edited)", "status")
    head = item.head_version
    if head.status == "in_review":
        raise Conflict("in_review", "试题正在审核中，不能修改 (the item is in review; it cannot be edited now)",
                       "status")
    merged = {**head.content(), **{k: v for k, v in fields.items() if k in CONTENT_FIELDS or k == "level"}}
    clean, problems = validate_item(item.item_type, merged, element_codes=element_codes(s, item.standard))
    _raise_problems(problems)
    before = head.content()
    digest = content_digest(item.item_type, clean)
    if head.status == "draft":
        for k, v in clean.items():
            setattr(head, k, v)
        head.digest = digest
        version = head
    else:  # approved head: a new version; the approved one stays in use until the new one is approved
        version = ItemVersion(item_id=item.id, number=head.number + 1, status="draft", author_id=actor.account_id,
                              digest=digest, **clean)
        s.add(version)
        s.flush()
        item.head_version_id = version.id
        item.head_version = version
    item.status = "draft"
    item.updated_at = utcnow()
    s.flush()
    changed = {k: [before.get(k), v] for k, v in clean.items() if before.get(k) != v}
    audit.record(s, actor, "item.edit", "item", item.id,
                 {"version": version.number, "digest": digest, "new_version": version is not head,
                  "changes": changed})
    return version


def submit_for_review(s: Session, actor: Actor, item: Item) -> Item:
    """Send the head version to review (draft → in_review)."""
    if item.status != "draft" or item.head_version.status != "draft":
        raise Conflict("bad_state", f"只有草稿可以送审 (only a draft can be sent to review; it is {item.status})",
                       "status")
    now = utcnow()
    item.head_version.status = "in_review"
    item.head_version.submitted_at = now
    item.status = "in_review"
    item.updated_at = now
    s.flush()
    audit.record(s, actor, "item.submit", "item", item.id,
                 {"version": item.head_version.number, "digest": item.head_version.digest})
    return item


def submit_items(s: Session, actor: Actor, items: Sequence[Item]) -> int:
    """Send several drafts to review at once; one audit record lists every item and digest."""
    now, done = utcnow(), []
    for item in items:
        if item.status != "draft" or item.head_version.status != "draft":
            raise Conflict("bad_state", f"试题 {item.code} 不是草稿 (item {item.code} is not a draft)", "status")
        item.head_version.status, item.head_version.submitted_at = "in_review", now
        item.status, item.updated_at = "in_review", now
        done.append({"item_id": item.id, "version": item.head_version.number, "digest": item.head_version.digest})
    s.flush()
    if done:
        audit.record(s, actor, "item.submit_batch", "item", ",".join(str(d["item_id"]) for d in done)[:64],
                     {"items": done})
    return len(done)


def _check_reviewer(actor: Actor, item: Item) -> None:
    if actor.account_id is not None and actor.account_id in (item.author_id, item.head_version.author_id):
        raise Forbidden("own_item", "审题人员不能审核自己编写的试题 (a reviewer never reviews their own item)",
                        "reviewer")


def review_item(s: Session, actor: Actor, item: Item, *, decision: str, comment: str = "",
                audit_it: bool = True, flush: bool = True) -> Item:
    """A reviewer approves the version in review or sends it back to draft with a comment."""
    if decision not in ("approve", "reject"):
        raise DomainError("bad_decision", f"审核结论应为 approve 或 reject (got {decision!r})", "decision")
    if item.status != "in_review" or item.head_version.status != "in_review":
        raise Conflict("bad_state", f"试题不在待审状态 (the item is not in review; it is {item.status})", "status")
    _check_reviewer(actor, item)
    if decision == "reject" and not (comment or "").strip():
        raise DomainError("required", "退回时须写明意见 (say why when sending an item back)", "comment")
    now = utcnow()
    v = item.head_version
    v.reviewed_by, v.reviewed_at, v.review_comment = actor.account_id, now, (comment or "").strip()[:1000]
    if decision == "approve":
        old = item.approved_version
        if old is not None and old.id != v.id:
            old.status = "superseded"
        v.status = "approved"
        item.approved_version_id = v.id
        item.approved_version = v
        item.status = "approved"
    else:
        v.status = "draft"
        item.status = "draft"
    item.updated_at = now
    s.add(ItemReview(item_id=item.id, version_id=v.id, reviewer_id=actor.account_id or 0, decision=decision,
                     comment=v.review_comment, at=now))
    if flush:
        s.flush()
    if audit_it:
        audit.record(s, actor, f"item.{decision}", "item", item.id,
                     {"version": v.number, "digest": v.digest, "comment": v.review_comment})
    return item


def review_items(s: Session, actor: Actor, items: Sequence[Item], *, decision: str, comment: str = "") -> int:
    """Review several items in one decision (批量审核); one audit record lists every item and digest."""
    done = []
    for item in items:
        review_item(s, actor, item, decision=decision, comment=comment, audit_it=False, flush=False)
        done.append({"item_id": item.id, "version": item.head_version.number, "digest": item.head_version.digest})
    s.flush()
    if done:
        audit.record(s, actor, f"item.{decision}_batch", "item", ",".join(str(d["item_id"]) for d in done)[:64],
                     {"items": done, "comment": comment})
    return len(done)


def retire_item(s: Session, actor: Actor, item: Item, *, reason: str) -> Item:
    """Take an approved item out of use (approved → retired); papers keep their pinned versions."""
    if item.status == "retired":
        raise Conflict("bad_state", "试题已停用 (already retired)", "status")
    if item.approved_version_id is None:
        raise Conflict("bad_state", "只有已审定的试题可以停用 (only an approved item can be retired)", "status")
    if not (reason or "").strip():
        raise DomainError("required", "请写明停用原因 (give a reason)", "reason")
    item.status = "retired"
    item.retired_at = item.updated_at = utcnow()
    s.flush()
    audit.record(s, actor, "item.retire", "item", item.id, {"reason": reason.strip()})
    return item


def set_calibration(s: Session, actor: Actor, item: Item, *, p: float | None = None, a: float | None = None,
                    b: float | None = None, c: float | None = None, n: int | None = None) -> Item:
    """Store difficulty calibrated from real answers (item analysis); not a content change."""
    problems = difficulty_problems(p, a, b, c)
    _raise_problems(problems)
    before = {"p": item.calibrated_p, "a": item.calibrated_a, "b": item.calibrated_b, "c": item.calibrated_c}
    item.calibrated_p, item.calibrated_a, item.calibrated_b, item.calibrated_c, item.calibrated_n = p, a, b, c, n
    s.flush()
    audit.record(s, actor, "item.calibrate", "item", item.id, {"before": before, "p": p, "a": a, "b": b, "c": c,
                                                               "n": n})
    return item


def item_summary(item: Item) -> dict[str, Any]:
    """A short JSON view of an item for lists (staff only: contains no key)."""
    v = item.head_version
    return {"id": item.id, "code": item.code, "item_type": item.item_type, "status": item.status,
            "version": v.number if v else None, "approved_version": item.approved_version.number
            if item.approved_version else None, "element_code": v.element_code if v else None,
            "levels": v.levels if v else [], "source": v.source if v else None,
            "stem_text": richtext.text_of(v.stem)[:160] if v else "", "difficulty": item.difficulty(),
            "enemy_group": v.enemy_group if v else None, "exposure_count": item.exposure_count,
            "author_id": item.author_id, "updated_at": item.updated_at.isoformat() if item.updated_at else None}


def version_detail(v: ItemVersion, *, with_key: bool = True) -> dict[str, Any]:
    out = {"id": v.id, "number": v.number, "status": v.status, "element_code": v.element_code, "levels": v.levels,
           "source": v.source, "enemy_group": v.enemy_group, "stem": v.stem, "options": v.options,
           "p": v.p, "irt_a": v.irt_a, "irt_b": v.irt_b, "irt_c": v.irt_c, "points": v.points, "digest": v.digest,
           "author_id": v.author_id, "created_at": v.created_at.isoformat() if v.created_at else None,
           "reviewed_by": v.reviewed_by, "review_comment": v.review_comment}
    if with_key:
        out.update(answer=v.answer, explanation=v.explanation, rubric=v.rubric)
    return out


def candidate_item(item_type: str, v: ItemVersion) -> dict[str, Any]:
    """How a candidate sees one item: stem and options only — never the key, explanation or deductions."""
    out: dict[str, Any] = {"item_type": item_type, "stem": v.stem}
    if item_type in ("single", "multiple"):
        out["options"] = [{"key": o["key"], "html": o["html"]} for o in v.options]
    elif item_type == "judge":
        out["options"] = [{"key": "T", "html": "正确"}, {"key": "F", "html": "错误"}]
    elif item_type == "fill":
        out["blanks"] = blanks_in(v.stem)
    elif item_type == "practical":
        r = v.rubric or {}
        out["task"] = {"time_minutes": r.get("time_minutes"), "equipment": list(r.get("equipment") or []),
                       "safety": r.get("safety", ""),
                       "criteria": [{"name": c["name"], "max_points": c["max_points"]} for c in r.get("criteria", [])]}
    return out


def preview(item_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The live preview of unsaved fields as the candidate will see them, and the problems found so far."""
    clean, problems = validate_item(item_type, fields)
    v = ItemVersion(stem=clean.get("stem", ""), options=clean.get("options", []), rubric=clean.get("rubric"))
    view = candidate_item(item_type, v) if item_type in ITEM_TYPES else {}
    return {"view": view, "problems": [p.as_dict() for p in problems]}
