"""Violation rules (违纪违规行为处理): which article applies, what it entails, and the procedure.

Source: 技能人才评价违纪违规行为处理工作指引（试行）, 人社职司便函〔2021〕57号 (seed 003, cited below as
"指引 art. N"). Pure code: plain data in, plain data out; no session and no clock (callers pass
``now``/``today``).

Consequences (指引 art. 5–15):

* art. 5 — a candidate who, after a warning, keeps prohibited items, leaves the seat, disturbs the room,
  or otherwise breaks the room rules short of cheating: **that subject's** result of this sitting is
  cancelled (取消其当次该科目的评价成绩).
* art. 6 — devices that photograph/store/transmit/communicate, copying or helping to copy, damaging
  papers or work pieces, taking items or answers out, other cheating without serious disturbance: **all
  subjects** of this sitting cancelled and barred **for the rest of that year** (当年不得参加评价).
* art. 7 — false eligibility, obtaining items beforehand, robbing/coercion, impersonation, organised
  cheating, damaging equipment, other grave disorder: all subjects cancelled, barred **2 years** when minor
  (情节轻微) and **5 years** when serious (情节严重), serious cases referred to the authorities (移送).
* art. 8 — found after the sitting: handled under art. 5–7, and the results are declared void and issued
  certificates and uploaded certificate data are revoked.
* art. 9 — proctoring/administration staff (考务管理人员): lose eligibility for assessment work for the year
  (取消其当年参加评价工作的资格).
* art. 10 — examiners (考评人员): examiner certificate revoked by its issuer (吊销其考评人员证书).
* art. 11 — quality supervisors (质量督导员): handled under the applicable rules.
* art. 12–15 — agencies: interview (约谈) and results possibly void (12); warning, rectification, suspension,
  bad-credit list (13); termination of filing (14); uploaded certificate data revoked (15).

Ban periods are counted from the day of the sitting (the act), so that "当年" (art. 6) is the calendar
year of the sitting and "2年内/5年内" (art. 7) end the day before the same date 2 or 5 years later. A case
found after the fact (art. 8) may therefore carry a ban that has already run out; it is still recorded.

Procedure (指引 art. 16–20), as the state machine of :func:`advance`:

``opened`` (a staff member records the facts and signs) → ``signed`` (a second staff member co-signs;
≥2 signatures, art. 16) → ``confirmed`` (the room chief confirms; for staff cases the agency, for agency cases
the centre, art. 16) → ``notified`` (the intended decision with facts, reasons and basis is told to the person,
who may file a statement until a deadline, art. 17) → ``decided`` (a written decision, delivered, art. 17) →
``review_requested`` (the person contests it, art. 19) → ``reviewed`` (a review decision, art. 19). A case
can be ``dismissed`` before the decision. Every case stays in the archive whatever its end (art. 20).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

#: Who a case is about.
PARTIES = {
    "candidate": ("参评人员", "Candidate"),
    "staff": ("工作人员", "Staff member"),
    "agency": ("评价机构", "Evaluation agency"),
}


@dataclasses.dataclass(frozen=True)
class Clause:
    """One clause (款项) of an article: the text it is cited by, and the category code that proposes it."""

    article: int
    clause: int | None
    category: str
    zh: str
    en: str

    @property
    def citation(self) -> str:
        """E.g. ``第六条第（二）项``."""
        return citation(self.article, self.clause)


CN_NUM = "〇一二三四五六七八九十"


def _cn(n: int) -> str:
    if n <= 10:
        return CN_NUM[n]
    if n < 20:
        return "十" + (CN_NUM[n - 10] if n > 10 else "")
    return CN_NUM[n // 10] + "十" + (CN_NUM[n % 10] if n % 10 else "")


def citation(article: int, clause: int | None) -> str:
    """The Chinese citation of an article and clause, e.g. ``第六条第（二）项``."""
    out = f"第{_cn(article)}条"
    if article == 15 and clause:  # art. 15 has paragraphs (款), not numbered items (项)
        return out + f"第{_cn(clause)}款"
    return out + (f"第（{_cn(clause)}）项" if clause else "")


#: Every clause the system can cite, by (article, clause). Texts abridged from 指引 art. 5–15.
CLAUSES: dict[tuple[int, int | None], Clause] = {(c.article, c.clause): c for c in [
    # art. 5: candidates, that subject cancelled
    Clause(5, 1, "prohibited_items", "携带禁携物品进入座位或未放在指定位置，经提醒拒不改正",
           "Kept prohibited items at the seat after a warning"),
    Clause(5, 2, "left_seat", "未在规定座位参加评价或擅自离开座位，经提醒拒不改正",
           "Not in the assigned seat, or left it without leave, after a warning"),
    Clause(5, 3, "disturbance", "在考场禁止范围内喧哗、吸烟或影响考场秩序，经提醒拒不改正",
           "Noise, smoking or disturbing the room after a warning"),
    Clause(5, 4, "rule_breach", "其他违反考场规则但尚未构成作弊的行为",
           "Other breach of the room rules short of cheating"),
    # art. 6: candidates, all subjects cancelled, barred for the year
    Clause(6, 1, "device", "使用规定以外的带拍照、存储、传输或通讯功能的电子设备",
           "Used a device that photographs, stores, transmits or communicates"),
    Clause(6, 2, "copying", "抄袭或协助他人抄袭试题答案或与评价内容相关资料",
           "Copied answers or helped another candidate copy"),
    Clause(6, 3, "damaged_papers", "故意损毁试卷、工件或考试材料", "Deliberately damaged papers, work pieces or materials"),
    Clause(6, 4, "took_items_out", "擅自将试题、答卷或者有关内容带出考场", "Took items or answers out of the room"),
    Clause(6, 5, "other_cheating", "存在其他作弊但对其他应试人员未造成严重干扰的行为",
           "Other cheating without serious disturbance to others"),
    # art. 7: candidates, all cancelled, barred 2 or 5 years
    Clause(7, 1, "false_eligibility", "通过虚假承诺、提供虚假材料等非正当手段取得参加评价资格",
           "Obtained eligibility by false statements or documents"),
    Clause(7, 2, "items_beforehand", "评价前以非正当手段获得试题或答案或进行传播",
           "Obtained or spread items or answers before the assessment"),
    Clause(7, 3, "robbery_coercion", "抢夺、窃取他人试卷或胁迫他人配合作弊、偷换工量器具或工件",
           "Seized others' papers, coerced others to cheat, swapped tools or work pieces"),
    Clause(7, 4, "impersonation", "由他人冒名顶替参加评价或替他人参加评价", "Impersonation (sat for another or was replaced)"),
    Clause(7, 5, "organised_cheating", "串通作弊或参与有组织作弊", "Collusion or organised cheating"),
    Clause(7, 6, "damaged_equipment", "故意损毁评价设备、材料，造成设备事故、人身伤害或设备主要零部件损坏",
           "Deliberately damaged equipment, causing an accident, injury or major damage"),
    Clause(7, 7, "grave_disorder", "其他影响恶劣或严重扰乱评价管理秩序的行为", "Other grave disruption of the assessment"),
    # art. 9: proctoring and administration staff
    Clause(9, 1, "lax_eligibility_check", "对参评人员资格审查不严", "Lax checking of candidates' eligibility"),
    Clause(9, 2, "papers_handling", "不按规定按时领取、分发和收回试卷或相关材料",
           "Did not collect, hand out or take back papers as required"),
    Clause(9, 3, "room_disorder", "未认真履行职责造成考场秩序混乱，或对作弊不及时制止或上报，或参与违规组织考试",
           "Neglect causing disorder, failing to stop or report cheating, or organising irregular exams"),
    Clause(9, 4, "certificate_fraud_staff", "在证书管理工作中弄虚作假、徇私舞弊", "Fraud or favouritism in certificate work"),
    Clause(9, 5, "other_staff_breach", "其他违反考务管理、证书管理、工作人员有关规定的行为",
           "Other breach of administration, certificate or staff rules"),
    # art. 10: examiners
    Clause(10, 1, "marking_off_key", "未按照参考答案或评分标准阅卷评分，或因失职造成阅评结果重大错误",
           "Marked not to the key or scheme, or negligence causing major marking errors"),
    Clause(10, 2, "altered_records", "盗窃、损毁、偷换、违规涂改答卷、成绩或原始记录，或弄虚作假",
           "Stole, damaged, swapped or altered answer sheets, scores or records"),
    Clause(10, 3, "sold_items", "非法出售、提供试题、答案", "Sold or leaked items or answers"),
    # art. 11: quality supervisors
    Clause(11, None, "supervisor_breach", "质量督导员违反考务管理、督导工作管理等有关规定，造成不良影响",
           "Supervisor broke administration or supervision rules with ill effect"),
    # art. 12: agencies, interview
    Clause(12, 1, "agency_lax_eligibility", "对参评人员参评资格审核不严，未执行职业技能标准或评价规范，情节轻微",
           "Lax eligibility review or not following the standard (minor)"),
    Clause(12, 2, "agency_lax_organisation", "评价组织管理松懈、考场或人员配备不符规定、阅卷不规范，情节轻微",
           "Lax organisation, rooms or staffing, irregular marking (minor)"),
    Clause(12, 3, "agency_records", "技能人才评价档案材料保存不完整、管理不规范", "Incomplete or poorly kept assessment records"),
    Clause(12, 4, "agency_no_supervision", "对评价活动未安排质量督导或不符合督导规程，情节轻微",
           "No quality supervision arranged, or not per the rules (minor)"),
    # art. 13: agencies, warning and suspension
    Clause(13, 1, "agency_art12_serious", "第十二条所列情况，情节严重", "An art. 12 case, serious"),
    Clause(13, 2, "agency_wrong_place", "未严格按照规定区域和地点组织开展评价", "Assessed outside the filed area or places"),
    Clause(13, 3, "agency_idle", "一年内无正当理由不开展评价活动", "No assessment within a year without good reason"),
    Clause(13, 4, "agency_false_ads", "进行评价“包过”“保过”等虚假宣传", "Advertised guaranteed passes"),
    Clause(13, 5, "agency_not_rectified", "对发现的违规问题未按期完成整改", "Did not rectify problems in time"),
    Clause(13, 6, "agency_under_investigation", "因涉嫌违纪违规问题正在调查核实", "Under investigation"),
    Clause(13, 7, "agency_complaint", "被投诉举报并经核实", "Complaint verified"),
    # art. 14: agencies, filing terminated
    Clause(14, 1, "agency_false_filing", "备案申请中故意提供虚假承诺、虚假资料", "False statements in the filing"),
    Clause(14, 2, "agency_out_of_scope", "严重超出备案范围开展评价工作", "Assessed seriously beyond the approved scope"),
    Clause(14, 3, "agency_forged_applications", "为参评人员伪造申报资料或证件，或纵容违规报名",
           "Forged applications or condoned irregular registration"),
    Clause(14, 4, "agency_organised_cheating", "考场秩序混乱，有组织舞弊", "Disorder with organised cheating"),
    Clause(14, 5, "agency_certificate_fraud", "证书数据造假", "Falsified certificate data"),
    Clause(14, 6, "agency_repeat", "已被警告，整改后再次违反第十三条", "Repeated an art. 13 breach after a warning"),
    Clause(14, 7, "agency_idle_long", "一年（含）以上不开展评价工作", "No assessment for a year or more"),
    Clause(14, 8, "agency_grave", "其他不履行工作承诺，造成严重不良社会影响", "Other grave breach of commitments"),
    # art. 15: certificate data
    Clause(15, 1, "agency_bad_upload", "超范围上传证书数据、上传证书数据有错误", "Uploaded certificate data out of scope or wrong"),
    Clause(15, 2, "data_misuse", "超范围读取证书数据、泄露个人隐私、利用证书数据提供有偿服务",
           "Read certificate data beyond scope, leaked personal data, or sold data services"),
]}

#: The party each article applies to.
ARTICLE_PARTY = {5: "candidate", 6: "candidate", 7: "candidate", 9: "staff", 10: "staff", 11: "staff",
                 12: "agency", 13: "agency", 14: "agency", 15: "agency"}
#: Category code → (article, clause): what the system proposes from the category a proctor picks.
CATEGORIES: dict[str, tuple[int, int | None]] = {c.category: key for key, c in CLAUSES.items()}
SEVERITIES = {"minor": ("情节轻微", "minor"), "serious": ("情节严重", "serious")}

#: Default procedure windows. The guideline sets none; these are the agency's settings (art. 22 lets
#: provinces set details) and can be passed explicitly.
STATEMENT_DAYS = 5
REVIEW_DAYS = 15


class RuleError(ValueError):
    """A request the rules refuse; ``field`` names the input at fault, ``code`` is stable."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def clause_of(article: int, clause: int | None) -> Clause:
    try:
        return CLAUSES[(article, clause)]
    except KeyError:
        raise RuleError("bad_article", f"指引无第{article}条第{clause}项 (no such article/clause: {article}({clause}))",
                        "clause") from None


