"""Violation pages: the proctor's incident form (tablet), co-sign/confirm/decide queues, the case page,
the person's own cases with statement and review request, and the archive with quarterly statistics."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from examserver.administration.models import ExamPlan, ExamSession, Registration
from itembank.core import directory
from itembank.core.errors import DomainError
from itembank.core.people import Person
from itembank.core.reference import Agency
from scoring import violations as rules

from ..access import roles, signed_in
from ..db import database, db_read, db_write
from . import api as vapi
from . import operations as ops
from .models import ViolationCase, ViolationFlag

bp = Blueprint("violations", __name__, url_prefix="/violations")
STAFF = vapi.STAFF


def _ctx() -> dict:
    return {"STATUSES": rules.STATUSES, "PARTIES": rules.PARTIES, "citation": rules.citation,
            "CLAUSES": rules.CLAUSES, "SEVERITIES": rules.SEVERITIES}


@bp.get("/")
@roles(*STAFF)
def queue():
    """Work queues: cases waiting for my signature, the chief's confirmation, the notice or the decision."""
    p = g.principal
    with db_read() as s:
        q = select(ViolationCase).where(ViolationCase.status.in_(("opened", "signed", "confirmed", "notified",
                                                                  "review_requested")))
        if p.role not in vapi.GLOBAL:
            q = q.where(ViolationCase.agency_id == p.agency_id)
        cases = s.scalars(q.order_by(ViolationCase.opened_at)).all()
        mine = {c.id for c in cases if any(x.account_id == p.account_id for x in c.signatures)}
        lanes = {
            "cosign": [c for c in cases if c.status in ("opened", "signed") and c.id not in mine
                       and p.role in rules.SIGNER_ROLES],
            "confirm": [c for c in cases if c.status in ("opened", "signed") and p.role in rules.CONFIRMER_ROLES[c.party]],
            "notify": [c for c in cases if c.status == "confirmed" and p.role in rules.DECIDER_ROLES[c.party]],
            "decide": [c for c in cases if c.status == "notified" and p.role in rules.DECIDER_ROLES[c.party]],
            "review": [c for c in cases if c.status == "review_requested" and p.role in rules.DECIDER_ROLES[c.party]],
        }
        fq = select(ViolationFlag).where(ViolationFlag.status == "open")
        if p.role not in vapi.GLOBAL:
            fq = fq.where(ViolationFlag.agency_id == p.agency_id)
        flags = s.scalars(fq.order_by(ViolationFlag.id.desc()).limit(50)).all()
        for c in cases:
            _loaded = c.person, c.signatures
        for f in flags:
            _loaded = f.person, f.other_person
        screenable = _screenable_sessions(s, p) if p.role in vapi.SIMILARITY_ROLES else []
        return render_template("violations/queue.html", lanes=lanes, flags=flags, screenable=screenable, **_ctx())


def _screenable_sessions(s, p) -> list[dict]:
    """Recent sessions with submitted answers, for the answer-similarity check (答案雷同检查)."""
    from sqlalchemy import func

    from examserver.delivery.models import Attempt
    q = (select(ExamSession, func.count(Attempt.id)).join(Attempt, Attempt.session_id == ExamSession.id)
         .join(ExamPlan, ExamPlan.id == ExamSession.plan_id).where(Attempt.status == "submitted")
         .group_by(ExamSession.id).order_by(ExamSession.starts_at.desc()).limit(20))
    if p.role not in vapi.GLOBAL:
        q = q.where(ExamPlan.agency_id == p.agency_id)
    out = []
    for se, n in s.execute(q).all():
        checked = s.scalar(select(func.count()).select_from(ViolationFlag).where(
            ViolationFlag.session_id == se.id, ViolationFlag.source == "similarity"))
        out.append({"id": se.id, "name": se.name, "plan": se.plan.title, "starts_at": se.starts_at, "submitted": n,
                    "flags": checked})
    return out


@bp.post("/sessions/<int:session_id>/similarity")
@roles(*vapi.SIMILARITY_ROLES)
def similarity(session_id: int):
    """Run the answer-similarity check of a session from its stored answers; new flags show in the queue."""
    try:
        out = vapi.run_similarity(session_id, 0.001)
        if out.get("queued"):
            flash(_("The similarity check is running; its flags appear here when it is done."), "ok")
        else:
            flash(_("Similarity check: %(n)s candidates, %(pairs)s pairs screened, %(new)s new flags.",
                    n=out["candidates"], pairs=out["pairs"], new=len(out["flags"])), "ok")
    except DomainError as e:
        flash(e.message, "error")
    return redirect(url_for("violations.queue"))


