"""The top navigation: each area adds its entries here as (endpoint, English label, roles)."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext

# Labels are msgids translated in the area's catalog; list only endpoints the roles may open.
NAV: list[tuple[str, str, frozenset[str]]] = [
    ("pages.home", "Home", frozenset({"*"})),
    ("pages.audit_page", "Audit trail", frozenset({"admin", "center_auditor"})),
    ("pages.standards_page", "Skill standards", frozenset({"item_writer", "item_reviewer", "agency_admin", "admin"})),
    ("administration.plans", "Exam plans", frozenset({"agency_admin", "center_auditor", "admin"})),
    ("administration.reports", "Reports", frozenset({"agency_admin", "center_auditor", "admin"})),
    ("administration.calendar", "Working-day calendar", frozenset({"center_auditor", "admin"})),
    ("administration.my_exams", "My exams", frozenset({"candidate"})),
    ("administration.my_reports", "Supervision reports", frozenset({"supervisor"})),
    ("certification.mine", "My certificates", frozenset({"candidate"})),
    ("certification.manage", "Certificates", frozenset({"agency_admin", "center_auditor"})),
    ("certification.verify_form", "Verify a certificate", frozenset({"*"})),
    ("delivery.proctor_sessions", "Live exam rooms", frozenset({"proctor", "chief_proctor", "agency_admin", "admin"})),
    ("itembank.browser", "Item bank", frozenset({"item_writer", "item_reviewer", "agency_admin"})),
    ("itembank.review_queue", "Review queue", frozenset({"item_reviewer"})),
    ("itembank.blueprints", "Blueprints", frozenset({"item_writer", "item_reviewer"})),
    ("analysis.index", "Item analysis", frozenset({"item_writer", "item_reviewer", "agency_admin"})),
    ("violations.queue", "Violations", frozenset({"proctor", "chief_proctor", "agency_admin", "center_auditor"})),
    ("violations.mine", "My violation cases", frozenset({"candidate"})),
    ("marking.index", "Practical marking", frozenset({"examiner"})),
    ("marking.plans", "Results", frozenset({"agency_admin", "center_auditor", "admin"})),
    ("marking.batches", "Results audit", frozenset({"center_auditor", "admin"})),
    ("marking.my_results", "My results", frozenset({"candidate"})),
]


def links_for(role: str | None) -> list[tuple[str, str]]:
    if role is None:
        return []
    return [(url_for(ep), gettext(label)) for ep, label, roles in NAV if "*" in roles or role in roles]