def propose(category: str) -> Clause:
    """The article and clause the system proposes for a category (people may choose another)."""
    if category not in CATEGORIES:
        raise RuleError("bad_category", f"未知的违纪类别 {category!r} (unknown category)", "category")
    return CLAUSES[CATEGORIES[category]]


def categories_for(party: str) -> list[Clause]:
    """Clauses a case about ``party`` may cite, in article order."""
    if party not in PARTIES:
        raise RuleError("bad_party", f"未知当事方 {party!r} (unknown party)", "party")
    return [c for key, c in sorted(CLAUSES.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))
            if ARTICLE_PARTY[c.article] == party]


# --- consequences ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Consequence:
    """What a decision under one article entails (指引 art. 5–15), as plain data.

    ``cancel`` is ``"subject"`` (that subject of the sitting), ``"all"`` (every subject of the sitting) or
    None. ``ban_starts``/``ban_ends`` bound the assessment ban (both None when there is none).
    ``void_results``/``revoke_certificates``: art. 8 (found after the fact) and agency articles.
    ``staff_ineligible_until``: art. 9. ``agency_measures``: codes of :data:`AGENCY_MEASURES`.
    """

    article: int
    clause: int | None
    cancel: str | None = None
    ban_starts: dt.date | None = None
    ban_ends: dt.date | None = None
    referral: bool = False
    void_results: bool = False
    revoke_certificates: bool = False
    staff_ineligible_until: dt.date | None = None
    examiner_certificate_revoked: bool = False
    agency_measures: tuple[str, ...] = ()

    def summary(self) -> tuple[str, str]:
        """(Chinese, English) one-line description, as printed on notices and decisions."""
        zh, en = [], []
        if self.cancel == "subject":
            zh.append("取消当次该科目评价成绩")
            en.append("result of this subject at this sitting cancelled")
        elif self.cancel == "all":
            zh.append("取消当次全部科目评价成绩")
            en.append("results of all subjects at this sitting cancelled")
        if self.ban_ends is not None:
            zh.append(f"{self.ban_starts:%Y年%m月%d日}至{self.ban_ends:%Y年%m月%d日}不得参加评价")
            en.append(f"barred from assessment {self.ban_starts} to {self.ban_ends}")
        if self.referral:
            zh.append("依据有关法律法规移送有关部门")
            en.append("referred to the competent authorities")
        if self.void_results:
            zh.append("宣布评价成绩无效")
            en.append("results declared void")
        if self.revoke_certificates:
            zh.append("撤销已发放证书及已上网证书数据")
            en.append("issued certificates and uploaded certificate data revoked")
        if self.staff_ineligible_until is not None:
            zh.append(f"取消其当年参加评价工作的资格（至{self.staff_ineligible_until:%Y年%m月%d日}）")
            en.append(f"not eligible for assessment work until {self.staff_ineligible_until}")
        if self.examiner_certificate_revoked:
            zh.append("由考评人员证书颁发部门吊销其考评人员证书")
            en.append("examiner certificate to be revoked by its issuer")
        for m in self.agency_measures:
            zh.append(AGENCY_MEASURES[m][0])
            en.append(AGENCY_MEASURES[m][1])
        if not zh:
            zh.append("由评价机构按有关规定作出相应处理")
            en.append("handled under the applicable rules")
        return "；".join(zh), "; ".join(en)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k in ("ban_starts", "ban_ends", "staff_ineligible_until"):
            d[k] = d[k].isoformat() if d[k] else None
        d["agency_measures"] = list(self.agency_measures)
        return d


