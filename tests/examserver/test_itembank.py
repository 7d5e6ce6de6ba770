"""Item bank through the API and the assembly task, end to end: small banks with known answers,
infeasible blueprints, enemies and overlap, the demo bank, paper approval, sealing and the candidate view."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from itembank import items as bank_items
from itembank.core.errors import Conflict
from itembank.papers import AssemblyRun, Paper, candidate_view, scoring_key

from ..conftest import api_token
from ..itembank.bank.helpers import approved, make_bank, single


def _bank(db, make, ps, enemies=None):
    """Single-choice items of element 2.1 with the given p values, approved."""
    with db.write_scope() as s:
        b = make_bank(s, make)
        ids = []
        for k, p in enumerate(ps):
            enemy = (enemies or {}).get(k)
            it = approved(s, b, single(stem=f"第{k}题：螺纹题（ ）。", p=p, enemy_group=enemy), code=f"S{k}")
            ids.append(it.id)
        return b.standard.id, ids


def _blueprint(client, h, std_id, count, n_forms=1, max_overlap=0, target=0.6, tol=0.05, **kw):
    body = {"standard_id": std_id, "name": "测试细目表", "n_forms": n_forms, "max_overlap": max_overlap,
            "target_mean_p": target, "tolerance": tol, "total_points": float(count),
            "points_per_type": {"single": 1.0}, "cells": [{"element_code": "2.1", "item_type": "single", "count": count}],
            **kw}
    r = client.post("/api/v1/itembank/blueprints", headers=h, json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def _assemble(client, h, bp_id, seed=0):
    r = client.post(f"/api/v1/itembank/blueprints/{bp_id}/runs", headers=h, json={"seed": seed, "time_limit": 20})
    assert r.status_code == 201, r.get_json()
    run_id = r.get_json()["id"]
    r = client.post(f"/api/v1/itembank/runs/{run_id}/start", headers=h)
    assert r.status_code == 200, r.get_json()
    return client.get(f"/api/v1/itembank/runs/{run_id}", headers=h).get_json()


def _paper_items(client, h, pid):
    return {i["item_id"] for i in client.get(f"/api/v1/itembank/papers/{pid}", headers=h).get_json()["items"]}


def test_the_task_assembles_the_known_optimum_and_records_progress(app, client, db, make):
    # pairs: (.50, .72) has mean .61, closest to .60
    std_id, ids = _bank(db, make, [0.50, 0.72, 0.65, 0.90, 0.20])
    h = api_token(client, "ibw1")
    run = _assemble(client, h, _blueprint(client, h, std_id, 2))
    assert run["status"] == "done" and run["progress"] == 1.0 and run["result"]["ok"]
    assert run["result"]["forms"][0]["mean_p"] == pytest.approx(0.61)
    assert _paper_items(client, h, run["paper_ids"][0]) == {ids[0], ids[1]}


def test_two_disjoint_forms_and_the_comparison(app, client, db, make):
    std_id, ids = _bank(db, make, [0.4, 0.8, 0.55, 0.65, 0.9, 0.3])
    h = api_token(client, "ibw1")
    run = _assemble(client, h, _blueprint(client, h, std_id, 2, n_forms=2, tol=0.01))
    a, b = (_paper_items(client, h, p) for p in run["paper_ids"])
    assert not a & b
    cmp = client.get(f"/api/v1/itembank/runs/{run['id']}/comparison", headers=h).get_json()
    assert cmp["stats"]["overlap"] == [[2, 0], [0, 2]] and cmp["stats"]["mean_p"] == pytest.approx([0.6, 0.6])
    assert len(cmp["stats"]["tif"]) == 2 and len(cmp["stats"]["thetas"]) == 25


def test_enemies_never_share_a_form_and_overlap_limit_holds(app, client, db, make):
    # items 0 and 1 alone hit .60 exactly, but they are enemies
    std_id, ids = _bank(db, make, [0.55, 0.65, 0.40, 0.90, 0.70, 0.45], enemies={0: "E1", 1: "E1"})
    h = api_token(client, "ibw1")
    run = _assemble(client, h, _blueprint(client, h, std_id, 2, tol=0.5))
    form = _paper_items(client, h, run["paper_ids"][0])
    assert not {ids[0], ids[1]} <= form
    run = _assemble(client, h, _blueprint(client, h, std_id, 3, n_forms=3, max_overlap=1, tol=0.5), seed=2)
    forms = [_paper_items(client, h, p) for p in run["paper_ids"]]
    assert all(len(forms[i] & forms[j]) <= 1 for i in range(3) for j in range(i + 1, 3))


def test_an_infeasible_blueprint_shows_the_engines_diagnosis_and_makes_no_paper(app, client, db, make):
    std_id, _ = _bank(db, make, [0.5, 0.6, 0.7])
    h = api_token(client, "ibw1")
    bp_id = _blueprint(client, h, std_id, 2, n_forms=2)  # 4 items needed, 3 held
    cov = client.get(f"/api/v1/itembank/blueprints/{bp_id}", headers=h).get_json()["coverage"]
    assert cov["cells"][0] == {"element_code": "2.1", "item_type": "single", "count": 2, "needed_all": 4,
                               "available": 3, "exposure_blocked": 0, "short": 1}
    run = _assemble(client, h, bp_id)
    assert run["status"] == "infeasible" and run["paper_ids"] == []
    d = run["result"]["diagnoses"][0]
    assert d["element"] == "2.1" and d["item_type"] == "single" and d["needed"] == 4 and d["available"] == 3
    assert "2.1" in d["message_zh"]
    with db.read_scope() as s:
        assert s.scalars(select(Paper)).all() == []


def test_a_blueprint_that_does_not_add_up_cannot_be_assembled(app, client, db, make):
    std_id, _ = _bank(db, make, [0.5, 0.6, 0.7])
    h = api_token(client, "ibw1")
    bp_id = _blueprint(client, h, std_id, 2, total_points=100.0)
    r = client.post(f"/api/v1/itembank/blueprints/{bp_id}/runs", headers=h, json={})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "total_points"
    r = client.post("/api/v1/itembank/blueprints", headers=h, json={"standard_id": std_id, "name": "x", "cells": [
        {"element_code": "7.7", "item_type": "single", "count": 1}]})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "cells[0].element_code"


def test_paper_review_seal_and_the_candidate_view_has_no_keys(app, client, db, make):
    std_id, _ = _bank(db, make, [0.4, 0.8, 0.55, 0.65])
    with db.write_scope() as s:
        from itembank.standards import SkillStandard
        from itembank.core.reference import Agency
        std = s.get(SkillStandard, std_id)
        agency = s.scalar(select(Agency).where(Agency.agency_code == "0042"))
        from itembank.core.audit import Actor
        from itembank.core.people import Account
        w = s.scalar(select(Account).where(Account.username == "ibw1"))
        r = s.scalar(select(Account).where(Account.username == "ibr1"))
        writer, reviewer = Actor(w.id, "w", "item_writer"), Actor(r.id, "r", "item_reviewer")
        it = bank_items.create_item(s, writer, agency_id=agency.id, standard=std, item_type="fill", element_code="2.1",
                                    levels=[4], stem="牙型角为______度。", answer="60", p=0.6, explanation="秘密解析")
        bank_items.submit_for_review(s, writer, it)
        bank_items.review_item(s, reviewer, it, decision="approve")
    hw, hr = api_token(client, "ibw1"), api_token(client, "ibr1")
    r = client.post("/api/v1/itembank/blueprints", headers=hw, json={
        "standard_id": std_id, "name": "带填空", "n_forms": 1, "target_mean_p": 0.6, "tolerance": 0.5, "total_points": 4,
        "points_per_type": {"single": 1, "fill": 2}, "cells": [{"element_code": "2.1", "item_type": "single", "count": 2},
                                                              {"element_code": "2.1", "item_type": "fill", "count": 1}]})
    run = _assemble(client, hw, r.get_json()["id"])
    pid = run["paper_ids"][0]
    assert client.post(f"/api/v1/itembank/papers/{pid}/review", headers=hr, json={"decision": "approve"}).status_code == 409
    assert client.post(f"/api/v1/itembank/papers/{pid}/submit", headers=hw,
                       json={"shuffle": {"sections": {"single": False}, "options": False}}).status_code == 200
    assert client.post(f"/api/v1/itembank/papers/{pid}/seal", headers=hr).status_code == 409  # not approved yet
    assert client.post(f"/api/v1/itembank/papers/{pid}/review", headers=hr,
                       json={"decision": "approve"}).get_json()["status"] == "approved"
    assert client.post(f"/api/v1/itembank/papers/{pid}/seal", headers=hr).get_json()["status"] == "sealed"
    with db.read_scope() as s:
        paper = s.get(Paper, pid)
        view = candidate_view(paper)
        key = scoring_key(paper)
        text = json.dumps(view, ensure_ascii=False)
        for forbidden in ("answer", "explanation", "秘密解析", "rubric", "deductions", "\"60\""):
            assert forbidden not in text
        assert [sec["item_type"] for sec in view["sections"]] == ["single", "fill"]
        assert view["sections"][0]["shuffle"] is False and view["shuffle_options"] is False
        assert view["sections"][1]["items"][0]["blanks"] == 1
        assert {i["item_type"]: i["answer"] for i in key["items"]}["fill"] == [["60"]]
        assert key["digest"] == view["digest"] == paper.digest
        assert all(s.get(bank_items.Item, i["item_id"]).exposure_count == 1 for i in key["items"])
    with db.write_scope() as s:
        paper = s.get(Paper, pid)
        paper.title = "改标题"
        with pytest.raises(Conflict):
            s.flush()
        s.rollback()
    with db.write_scope() as s:
        paper = s.get(Paper, pid)
        paper.items[0].points = 5
        with pytest.raises(Conflict):
            s.flush()
        s.rollback()


def test_the_reviewer_never_approves_their_own_paper_and_unsealed_papers_are_not_delivered(app, client, db, make):
    std_id, _ = _bank(db, make, [0.4, 0.8, 0.55, 0.65])
    hw = api_token(client, "ibw1")
    run = _assemble(client, hw, _blueprint(client, hw, std_id, 2, tol=0.5))
    pid = run["paper_ids"][0]
    client.post(f"/api/v1/itembank/papers/{pid}/submit", headers=hw, json={})
    with db.write_scope() as s:
        from itembank.core.audit import Actor
        from itembank.core.errors import Forbidden
        from itembank.papers import review_paper
        paper = s.get(Paper, pid)
        with pytest.raises(Forbidden):
            review_paper(s, Actor(paper.created_by, "w", "item_reviewer"), paper, decision="approve")
        with pytest.raises(Conflict):
            candidate_view(paper)
        with pytest.raises(Conflict):
            scoring_key(paper)


def test_candidates_and_other_roles_cannot_read_papers(app, client, demo):
    r = client.get("/api/v1/itembank/papers/1", headers=api_token(client, "cand001"))
    assert r.status_code == 403
    r = client.get("/api/v1/itembank/items", headers=api_token(client, "proctor"))
    assert r.status_code == 403


@pytest.mark.slow
def test_demo_bank_and_blueprint_assemble_two_parallel_forms(app, client, db, demo):
    h = api_token(client, "writer")
    items = client.get("/api/v1/itembank/items?limit=1&status=approved", headers=h).get_json()
    assert items["counts"]["approved"] >= 406
    bp = client.get("/api/v1/itembank/blueprints", headers=h).get_json()["blueprints"][0]
    full = client.get(f"/api/v1/itembank/blueprints/{bp['id']}", headers=h).get_json()
    assert full["coverage"]["points"] == 100 and full["coverage"]["short_cells"] == 0
    run = _assemble(client, h, bp["id"], seed=7)
    assert run["status"] == "done" and len(run["paper_ids"]) == 2
    forms = run["result"]["forms"]
    assert all(f["points"] == 100 and abs(f["mean_p"] - 0.68) <= 0.68 * 0.02 for f in forms)
    a, b = (_paper_items(client, h, p) for p in run["paper_ids"])
    assert len(a & b) == 0
    with db.read_scope() as s:
        assert s.get(AssemblyRun, run["id"]).finished_at is not None
