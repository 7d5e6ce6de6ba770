"""Hypothesis state machine over the delivery services with a simulated clock.

Start, answer (changes queue in a client outbox), deliver in any order (and lose acks), resend, disconnect/
reconnect, pause/resume, time passing, the deadline sweep and submit. Invariants: nothing is accepted after
submit; each item's final answer is the newest committed change, never older than the last acknowledged one.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import delete, func, select

from itembank.core.audit import Actor
from itembank.core.db import utcnow

pytestmark = [pytest.mark.slow]

_WORLD: dict = {}


def world():
    """One database with a seated sitting, shared by every example (each example starts a fresh attempt)."""
    if not _WORLD:
        from examserver import create_app
        from examserver.delivery.demo import build_sitting
        from examserver.demo import load_demo
        from examserver.migrate import upgrade
        from itembank.core.config import load_settings
        env = {"SKILLCERT_DATA_DIR": tempfile.mkdtemp(prefix="sc-sm-")}
        if os.environ.get("SKILLCERT_TEST_PROFILE") == "scaled" and os.environ.get("SKILLCERT_TEST_DATABASE_URL"):
            from ...conftest import _fresh_pg_database  # noqa: TID252
            env["SKILLCERT_DATABASE_URL"], _ = _fresh_pg_database()
        upgrade(load_settings(env).database_url)
        app = create_app({"TESTING": True}, env=env)
        db = app.extensions["skillcert.db"]
        with db.write_scope() as s:
            load_demo(s)
        with db.write_scope() as s:
            sit = build_sitting(s, candidates=2, starts_in=dt.timedelta(minutes=-1))
        _WORLD.update(app=app, db=db, sitting=sit)
    return _WORLD


PROCTOR = Actor(None, "监考 测试", "proctor")


class DeliveryMachine(RuleBasedStateMachine):
    @initialize()
    def start(self):
        from examserver.administration.models import ExamSession
        from examserver.delivery import operations as ops
        from examserver.delivery.models import Answer, AnswerChange, Attempt, AttemptEvent
        w = world()
        self.db, self.ops, sit = w["db"], ops, w["sitting"]
        self.now = utcnow()
        with self.db.write_scope() as s:
            old = s.scalars(select(Attempt.id)).all()
            for model in (Answer, AnswerChange, AttemptEvent):
                s.execute(delete(model).where(model.attempt_id.in_(old)))
            s.execute(delete(Attempt))
            a = ops.candidate_sign_in(s, ticket_number=sit.tickets[0][0], id_number=sit.tickets[0][1],
                                      access_code=sit.access_code, device_id="dev-sm", now=self.now)
            ops.open_session(s, PROCTOR, s.get(ExamSession, sit.session_id), now=self.now)
            ops.start_attempt(s, a, now=self.now)
            self.aid = a.id
            view = ops.paper_for(s, a)
        self.items = [it["paper_item_id"] for sec in view["sections"] for it in sec["items"]]
        self.seq = 0
        self.outbox: list[dict] = []
        self.acked: dict[int, tuple[int, object]] = {}       # item -> newest acked (seq, response)
        self.committed: dict[int, tuple[int, object]] = {}   # item -> newest committed (seq, response)
        self.delivered: list[dict] = []
        self.submitted = False
        self.log_at_submit = None
        self.paused = False

    # --- the candidate -------------------------------------------------------------------------------
    @rule(k=st.integers(0, 9), response=st.sampled_from(["A", "B", "C", "AB", "", ["0.45"], ["x", "y"]]))
    def answer(self, k, response):
        self.seq += 1
        self.outbox.append({"item": self.items[k % len(self.items)], "seq": self.seq, "response": response,
                            "made_at": self.now})

    def _deliver(self, ch, lose_ack=False):
        try:
            with self.db.write_scope() as s:
                res = self.ops.save_change(s, attempt_id=self.aid, device_id="dev-sm", item=ch["item"], seq=ch["seq"],
                                           response=ch["response"], client_at=ch["made_at"], now=self.now)
        except self.ops.Refused as e:
            if self.submitted:
                assert e.code in ("submitted",), e.code
            if e.final:
                self.outbox = [x for x in self.outbox if x["seq"] != ch["seq"]]
            return None
        assert not self.submitted, "a change was accepted after submit"
        cur = self.committed.get(ch["item"])
        if cur is None or ch["seq"] > cur[0]:
            self.committed[ch["item"]] = (ch["seq"], ch["response"])
        if not lose_ack:
            self.outbox = [x for x in self.outbox if x["seq"] != ch["seq"]]
            self.delivered.append(ch)
            cur = self.acked.get(ch["item"])
            if cur is None or ch["seq"] > cur[0]:
                self.acked[ch["item"]] = (ch["seq"], ch["response"])
        return res

    @precondition(lambda self: self.outbox)
    @rule(i=st.integers(0, 50), lose_ack=st.booleans())
    def deliver(self, i, lose_ack):
        """Any pending change, in any order; the ack may be lost (the change stays in the outbox)."""
        self._deliver(self.outbox[i % len(self.outbox)], lose_ack)

    @precondition(lambda self: self.delivered)
    @rule(i=st.integers(0, 50))
    def resend_acked(self, i):
        ch = self.delivered[i % len(self.delivered)]
        res = self._deliver(dict(ch))
        if res is not None:
            assert res.duplicate

    @rule()
    def disconnect_reconnect(self):
        with self.db.write_scope() as s:
            self.ops.mark_presence(s, self.aid, online=False, now=self.now)
        with self.db.write_scope() as s:
            self.ops.mark_presence(s, self.aid, online=True, now=self.now)

    @rule()
    def submit(self):
        with self.db.write_scope() as s:
            a = self.ops.get_attempt(s, self.aid)
            self.ops.submit(s, None, a, reason="candidate", now=self.now)
        self._mark_submitted()

    # --- the proctor and the clock ------------------------------------------------------------------
    @rule()
    def pause_or_resume(self):
        with self.db.write_scope() as s:
            a = self.ops.get_attempt(s, self.aid)
            if a.status == "submitted":
                return
            if a.paused_at is None:
                self.ops.pause(s, PROCTOR, a, now=self.now, reason="test")
            else:
                self.ops.resume(s, PROCTOR, a, now=self.now)

    @rule(minutes=st.sampled_from([1, 10, 45, 95]))
    def time_passes(self, minutes):
        self.now += dt.timedelta(minutes=minutes)

    @rule()
    def deadline_sweep(self):
        with self.db.write_scope() as s:
            if self.aid in self.ops.submit_overdue(s, now=self.now):
                pass
        with self.db.read_scope() as s:
            if self.ops.get_attempt(s, self.aid).status == "submitted":
                self._mark_submitted()

    def _mark_submitted(self):
        from examserver.delivery.models import AnswerChange
        if not self.submitted:
            self.submitted = True
            with self.db.read_scope() as s:
                self.log_at_submit = s.scalar(select(func.count()).select_from(AnswerChange)
                                              .where(AnswerChange.attempt_id == self.aid))

    # --- invariants ---------------------------------------------------------------------------------
    @invariant()
    def final_answers_are_the_newest_committed_and_never_older_than_acked(self):
        from examserver.delivery.models import Answer, AnswerChange
        if not hasattr(self, "aid"):
            return
        with self.db.read_scope() as s:
            rows = {r[0]: (r[1], r[2]) for r in s.execute(select(Answer.paper_item_id, Answer.seq, Answer.response)
                                                          .where(Answer.attempt_id == self.aid, Answer.seq > 0))}
            n_log = s.scalar(select(func.count()).select_from(AnswerChange).where(AnswerChange.attempt_id == self.aid))
        assert rows == self.committed
        for item, (seq, _) in self.acked.items():
            assert rows[item][0] >= seq
        if self.submitted:
            assert n_log == self.log_at_submit, "the log grew after submit"


TestDelivery = DeliveryMachine.TestCase
TestDelivery.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                 suppress_health_check=list(HealthCheck))