def _plans_for(s, agency_id):
    return s.scalars(select(ExamPlan).where(ExamPlan.agency_id == agency_id,
                                            ExamPlan.status.in_(("approved", "running", "closed", "reported",
                                                                 "audited"))).order_by(ExamPlan.first_day.desc())).all()


def _flag_or_404(s, flag_id: int) -> ViolationFlag:
    f = s.get(ViolationFlag, flag_id)
    if f is None or not ops.may_act_for(g.principal.agency_id, g.principal.role, f.agency_id):
        abort(404)
    return f


def _from_flag(s, f: ViolationFlag) -> dict:
    """The incident form filled from a flag (立案 from the proctor's dashboard or the flag list): the person,
    session, room and time of the flag, a category to start from, and the facts the evidence shows."""
    from examserver.delivery.models import Attempt
    from examserver.delivery.operations import LOCAL_OFFSET
    a = s.get(Attempt, f.attempt_id) if f.attempt_id else None
    ev = f.evidence or {}
    times = [x.get("client_at", "") for x in ev.get("events", []) if x.get("counted")]
    first = dt.datetime.fromisoformat(times[0].rstrip("Z")) if times else f.created_at
    lines = [f"系统提示（编号 {f.id}）：{f.summary}。"]
    for x in ev.get("events", []):
        if x.get("counted"):
            at = dt.datetime.fromisoformat(x["client_at"].rstrip("Z")) + LOCAL_OFFSET
            secs = f"，持续 {x['duration_ms'] / 1000:.1f} 秒" if x.get("duration_ms") is not None else ""
            lines.append(f"{at:%H:%M:%S} {ev.get('label_zh', f.kind)}{secs}")
    return {"flag": f, "person_id": f.person_id, "session_id": f.session_id, "room_id": a.room_id if a else None,
            "category": "copying" if f.source == "similarity" else "rule_breach", "facts": "\n".join(lines),
            "occurred_at": (first + LOCAL_OFFSET).strftime("%Y-%m-%dT%H:%M")}


@bp.route("/new", methods=["GET", "POST"])
@roles(*STAFF)
def new_case():
    """The incident form (tablet): candidate, time, category (the article is proposed), facts, photo.

    ``?flag_id=`` fills it from a flag; the case then carries the flag as evidence and closes the flag."""
    p = g.principal
    agency_id = p.agency_id if p.role not in vapi.GLOBAL else request.values.get("agency_id", type=int)
    flag_id = request.values.get("flag_id", type=int)
    prefill: dict = {}
    with db_read() as s:
        if flag_id:
            prefill = _from_flag(s, _flag_or_404(s, flag_id))
            agency_id = prefill["flag"].agency_id
        agency_id = agency_id or s.scalar(select(Agency.id).order_by(Agency.id))
        plans = _plans_for(s, agency_id)
        if prefill and prefill["flag"].plan_id not in {x.id for x in plans}:
            plans.insert(0, s.get(ExamPlan, prefill["flag"].plan_id))
        plan_id = request.values.get("plan_id", type=int) or (prefill["flag"].plan_id if prefill else None) \
            or (plans[0].id if plans else None)
        plan = next((x for x in plans if x.id == plan_id), None)
        sessions = list(plan.sessions) if plan else []
        regs = s.scalars(select(Registration).where(Registration.plan_id == plan_id).order_by(Registration.ticket_number)
                         ).all() if plan else []
        people = [(r.person_id, f"{r.ticket_number} {r.person.name}") for r in regs]
        rooms = sorted({sr.room for se in sessions for sr in se.rooms}, key=lambda r: r.id)
        for x in sessions:
            _loaded = x.subject
    error = None
    if request.method == "POST":
        f = request.form
        try:
            occurred = dt.datetime.fromisoformat(f.get("occurred_at", ""))
        except ValueError:
            occurred = None
        photo = request.files.get("photo")
        try:
            if occurred is None:
                raise DomainError("bad_time", _("Enter the time it happened."), "occurred_at")
            with db_write() as s:
                agency = directory.get_or_404(s, Agency, agency_id, "agency_id")
                session = s.get(ExamSession, f.get("session_id", type=int)) if f.get("session_id") else None
                person = s.get(Person, f.get("person_id", type=int)) if f.get("person_id") else None
                from itembank.core.reference import Room
                room = s.get(Room, f.get("room_id", type=int)) if f.get("room_id") else None
                flag = _flag_or_404(s, flag_id) if flag_id else None
                case = ops.open_case(s, p.actor, agency=agency, party="candidate", category=f.get("category", ""),
                                     facts=f.get("facts", ""), occurred_at=occurred, person=person,
                                     plan=s.get(ExamPlan, plan_id) if plan_id else None, session=session, room=room,
                                     subject=f.get("subject") or None, note=f.get("note", ""), flag=flag)
                if photo and photo.filename:
                    ops.add_evidence(s, p.actor, case, kind="photo", description=f.get("photo_note", ""),
                                     content=photo.read(), mime=photo.mimetype or "")
                cid = case.id
            if flag_id:
                from examserver.delivery.behaviour import push_flag_change
                push_flag_change(database(), flag_id)
            flash(_("Case recorded. A second staff member must co-sign it."), "ok")
            return redirect(url_for("violations.case_page", case_id=cid))
        except DomainError as e:
            error = e.message
    if prefill:
        with db_read() as s:  # the form shows the flag it came from
            prefill["flag"] = s.get(ViolationFlag, flag_id)
            _loaded = prefill["flag"].person
    return render_template("violations/new.html", plans=plans, plan=plan, sessions=sessions, people=people,
                           rooms=rooms, categories=rules.categories_for("candidate"), error=error, prefill=prefill,
                           now=dt.datetime.now().strftime("%Y-%m-%dT%H:%M"), **_ctx()), 400 if error else 200


