"""Pure rules of exam administration (考务): plain data in, plain data out; no session, no clock.

Sources (seed file + article):

* Filing ≥10 working days before the first session: seed 003, 豫人社办〔2020〕19号 §四(三)
  ("认定机构需提前10个工作日将职业技能等级认定计划报所备案的鉴定中心") and 关于征集社会培训评价组织的通知 §五(一)
  (plan 附件4 and roster 附件5 filed together).
* Results reported ≤10 working days after the assessment ends: seed 003, 豫人社办〔2020〕19号 §四(五).
* Supervisor report within 3 working days (seed 003, 河南省职业技能考核鉴定机构备案及管理办法 art. 19) or 5
  (豫人社办〔2020〕19号 §四(四)); the number is per plan.
* Examiners hold level 3 or a mid-level title; examining level 2 needs level 1 or a senior title
  (seed 003, 河南省…管理办法 art. 15(2)); a panel (考评组) has ≥3 examiners (same 办法 art. 17).
* Trainers linked to candidates of the same session recuse (seed 004, 湘人社发〔2018〕13号 §二).
* Supervisors are drawn at random (seed 003, 技能人才评价质量督导工作规程 art. 8, 14) and never examine in a session
  they supervise (same 规程 art. 16).

Working-day arithmetic uses a :class:`WorkCalendar`: Monday–Friday are working days unless listed as a public
holiday; a weekend day listed as a make-up working day (调休上班) is a working day.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence

FILING_LEAD_WORKING_DAYS = 10
REPORTING_WORKING_DAYS = 10
DEFAULT_SUPERVISOR_REPORT_DAYS = 3
DEFAULT_PASS_MARK = 60.0
MIN_PROCTORS_PER_ROOM = 2
MIN_EXAMINERS_PER_TASK = 3
DRAW_ALGORITHM = "sha256-mod-v1"


# --- the working-day calendar ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class WorkCalendar:
    """Public holidays (days off) and make-up working days (weekend days worked, 调休上班)."""

    holidays: frozenset[dt.date] = frozenset()
    makeup_workdays: frozenset[dt.date] = frozenset()

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def add_working_days(cal: WorkCalendar, day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (``n`` ≥ 1); ``day`` itself is not counted."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    d = day
    while n:
        d += dt.timedelta(days=1)
        if cal.is_working_day(d):
            n -= 1
    return d


def working_days_between(cal: WorkCalendar, start: dt.date, end: dt.date) -> int:
    """Working days strictly after ``start`` and strictly before ``end`` (0 when ``end <= start + 1``)."""
    n, d = 0, start + dt.timedelta(days=1)
    while d < end:
        n += cal.is_working_day(d)
        d += dt.timedelta(days=1)
    return n


def filing_deadline(cal: WorkCalendar, first_day: dt.date, lead: int = FILING_LEAD_WORKING_DAYS) -> dt.date:
    """The last day a plan may be filed on time: ``lead`` whole working days must lie between it and the exam.

    We read "提前10个工作日" strictly: ten full working days separate the filing day and the first exam day,
    neither of which counts.
    """
    d = first_day - dt.timedelta(days=1)
    while working_days_between(cal, d, first_day) < lead:
        d -= dt.timedelta(days=1)
    return d


def filing_is_late(cal: WorkCalendar, filed_on: dt.date, first_day: dt.date,
                   lead: int = FILING_LEAD_WORKING_DAYS) -> bool:
    return working_days_between(cal, filed_on, first_day) < lead


def reporting_deadline(cal: WorkCalendar, last_day: dt.date, days: int = REPORTING_WORKING_DAYS) -> dt.date:
    """Results are due by the ``days``-th working day after the last exam day (inclusive)."""
    return add_working_days(cal, last_day, days)


def supervisor_report_due(cal: WorkCalendar, last_day: dt.date, days: int = DEFAULT_SUPERVISOR_REPORT_DAYS) -> dt.date:
    return add_working_days(cal, last_day, days)


# --- plan lifecycle ----------------------------------------------------------------------------

PLAN_FLOW = ("draft", "filed", "approved", "running", "closed", "reported", "audited")
TRANSITIONS = {
    "file": ("draft", "filed"),
    "return": ("filed", "draft"),
    "approve": ("filed", "approved"),
    "start": ("approved", "running"),
    "close": ("running", "closed"),
    "report": ("closed", "reported"),
    "audit": ("reported", "audited"),
}


def next_status(status: str, action: str) -> str:
    """The status after ``action``; ValueError when the action does not apply in ``status``."""
    if action not in TRANSITIONS:
        raise ValueError(f"unknown action {action!r}")
    frm, to = TRANSITIONS[action]
    if status != frm:
        raise ValueError(f"cannot {action} a plan that is {status} (needs {frm})")
    return to


def subjects_allowed(level: int) -> tuple[str, ...]:
    """Theory and practical for every level; levels 2 and 1 may add a comprehensive review (工作规程 art. 9)."""
    if level not in (1, 2, 3, 4, 5):
        raise ValueError(f"level must be 1..5, got {level}")
    return ("theory", "practical", "review") if level <= 2 else ("theory", "practical")


# --- eligibility -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class BanFact:
    """A ban as plain data: ``occupation_id`` None means every occupation; ``ends_on`` None means open-ended."""

    ban_id: int
    occupation_id: int | None
    starts_on: dt.date
    ends_on: dt.date | None


def ban_is_active(ban: BanFact, on: dt.date) -> bool:
    return ban.starts_on <= on and (ban.ends_on is None or on <= ban.ends_on)


def blocking_bans(bans: Iterable[BanFact], occupation_id: int, days: Iterable[dt.date]) -> list[BanFact]:
    """Bans active on any of ``days`` (registration day, exam days) that cover ``occupation_id``."""
    days = list(days)
    return [b for b in bans if (b.occupation_id is None or b.occupation_id == occupation_id)
            and any(ban_is_active(b, d) for d in days)]


# --- seating -----------------------------------------------------------------------------------

Seat = tuple[int, int]  # (row, col), 1-based; row 1 is the front row


def room_seats(rows: int, cols: int, blocked: Iterable[Seat] = ()) -> list[Seat]:
    """Usable seats of a ``rows`` × ``cols`` grid minus ``blocked`` ones (aisles, pillars, broken machines),
    in row-major order; any room shape is a subset of its bounding grid."""
    if rows < 1 or cols < 1:
        raise ValueError(f"a room needs rows, cols >= 1, got {rows}x{cols}")
    off = set(blocked)
    return [(r, c) for r in range(1, rows + 1) for c in range(1, cols + 1) if (r, c) not in off]


def neighbours(seat: Seat, seats: Iterable[Seat]) -> list[Seat]:
    """Left, right, front and back neighbours of ``seat`` among ``seats``."""
    r, c = seat
    present = set(seats)
    return [s for s in ((r, c - 1), (r, c + 1), (r - 1, c), (r + 1, c)) if s in present]


def form_for_seat(seat: Seat, forms: Sequence[str]) -> str:
    """The parallel form of a seat such that no left/right/front/back neighbours share a form.

    Two forms alternate like a chessboard, ``(row + col) mod 2``. With k ≥ 3 forms, ``(row + 2·col) mod k``:
    a front/back step changes the index by 1, a left/right step by 2, neither ≡ 0 mod k. Both hold for any
    subset of the grid, so blocked seats and irregular rooms cannot break the rule.
    """
    k = len(forms)
    if k < 2:
        raise ValueError(f"need >= 2 parallel forms to separate neighbours, got {list(forms)}")
    r, c = seat
    return forms[(r + c) % 2] if k == 2 else forms[(r + 2 * c) % k]


def neighbour_clashes(assignment: dict[Seat, str]) -> list[tuple[Seat, Seat]]:
    """Pairs of occupied neighbouring seats holding the same form (the rule holds iff this is empty)."""
    out = []
    for seat, form in assignment.items():
        for nb in neighbours(seat, assignment):
            if nb > seat and assignment[nb] == form:
                out.append((seat, nb))
    return out


def shuffle_key(seed: str, ident: int) -> str:
    return hashlib.sha256(f"skillcert-seating|{seed}|{ident}".encode()).hexdigest()


@dataclasses.dataclass(frozen=True)
class Placement:
    registration_id: int
    room_id: int
    seat: Seat
    seat_no: int
    form: str


def place_candidates(seed: str, registration_ids: Sequence[int], rooms: Sequence[tuple[int, Sequence[Seat]]],
                     forms: Sequence[str]) -> list[Placement]:
    """Random, reproducible seating: candidates ordered by SHA-256(seed, id) fill the rooms' seats in order.

    ``rooms`` is ``[(room_id, usable seats in row-major order), …]``; a seat's number (座位号) is its
    1-based position in its room. Forms follow :func:`form_for_seat`; a single form (a practical session's
    workstations) is given to every seat. Anyone with the seed can re-run it.
    """
    if not forms:
        raise ValueError("need at least one form label")
    capacity = sum(len(seats) for _, seats in rooms)
    if len(registration_ids) > capacity:
        raise ValueError(f"{len(registration_ids)} candidates but only {capacity} seats")
    if len(set(registration_ids)) != len(registration_ids):
        raise ValueError("duplicate registration ids")
    order = sorted(registration_ids, key=lambda i: (shuffle_key(seed, i), i))
    slots = [(room_id, seat, n + 1) for room_id, seats in rooms for n, seat in enumerate(seats)]
    return [Placement(reg, room_id, seat, no, forms[0] if len(forms) == 1 else form_for_seat(seat, forms))
            for reg, (room_id, seat, no) in zip(order, slots)]


# --- staff -------------------------------------------------------------------------------------

def examiner_qualification_problem(held_level: int | None, title: str, exam_level: int) -> str | None:
    """Why this examiner may not examine ``exam_level``, or None if qualified (河南…管理办法 art. 15(2)).

    Levels 2 and 1 need a level-1 certificate or a senior title; other levels need level 3 or better
    (a smaller number is a higher level) or a mid-level or senior title.
    """
    if exam_level <= 2:
        if held_level == 1 or title == "senior":
            return None
        return ("考评二级及以上须持一级/高级技师证书或高级职称 (examining level 2 or 1 needs level 1 or a senior "
                "title)")
    if (held_level is not None and held_level <= 3) or title in ("mid", "senior"):
        return None
    return "考评员须持三级/高级工及以上证书或中级及以上职称 (examiners need level 3 or better, or a mid-level title)"


@dataclasses.dataclass(frozen=True)
class ConflictFact:
    staff_person_id: int
    candidate_person_id: int
    kind: str  # trained | relative | same_employer


def recusals(staff_person_id: int, candidate_person_ids: Iterable[int],
             conflicts: Iterable[ConflictFact]) -> list[ConflictFact]:
    """Declared conflicts between this staff member and any candidate of the session (each forces recusal)."""
    cands = set(candidate_person_ids)
    return [c for c in conflicts if c.staff_person_id == staff_person_id and c.candidate_person_id in cands]


@dataclasses.dataclass(frozen=True)
class DutyFact:
    duty: str  # proctor | chief_proctor | examiner | supervisor
    session_id: int | None
    room_id: int | None
    task: str
    person_id: int


@dataclasses.dataclass(frozen=True)
class SessionFact:
    session_id: int
    name: str
    subject: str
    room_ids: tuple[int, ...]
    tasks: tuple[str, ...] = ()


def staffing_problems(sessions: Sequence[SessionFact], duties: Sequence[DutyFact],
                      room_names: dict[int, str] | None = None) -> list[str]:
    """What is missing before the plan can run: in theory sessions ≥2 proctors per room (the chief counts) and
    exactly one chief per session; ≥3 examiners per practical/review task; a supervisor for the plan.
    Empty list = ready."""
    names = room_names or {}
    out = []
    for se in sessions:
        here = [d for d in duties if d.session_id == se.session_id]
        if se.subject == "theory":
            for room in se.room_ids:
                n = len({d.person_id for d in here if d.room_id == room and d.duty in ("proctor", "chief_proctor")})
                if n < MIN_PROCTORS_PER_ROOM:
                    out.append(f"{se.name} · {names.get(room, room)}: 监考 {n} 人，至少 {MIN_PROCTORS_PER_ROOM} 人 "
                               f"({n} proctors, need ≥{MIN_PROCTORS_PER_ROOM})")
            chiefs = {d.person_id for d in here if d.duty == "chief_proctor"}
            if len(chiefs) != 1:
                out.append(f"{se.name}: 考场负责人 {len(chiefs)} 人，须为 1 人 ({len(chiefs)} chiefs, need exactly 1)")
        if se.subject in ("practical", "review"):
            tasks = se.tasks or tuple(sorted({d.task for d in here if d.duty == "examiner"})) or ("",)
            for task in tasks:
                n = len({d.person_id for d in here if d.duty == "examiner" and d.task == task})
                if n < MIN_EXAMINERS_PER_TASK:
                    out.append(f"{se.name} · {task or '—'}: 考评员 {n} 人，至少 {MIN_EXAMINERS_PER_TASK} 人 "
                               f"({n} examiners, need ≥{MIN_EXAMINERS_PER_TASK})")
    if not any(d.duty == "supervisor" for d in duties):
        out.append("尚未抽取质量督导员 (no supervisor drawn yet)")
    return out


# --- the supervisor draw -----------------------------------------------------------------------

def draw_message(seed: str, pool: Sequence[int]) -> bytes:
    return f"skillcert-supervisor-draw|{seed}|{','.join(str(i) for i in pool)}".encode()


def draw_from_pool(seed: str, pool: Sequence[int]) -> int:
    """The account drawn from ``pool`` (account ids, ascending) with ``seed``.

    ``index = int(SHA-256("skillcert-supervisor-draw|<seed>|<id,id,…>"), 16) mod len(pool)``; anyone holding
    the seed and the pool from the audit trail gets the same person (no library version involved).
    """
    if not pool:
        raise ValueError("the pool of qualified supervisors is empty")
    if list(pool) != sorted(set(pool)):
        raise ValueError("pool must be distinct account ids in ascending order")
    if not seed:
        raise ValueError("seed must be a non-empty string")
    return pool[int(hashlib.sha256(draw_message(seed, pool)).hexdigest(), 16) % len(pool)]


# --- numbering and reporting periods -----------------------------------------------------------

def ticket_number(year: int, plan_id: int, seq: int) -> str:
    """准考证号: 2-digit year, 5-digit plan number, 4-digit sequence within the plan; unique per plan."""
    if not (1 <= seq <= 9999 and 1 <= plan_id <= 99999):
        raise ValueError(f"ticket number out of range: plan {plan_id}, seq {seq}")
    return f"{year % 100:02d}{plan_id:05d}{seq:04d}"


def quarter_bounds(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    """First and last day of a calendar quarter (1..4)."""
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1..4, got {quarter}")
    start = dt.date(year, 3 * quarter - 2, 1)
    end = dt.date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1) - dt.timedelta(days=1)
    return start, end
