"""Demo certificates from a prior sitting, so the verification page has something to show.

These are demo certificates: three demo candidates (cand001, cand002, cand003) passed an earlier,
historical assessment of 车工 (6-18-01-01) at the demo agency, sat on 2026-06-13, results audited,
certificates issued on 2026-06-30. No exam plan or result of this system stands behind them
(``source_plan_id``/``source_result_id`` are empty). cand003's certificate was later revoked
(an after-the-fact finding, 指引 art. 8), so the public page shows both statuses.

The agency is also filed as a special-ability assessment agency (code 16015012: 郑州 1601, 5, serial 012;
豫人社办函〔2020〕41号 §二(四)) for the project 轴类零件车削 of 车工; cand020 holds its special-ability
certificate (15-digit number, no level) from the same day.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from itembank.core.audit import SYSTEM
from itembank.core.people import Account
from scoring.certification import approve_special_project, issue_certificate, revoke_certificate, set_special_code

from . import keys

ISSUE_DATE = dt.date(2026, 6, 30)
REVOKED_ON = dt.date(2026, 9, 15)
# username, level, work type name (None prints ——)
HOLDERS = [("cand001", 5, None), ("cand002", 4, "数控车床"), ("cand003", 4, None)]
REVOKE_REASON = "事后查实该考生理论考试由他人代考（指引第7条、第8条），撤销证书 (demo)"
SPECIAL_CODE = "16015012"
SPECIAL_PROJECT = "轴类零件车削"
SPECIAL_HOLDER = "cand020"


def load(s, rng, ctx) -> None:
    issuer = keys.issuer()
    occ = ctx.occupation
    work_types = {w.name: w for w in occ.work_types}
    for username, level, wt in HOLDERS:
        person = s.scalar(select(Account).where(Account.username == username)).person
        cert = issue_certificate(s, SYSTEM, issuer=issuer, person=person, occupation=occ,
                                 work_type=work_types[wt] if wt else None, level=level, site=ctx.site,
                                 issue_date=ISSUE_DATE, photo=person.photo)
        if username == "cand003":
            revoke_certificate(s, SYSTEM, cert, REVOKE_REASON, REVOKED_ON)
    set_special_code(s, SYSTEM, ctx.agency, SPECIAL_CODE)
    project = approve_special_project(s, SYSTEM, agency=ctx.agency, occupation=occ, name=SPECIAL_PROJECT)
    person = s.scalar(select(Account).where(Account.username == SPECIAL_HOLDER)).person
    issue_certificate(s, SYSTEM, issuer=issuer, person=person, occupation=occ, work_type=None, level=None,
                      site=ctx.site, issue_date=ISSUE_DATE, photo=person.photo, project=project)