@bp.get("/cases/<int:case_id>")
@signed_in()
def case_page(case_id: int):
    p = g.principal
    with db_read() as s:
        case = vapi.case_or_404(s, case_id)
        me = vapi.my_person_id(s)
        is_party = case.person_id == me or (case.party == "agency" and p.role == "agency_admin"
                                            and p.agency_id == case.agency_id)
        staff = p.role != "candidate" and ops.may_act_for(p.agency_id, p.role, case.agency_id)
        _loaded = (case.signatures, case.evidence, case.statements, case.documents, case.person, case.agency, case.room)
        plan = s.get(ExamPlan, case.plan_id) if case.plan_id else None
        now = vapi.now()
        can = {
            "cosign": staff and case.status in ("opened", "signed") and p.role in rules.SIGNER_ROLES
            and all(x.account_id != p.account_id for x in case.signatures),
            "confirm": staff and case.status in ("opened", "signed") and p.role in rules.CONFIRMER_ROLES[case.party],
            "notify": staff and case.status == "confirmed" and p.role in rules.DECIDER_ROLES[case.party],
            "decide": staff and case.status == "notified" and p.role in rules.DECIDER_ROLES[case.party],
            "review": staff and case.status == "review_requested" and p.role in rules.DECIDER_ROLES[case.party],
            "dismiss": staff and case.status in rules.OPEN_STATUSES
            and p.role in rules.CONFIRMER_ROLES[case.party] | rules.DECIDER_ROLES[case.party],
            "evidence": staff and case.status in rules.OPEN_STATUSES,
            "statement": is_party and case.status == "notified" and (case.statement_due is None or now <= case.statement_due),
            "request_review": is_party and case.status == "decided" and case.outcome == "violation"
            and (case.review_due is None or now <= case.review_due),
        }
        return render_template("violations/case.html", case=case, plan=plan, can=can, staff=staff,
                               is_party=is_party, clauses=rules.categories_for(case.party),
                               proposed=rules.clause_of(case.proposed_article, case.proposed_clause), **_ctx())


ACTIONS = {"cosign", "confirm", "dismiss", "notify", "decide", "review", "evidence", "statement", "waive",
           "request_review"}


