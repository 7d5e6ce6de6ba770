"""Pure violation rules: article → consequence (指引 art. 5–15) and the procedure (art. 16–19)."""
from __future__ import annotations

import datetime as dt

import pytest

from scoring import violations as v

DAY = dt.date(2026, 6, 13)
NOW = dt.datetime(2026, 6, 13, 10, 0)


def test_every_clause_has_a_party_a_category_and_a_citation():
    assert len(v.CLAUSES) == 46
    assert len(v.CATEGORIES) == len(v.CLAUSES)  # categories are unique
    assert v.CLAUSES[(6, 2)].citation == "第六条第（二）项"
    assert v.citation(11, None) == "第十一条"
    assert v.citation(15, 2) == "第十五条第二款"
    assert {c.article for c in v.categories_for("candidate")} == {5, 6, 7}
    assert {c.article for c in v.categories_for("staff")} == {9, 10, 11}
    assert {c.article for c in v.categories_for("agency")} == {12, 13, 14, 15}


@pytest.mark.parametrize("category,article,clause", [
    ("prohibited_items", 5, 1), ("left_seat", 5, 2), ("device", 6, 1), ("copying", 6, 2),
    ("impersonation", 7, 4), ("organised_cheating", 7, 5), ("lax_eligibility_check", 9, 1),
    ("agency_out_of_scope", 14, 2)])
def test_the_system_proposes_the_article_from_the_category(category, article, clause):
    c = v.propose(category)
    assert (c.article, c.clause) == (article, clause)


def test_art5_cancels_that_subject_only():
    c = v.consequence(5, 2, sitting_date=DAY)
    assert c.cancel == "subject" and c.ban_ends is None and not c.revoke_certificates
    assert "取消当次该科目评价成绩" in c.summary()[0]


def test_art6_cancels_all_and_bars_for_the_rest_of_the_year():
    c = v.consequence(6, 1, sitting_date=DAY)
    assert c.cancel == "all" and (c.ban_starts, c.ban_ends) == (DAY, dt.date(2026, 12, 31))


def test_art7_bars_two_or_five_years_and_refers_serious_cases():
    minor = v.consequence(7, 4, sitting_date=DAY, severity="minor")
    serious = v.consequence(7, 4, sitting_date=DAY, severity="serious")
    assert minor.cancel == serious.cancel == "all"
    assert minor.ban_ends == dt.date(2028, 6, 12) and not minor.referral
    assert serious.ban_ends == dt.date(2031, 6, 12) and serious.referral
    with pytest.raises(v.RuleError) as e:
        v.consequence(7, 4, sitting_date=DAY)
    assert e.value.field == "severity"
    leap = v.consequence(7, 1, sitting_date=dt.date(2024, 2, 29), severity="minor")
    assert leap.ban_ends == dt.date(2026, 2, 27)


def test_art8_found_after_voids_results_and_revokes_certificates():
    c = v.consequence(6, 2, sitting_date=dt.date(2025, 11, 1), found_after=True)
    assert c.void_results and c.revoke_certificates and c.cancel == "all"
    with pytest.raises(v.RuleError):
        v.consequence(9, 1, sitting_date=DAY, found_after=True)


def test_staff_and_agency_consequences():
    assert v.consequence(9, 3, sitting_date=DAY).staff_ineligible_until == dt.date(2026, 12, 31)
    assert v.consequence(10, 2, sitting_date=DAY).examiner_certificate_revoked
    assert v.consequence(14, 5, sitting_date=DAY).agency_measures == ("terminate_filing",)
    assert v.consequence(14, 5, sitting_date=DAY).revoke_certificates
    assert v.consequence(12, 1, sitting_date=DAY).agency_measures == ("interview",)
    assert v.consequence(15, 1, sitting_date=DAY).agency_measures == ("revoke_data",)


def test_bad_input_names_the_field():
    with pytest.raises(v.RuleError) as e:
        v.consequence(4, 1, sitting_date=DAY)
    assert e.value.field == "clause"
    with pytest.raises(v.RuleError) as e:
        v.propose("jaywalking")
    assert e.value.field == "category"


# --- procedure -----------------------------------------------------------------------------------

P1, P2, CHIEF, AGENCY, CAND = (v.Who(1, "proctor"), v.Who(2, "proctor"), v.Who(3, "chief_proctor"),
                               v.Who(4, "agency_admin"), v.Who(9, "candidate"))


