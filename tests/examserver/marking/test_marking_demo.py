"""The marking demo step: a closed plan whose theory was sat through delivery and whose panel has signed four
candidates' marks; its inter-rater statistics (against pingouin and the krippendorff package) on the results
pages."""
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from examserver.administration.models import ExamPlan
from examserver.delivery.models import Attempt
from examserver.marking import demo as mdemo
from examserver.marking import operations as ops
from itembank.core.audit import AuditRecord
from itembank.core.people import Account

from ...conftest import login  # noqa: TID252

pytestmark = pytest.mark.slow  # loads the demo data set


def _plan(s) -> ExamPlan:
    return s.scalar(select(ExamPlan).where(ExamPlan.title.like("%操作技能评分演示%")))


def test_demo_plan_is_closed_with_theory_sat_and_one_candidate_waiting(db, demo):
    with db.read_scope() as s:
        plan = _plan(s)
        assert plan.status == "closed" and plan.first_day < ops.admin_ops.local_today()
        se = next(x for x in plan.sessions if x.subject.subject == "practical")
        mt = ops.marking_task(s, se.id, mdemo.TASK)
        assert mt.item_id is not None and mt.max_points == 100 and mt.spread_threshold == mdemo.SPREAD_THRESHOLD
        assert s.get(Account, mt.lead_account_id).username == mdemo.LEAD
        users = {a.person_id: a.username for a in s.scalars(select(Account))}
        regs = ops.candidates(s, plan)
        assert sorted(users[r.person_id] for r in regs) == list(mdemo.CANDIDATES)
        theory = {users[a.person_id]: a.score_awarded / a.score_max for a in s.scalars(
            select(Attempt).where(Attempt.session_id.in_([x.id for x in plan.sessions]),
                                  Attempt.status == "submitted"))}
        assert theory["cand045"] == 1.0 and theory["cand044"] < 0.6 and len(theory) == 5
        for reg in regs:
            marks = ops.current_marks(s, se.id, mdemo.TASK, reg.id)
            if users[reg.person_id] == mdemo.WAITING:
                assert marks == []
                continue
            assert len(marks) == 3 and ops.task_mark(s, mt, reg.id).status == "aggregated"
            assert all("再次认证" in m.attestation for m in marks)
        signed = s.scalars(select(AuditRecord).where(AuditRecord.action == "practical_mark.sign")).all()
        assert len(signed) == 12


def _long(x: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame([(t, r, x[t, r]) for t in range(x.shape[0]) for r in range(x.shape[1])],
                        columns=["target", "rater", "score"])


def test_panel_statistics_of_the_demo_plan_match_independent_implementations(db, demo, client):
    import krippendorff
    import pingouin as pg
    with db.read_scope() as s:
        plan = _plan(s)
        se = next(x for x in plan.sessions if x.subject.subject == "practical")
        plan_id, mt = plan.id, ops.marking_task(s, se.id, mdemo.TASK)
        members, rows = ops.panel_matrix(s, mt)
        stats = ops.panel_statistics(s, mt)
    x = np.array(rows, dtype=float)
    assert x.shape == (4, 3) and stats["n_candidates"] == 4
    ref = pg.intraclass_corr(data=_long(x), targets="target", raters="rater", ratings="score").set_index("Type")
    icc2 = ref.loc["ICC2" if "ICC2" in ref.index else "ICC(A,1)", "ICC"]
    icc2k = ref.loc["ICC2k" if "ICC2k" in ref.index else "ICC(A,k)", "ICC"]
    assert stats["icc2"] == pytest.approx(icc2, abs=1e-4) and stats["icc2k"] == pytest.approx(icc2k, abs=1e-4)
    alpha = krippendorff.alpha(reliability_data=x.T, level_of_measurement="interval")
    assert stats["alpha"] == pytest.approx(alpha, abs=1e-4)
    assert len(stats["severity"]) == 3 and sum(stats["severity"]) == pytest.approx(0, abs=1e-3)

    login(client, "agency")
    page = client.get(f"/marking/plans/{plan_id}")
    assert page.status_code == 200
    assert f"{stats['icc2']:.3f}".encode() in page.data and f"{stats['alpha']:.3f}".encode() in page.data