AGENCY_MEASURES = {
    "interview": ("约谈主要负责人，提醒规范操作，视情况宣布当次评价证书或成绩部分或全部无效",
                  "interview with the head; results may be declared partly or wholly void"),
    "warning": ("予以警告，限期整改，整改期间暂停评价活动", "warning, rectification, assessment suspended meanwhile"),
    "bad_credit": ("视情况列入诚信不良档案并向社会公布", "may be entered in the bad-credit record and published"),
    "terminate_filing": ("终止备案，对涉及的证书及数据作出相应处理", "filing terminated; certificates and data concerned handled"),
    "revoke_data": ("撤销违规上传的证书数据，视情节警告、暂停评价活动直至终止备案",
                    "wrongly uploaded certificate data revoked; warning, suspension or termination as warranted"),
    "withdraw_data_access": ("取消证书数据读取权限并责令删除已读取数据", "certificate data access withdrawn, data to be deleted"),
}


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar date ``years`` later (29 February → 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def consequence(article: int, clause: int | None, *, sitting_date: dt.date, severity: str | None = None,
                found_after: bool = False) -> Consequence:
    """The consequence of a decision under 指引 ``article`` (``clause``) for a violation on ``sitting_date``.

    ``severity`` ('minor' or 'serious') is required for art. 7 (2 or 5 years) and used by art. 13(1);
    ``found_after`` applies art. 8 (results void, certificates revoked) to candidate articles 5–7.
    """
    c = clause_of(article, clause)
    if severity is not None and severity not in SEVERITIES:
        raise RuleError("bad_severity", f"情节应为 minor 或 serious (severity must be minor or serious), got {severity!r}",
                        "severity")
    if type(sitting_date) is not dt.date:
        raise RuleError("bad_date", "须给出评价日期 (sitting_date must be a date)", "sitting_date")
    after = dict(void_results=True, revoke_certificates=True) if found_after else {}
    if article == 5:  # art. 5: that subject
        return Consequence(5, c.clause, cancel="subject", **after)
    if article == 6:  # art. 6: all subjects, barred for the rest of the year of the sitting
        return Consequence(6, c.clause, cancel="all", ban_starts=sitting_date,
                           ban_ends=dt.date(sitting_date.year, 12, 31), **after)
    if article == 7:  # art. 7: all subjects, 2 years (minor) / 5 years (serious) + referral
        if severity is None:
            raise RuleError("severity_required", "第七条须认定情节轻微或严重 (art. 7 needs the severity: minor or serious)",
                            "severity")
        years = 2 if severity == "minor" else 5
        return Consequence(7, c.clause, cancel="all", ban_starts=sitting_date,
                           ban_ends=add_years(sitting_date, years) - dt.timedelta(days=1),
                           referral=severity == "serious", **after)
    if found_after:
        raise RuleError("not_candidate_article", "第八条只适用于第五至七条 (art. 8 applies to art. 5–7 only)", "found_after")
    if article == 9:  # art. 9: no assessment work for the rest of that year
        return Consequence(9, c.clause, staff_ineligible_until=dt.date(sitting_date.year, 12, 31))
    if article == 10:  # art. 10: examiner certificate revoked; not to examine meanwhile
        return Consequence(10, c.clause, examiner_certificate_revoked=True)
    if article == 11:
        return Consequence(11, c.clause)
    if article == 12:
        return Consequence(12, c.clause, agency_measures=("interview",))
    if article == 13:
        return Consequence(13, c.clause, agency_measures=("warning", "bad_credit"))
    if article == 14:
        return Consequence(14, c.clause, agency_measures=("terminate_filing",), revoke_certificates=c.clause == 5)
    if article == 15:
        return Consequence(15, c.clause, agency_measures=("revoke_data",) if c.clause == 1 else ("withdraw_data_access",))
    raise RuleError("bad_article", f"第{article}条没有处理规定 (article {article} carries no consequence)", "article")


# --- the procedure ---------------------------------------------------------------------------------

STATUSES = {
    "opened": ("已登记", "Opened"),
    "signed": ("已会签", "Co-signed"),
    "confirmed": ("已确认", "Confirmed"),
    "notified": ("已告知", "Notice sent"),
    "decided": ("已决定", "Decided"),
    "review_requested": ("申请复核", "Review requested"),
    "reviewed": ("已复核", "Reviewed"),
    "dismissed": ("已撤案", "Dismissed"),
}
OPEN_STATUSES = ("opened", "signed", "confirmed", "notified")
#: Staff roles whose members may record and co-sign a case (指引 art. 21: 工作人员).
SIGNER_ROLES = frozenset({"proctor", "chief_proctor", "examiner", "supervisor", "agency_admin", "center_auditor"})
#: Who confirms a case (art. 16): the room chief for candidates; the agency for staff; the centre for agencies.
CONFIRMER_ROLES = {"candidate": frozenset({"chief_proctor"}), "staff": frozenset({"agency_admin", "center_auditor"}),
                   "agency": frozenset({"center_auditor"})}
#: Who notifies, decides and reviews (art. 16–19): the agency for candidates and staff, the centre for agencies.
DECIDER_ROLES = {"candidate": frozenset({"agency_admin", "center_auditor"}),
                 "staff": frozenset({"agency_admin", "center_auditor"}),
                 "agency": frozenset({"center_auditor"})}
DECISION_OUTCOMES = {"violation": ("认定违纪违规", "violation found"), "no_violation": ("不予认定", "no violation")}
REVIEW_OUTCOMES = {"upheld": ("维持原决定", "decision upheld"), "amended": ("变更原决定", "decision amended"),
                   "revoked": ("撤销原决定", "decision revoked")}


@dataclasses.dataclass(frozen=True)
class CaseFacts:
    """What the procedure needs to know about a case."""

    party: str
    status: str
    signer_ids: frozenset[int] = frozenset()
    party_account_ids: frozenset[int] = frozenset()
    statement_due: dt.datetime | None = None
    statements: int = 0
    waived: bool = False
    outcome: str | None = None
    delivered_at: dt.datetime | None = None
    review_due: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Who:
    account_id: int
    role: str


def _refuse(code: str, zh: str, en: str, field: str | None = None) -> RuleError:
    return RuleError(code, f"{zh} ({en})", field)


def signatures_needed(facts: CaseFacts, confirmer_id: int | None = None) -> int:
    """How many more signatures (by people other than ``confirmer_id``) art. 16 needs; 0 when enough."""
    others = {a for a in facts.signer_ids if a != confirmer_id}
    return max(0, 2 - len(others))


def advance(facts: CaseFacts, action: str, who: Who, now: dt.datetime) -> str:
    """The status after ``who`` takes ``action`` on a case at ``now``; raises :class:`RuleError` when the
    guideline's procedure does not allow it.

    Actions: ``cosign``, ``confirm``, ``notify``, ``file_statement``, ``waive_statement``, ``decide``,
    ``request_review``, ``review``, ``dismiss``.
    """
    st, party = facts.status, facts.party
    if party not in PARTIES:
        raise _refuse("bad_party", "未知当事方", "unknown party", "party")
    if action == "cosign":  # art. 16: ≥2 staff sign
        if st not in ("opened", "signed"):
            raise _refuse("bad_status", f"案件状态为{STATUSES[st][0]}，不能再会签", f"cannot co-sign a case that is {st}")
        if who.role not in SIGNER_ROLES:
            raise _refuse("not_staff", "只有工作人员可以签字", "only staff members sign", "role")
        if who.account_id in facts.signer_ids:
            raise _refuse("already_signed", "同一人不能重复签字，须另一名工作人员会签",
                          "the same person cannot sign twice; a second staff member must co-sign")
        if who.account_id in facts.party_account_ids:
            raise _refuse("own_case", "不能在涉及本人的案件上签字", "cannot sign a case about oneself")
        return "signed" if len(facts.signer_ids | {who.account_id}) >= 2 else "opened"
    if action == "confirm":  # art. 16: reported to and confirmed by the room chief
        if who.role not in CONFIRMER_ROLES[party]:
            raise _refuse("not_confirmer", "须由考场负责人确认" if party == "candidate" else "无权确认此案件",
                          "only the room chief confirms" if party == "candidate" else "not allowed to confirm", "role")
        if st not in ("opened", "signed"):
            raise _refuse("bad_status", f"案件状态为{STATUSES[st][0]}，不能确认", f"cannot confirm a case that is {st}")
        if signatures_needed(facts, who.account_id):
            raise _refuse("needs_two_signatures", "确认前须有2名（含）以上其他工作人员签字",
                          "two staff signatures (besides the confirmer) are needed before confirmation")
        return "confirmed"
    if action == "notify":  # art. 17 (1): tell the intended decision, facts, reasons and basis
        if who.role not in DECIDER_ROLES[party]:
            raise _refuse("not_decider", "无权告知处理决定", "not allowed to notify", "role")
        if st != "confirmed":
            raise _refuse("bad_status", "须先经确认才能告知拟处理决定", "the case must be confirmed before the notice")
        return "notified"
    if action in ("file_statement", "waive_statement"):  # art. 17/19: statement and defence
        if who.account_id not in facts.party_account_ids:
            raise _refuse("not_party", "只有当事人可以陈述申辩", "only the person concerned may file a statement")
        if st != "notified":
            raise _refuse("bad_status", "现在不能提交陈述申辩", "no statement can be filed now")
        if facts.statement_due is not None and now > facts.statement_due:
            raise _refuse("deadline_passed", f"陈述申辩期限已于 {facts.statement_due:%Y-%m-%d %H:%M} 届满",
                          "the statement deadline has passed", "text")
        return "notified"
    if action == "decide":  # art. 17 (2): written decision, only after the notice and the statement window
        if who.role not in DECIDER_ROLES[party]:
            raise _refuse("not_decider", "无权作出处理决定", "not allowed to decide", "role")
        if st != "notified":
            raise _refuse("notice_first", "作出处理决定前须先告知当事人拟处理决定及事实、理由和依据",
                          "the person must be told the intended decision, facts, reasons and basis first")
        if not (facts.statements or facts.waived) and facts.statement_due is not None and now <= facts.statement_due:
            raise _refuse("statement_window_open", f"陈述申辩期限至 {facts.statement_due:%Y-%m-%d %H:%M}，期满或当事人提交陈述后方可决定",
                          "wait for the statement or the end of the statement window")
        return "decided"
    if action == "request_review":  # art. 19
        if who.account_id not in facts.party_account_ids:
            raise _refuse("not_party", "只有当事人可以申请复核", "only the person concerned may ask for review")
        if st != "decided" or facts.outcome != "violation":
            raise _refuse("bad_status", "只能对认定违纪违规的处理决定申请复核", "only a decision finding a violation can be reviewed")
        if facts.review_due is not None and now > facts.review_due:
            raise _refuse("deadline_passed", f"复核申请期限已于 {facts.review_due:%Y-%m-%d} 届满", "the review window has closed",
                          "text")
        return "review_requested"
    if action == "review":  # art. 19: a review decision
        if who.role not in DECIDER_ROLES[party]:
            raise _refuse("not_decider", "无权作出复核决定", "not allowed to decide the review", "role")
        if st != "review_requested":
            raise _refuse("bad_status", "没有待复核的申请", "no review has been requested")
        return "reviewed"
    if action == "dismiss":
        if who.role not in CONFIRMER_ROLES[party] | DECIDER_ROLES[party]:
            raise _refuse("not_allowed", "无权撤案", "not allowed to dismiss", "role")
        if st not in OPEN_STATUSES:
            raise _refuse("bad_status", "已决定的案件不能撤案，只能复核", "a decided case can only be reviewed")
        return "dismissed"
    raise _refuse("bad_action", f"未知操作 {action!r}", "unknown action", "action")


def statement_deadline(notified_at: dt.datetime, days: int = STATEMENT_DAYS) -> dt.datetime:
    """End of the statement window (art. 17): ``days`` full days after the notice."""
    if days < 1:
        raise RuleError("bad_days", "陈述申辩期限至少1天 (at least one day)", "statement_days")
    return notified_at + dt.timedelta(days=days)


def review_deadline(delivered_at: dt.datetime, days: int = REVIEW_DAYS) -> dt.datetime:
    """Last moment to ask for a review (art. 19): ``days`` after delivery of the decision."""
    if days < 1:
        raise RuleError("bad_days", "复核申请期限至少1天 (at least one day)", "review_days")
    return delivered_at + dt.timedelta(days=days)


def quarter_statistics(cases: Iterable[dict]) -> dict:
    """Counts for the quarterly quality report (seed 002: violations found and handled).

    ``cases`` are dicts with ``party``, ``status``, ``article`` (None until notified) and ``outcome``.
    """
    out = {"found": 0, "handled": 0, "dismissed": 0, "open": 0, "by_party": {}, "by_article": {}, "reviews": 0}
    for c in cases:
        out["found"] += 1
        out["by_party"][c["party"]] = out["by_party"].get(c["party"], 0) + 1
        if c["status"] in ("decided", "review_requested", "reviewed"):
            out["handled"] += 1
            if c.get("outcome") == "violation" and c.get("article"):
                key = str(c["article"])
                out["by_article"][key] = out["by_article"].get(key, 0) + 1
        elif c["status"] == "dismissed":
            out["dismissed"] += 1
        else:
            out["open"] += 1
        if c["status"] in ("review_requested", "reviewed"):
            out["reviews"] += 1
    return out