def facts(status, signers=(1,), **kw):
    return v.CaseFacts(party="candidate", status=status, signer_ids=frozenset(signers),
                       party_account_ids=frozenset({9}), **kw)


def test_two_signatures_then_the_chief_confirms():
    assert v.advance(facts("opened"), "cosign", P2, NOW) == "signed"
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("opened"), "cosign", P1, NOW)
    assert e.value.code == "already_signed"
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("opened"), "confirm", CHIEF, NOW)
    assert e.value.code == "needs_two_signatures"
    with pytest.raises(v.RuleError) as e:  # the chief's own signature does not count as one of the two
        v.advance(facts("signed", signers=(1, 3)), "confirm", CHIEF, NOW)
    assert e.value.code == "needs_two_signatures"
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("signed", signers=(1, 2)), "confirm", P2, NOW)
    assert e.value.code == "not_confirmer"
    assert v.advance(facts("signed", signers=(1, 2)), "confirm", CHIEF, NOW) == "confirmed"
    with pytest.raises(v.RuleError):
        v.advance(facts("opened"), "cosign", CAND, NOW)


def test_no_decision_before_notice_and_statement_window():
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("confirmed"), "decide", AGENCY, NOW)
    assert e.value.code == "notice_first"
    assert v.advance(facts("confirmed"), "notify", AGENCY, NOW) == "notified"
    due = v.statement_deadline(NOW, 5)
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("notified", statement_due=due), "decide", AGENCY, NOW + dt.timedelta(days=1))
    assert e.value.code == "statement_window_open"
    assert v.advance(facts("notified", statement_due=due, statements=1), "decide", AGENCY, NOW) == "decided"
    assert v.advance(facts("notified", statement_due=due), "decide", AGENCY, due + dt.timedelta(seconds=1)) == "decided"


def test_statements_and_review_belong_to_the_person_concerned_within_deadlines():
    due = v.statement_deadline(NOW, 5)
    assert v.advance(facts("notified", statement_due=due), "file_statement", CAND, NOW) == "notified"
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("notified", statement_due=due), "file_statement", v.Who(10, "candidate"), NOW)
    assert e.value.code == "not_party"
    with pytest.raises(v.RuleError) as e:
        v.advance(facts("notified", statement_due=due), "file_statement", CAND, due + dt.timedelta(hours=1))
    assert e.value.code == "deadline_passed"
    rdue = v.review_deadline(NOW, 15)
    decided = facts("decided", outcome="violation", review_due=rdue)
    assert v.advance(decided, "request_review", CAND, NOW) == "review_requested"
    with pytest.raises(v.RuleError):
        v.advance(decided, "request_review", CAND, rdue + dt.timedelta(days=1))
    with pytest.raises(v.RuleError):
        v.advance(facts("decided", outcome="no_violation"), "request_review", CAND, NOW)
    assert v.advance(facts("review_requested"), "review", AGENCY, NOW) == "reviewed"
    with pytest.raises(v.RuleError):
        v.advance(facts("decided", outcome="violation"), "dismiss", CHIEF, NOW)


def test_agency_cases_go_to_the_centre():
    f = v.CaseFacts(party="agency", status="signed", signer_ids=frozenset({1, 2}))
    with pytest.raises(v.RuleError):
        v.advance(f, "confirm", CHIEF, NOW)
    assert v.advance(f, "confirm", v.Who(7, "center_auditor"), NOW) == "confirmed"
    with pytest.raises(v.RuleError):
        v.advance(dataclass_replace(f, status="confirmed"), "notify", AGENCY, NOW)


def dataclass_replace(f, **kw):
    import dataclasses
    return dataclasses.replace(f, **kw)


def test_quarter_statistics():
    st = v.quarter_statistics([
        {"party": "candidate", "status": "decided", "article": 6, "outcome": "violation"},
        {"party": "candidate", "status": "reviewed", "article": 5, "outcome": "violation"},
        {"party": "staff", "status": "dismissed", "article": None, "outcome": None},
        {"party": "candidate", "status": "opened", "article": None, "outcome": None}])
    assert st["found"] == 4 and st["handled"] == 2 and st["dismissed"] == 1 and st["open"] == 1
    assert st["by_article"] == {"6": 1, "5": 1} and st["reviews"] == 1
