"""Staff barred by a violation decision (指引 art. 9–11) are refused assignments and left out of the draw."""
from __future__ import annotations

import datetime as dt

import pytest

from examserver.administration import operations as ops
from examserver.violations.models import StaffIneligibility, ViolationCase
from itembank.core.errors import Conflict
from itembank.core.reference import Room

from .test_operations import DAY, acc, make_plan


def _bar(s, world, username, *, duty="all", ends_on=dt.date(2026, 12, 31)):
    account = acc(s, world, username)
    case = ViolationCase(number=f"TEST-{username}", party="staff", agency_id=world.agency_id,
                         person_id=account.person_id, occurred_at=dt.datetime(2026, 11, 1, 9), sitting_date=DAY,
                         category="lax_identity_check", facts="未认真核验考生身份", proposed_article=9,
                         opened_by=account.id)
    s.add(case)
    s.flush()
    s.add(StaffIneligibility(case_id=case.id, person_id=account.person_id, duty=duty, starts_on=dt.date(2026, 11, 1),
                             ends_on=ends_on))
    s.flush()
    return account


def test_a_barred_proctor_cannot_be_assigned(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        proctor = _bar(s, world, "pr1")
        r301 = s.get(Room, world.room_ids[0])
        with pytest.raises(Conflict) as e:
            ops.assign_staff(s, world.actor(s, "agency"), plan, account=proctor, duty="proctor",
                             session=plan.sessions[0], room=r301)
        assert e.value.code == "barred"


def test_an_examiner_only_bar_still_allows_proctoring_but_not_examining(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        examiner = _bar(s, world, "ex_l3", duty="examiner", ends_on=None)
        with pytest.raises(Conflict) as e:
            ops.assign_staff(s, world.actor(s, "agency"), plan, account=examiner, duty="examiner",
                             session=plan.sessions[1], task="轴类零件加工")
        assert e.value.code == "barred"


def test_barred_supervisors_are_excluded_from_the_draw(db, world):
    with db.write_scope() as s:
        plan = make_plan(s, world)
        before, _ = ops.supervisor_pool(s, plan)
        assert before
        barred_person = s.get(type(acc(s, world, "pr1")), before[0]).person
        s.add(ViolationCase(number="TEST-sup", party="staff", agency_id=world.agency_id, person_id=barred_person.id,
                            occurred_at=dt.datetime(2026, 11, 1, 9), sitting_date=DAY, category="other",
                            facts="督导失职", proposed_article=9, opened_by=before[0]))
        s.flush()
        case_id = s.query(ViolationCase.id).filter_by(number="TEST-sup").scalar()
        s.add(StaffIneligibility(case_id=case_id, person_id=barred_person.id, duty="all",
                                 starts_on=dt.date(2026, 11, 1), ends_on=dt.date(2026, 12, 31)))
        s.flush()
        pool, excluded = ops.supervisor_pool(s, plan)
        assert before[0] not in pool and excluded[before[0]] == "barred"