@bp.post("/cases/<int:case_id>/<action>")
@signed_in()
def act(case_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    p = g.principal
    f = request.form
    now = vapi.now()
    try:
        with db_write() as s:
            case = vapi.case_or_404(s, case_id)
            if action in ("cosign", "confirm", "dismiss", "notify", "decide", "review", "evidence"):
                if p.role == "candidate":
                    abort(403)
                vapi._staff_scope(case)
            a = p.actor
            if action == "cosign":
                ops.cosign(s, a, case, note=f.get("note", ""), now=now)
                flash(_("Co-signed."), "ok")
            elif action == "confirm":
                ops.confirm(s, a, case, note=f.get("note", ""), now=now)
                flash(_("Confirmed."), "ok")
            elif action == "dismiss":
                ops.dismiss(s, a, case, reason=f.get("reason", ""), now=now)
                flash(_("Case dismissed."), "ok")
            elif action == "notify":
                art, clause = _article(f.get("clause_key", ""))
                ops.notify(s, a, case, article=art, clause=clause, severity=f.get("severity") or None,
                           reasons=f.get("reasons", ""), now=now,
                           statement_days=f.get("statement_days", type=int) or rules.STATEMENT_DAYS)
                flash(_("Notice issued and delivered to the person's portal."), "ok")
            elif action == "decide":
                ops.decide(s, a, case, outcome=f.get("outcome", ""), reasons=f.get("reasons", ""), now=now,
                           statement_response=f.get("statement_response", ""))
                flash(_("Decision issued; its consequences are in force."), "ok")
            elif action == "review":
                art, clause = _article(f.get("clause_key", "")) if f.get("outcome") == "amended" else (None, None)
                ops.review(s, a, case, outcome=f.get("outcome", ""), reasons=f.get("reasons", ""), now=now,
                           article=art, clause=clause, severity=f.get("severity") or None)
                flash(_("Review decision issued."), "ok")
            elif action == "evidence":
                photo = request.files.get("photo")
                if photo and photo.filename:
                    ops.add_evidence(s, a, case, kind="photo", description=f.get("description", ""),
                                     content=photo.read(), mime=photo.mimetype or "")
                else:
                    ops.add_evidence(s, a, case, kind="note", description=f.get("description", ""))
                flash(_("Evidence added."), "ok")
            elif action == "statement":
                ops.file_statement(s, a, case, text=f.get("text", ""), now=now)
                flash(_("Your statement has been filed."), "ok")
            elif action == "waive":
                ops.waive_statement(s, a, case, now=now)
                flash(_("You declared that you will not file a statement."), "ok")
            elif action == "request_review":
                ops.request_review(s, a, case, text=f.get("text", ""), now=now)
                flash(_("Your request for review has been filed."), "ok")
    except DomainError as e:
        flash(e.message, "error")
    return redirect(url_for("violations.case_page", case_id=case_id))


def _article(key: str) -> tuple[int, int | None]:
    try:
        a, c = key.split(".")
        return int(a), int(c) if c else None
    except ValueError:
        raise DomainError("bad_article", _("Choose the article and clause."), "clause_key") from None


@bp.get("/cases/<int:case_id>/documents/<int:doc_id>.pdf")
@signed_in()
def document(case_id: int, doc_id: int):
    return vapi.document_response(case_id, doc_id)


@bp.get("/mine")
@signed_in()
def mine():
    """The person's own cases (a candidate, or a staff member a case is about)."""
    with db_read() as s:
        me = vapi.my_person_id(s)
        cases = s.scalars(select(ViolationCase).where(ViolationCase.person_id == me)
                          .order_by(ViolationCase.id.desc())).all()
        for c in cases:
            _loaded = c.documents
        return render_template("violations/mine.html", cases=cases, now=vapi.now(), **_ctx())


@bp.get("/archive")
@roles("agency_admin", "center_auditor", "admin")
def archive():
    """The violations archive (指引 art. 20) with search and the quarter's statistics."""
    p = g.principal
    a = request.args
    try:
        since = dt.date.fromisoformat(a["since"]) if a.get("since") else None
        until = dt.date.fromisoformat(a["until"]) if a.get("until") else None
        article = int(a["article"]) if a.get("article") else None
    except ValueError:
        abort(400, "since/until must be dates (YYYY-MM-DD) and article a number")
    today = dt.date.today()
    year = a.get("year", type=int) or today.year
    quarter = a.get("quarter", type=int) or (today.month - 1) // 3 + 1
    if not 1 <= quarter <= 4 or not 2000 <= year <= 2100:
        abort(400, "quarter must be 1..4")
    q_from = dt.date(year, 3 * quarter - 2, 1)
    q_to = dt.date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1) - dt.timedelta(days=1)
    agency_id = None if p.role in vapi.GLOBAL else p.agency_id
    with db_read() as s:
        cases = ops.search_cases(s, ops.CaseQuery(agency_id=agency_id, status=a.get("status") or None,
                                                  party=a.get("party") or None, article=article,
                                                  text=a.get("q") or None, since=since, until=until))
        for c in cases:
            _loaded = c.person, c.agency
        stats = ops.statistics(s, agency_id=agency_id, since=q_from, until=q_to)
    return render_template("violations/archive.html", cases=cases, stats=stats, year=year, quarter=quarter,
                           q_from=q_from, q_to=q_to, args=a, **_ctx())
