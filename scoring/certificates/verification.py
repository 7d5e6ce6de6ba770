"""Public certificate verification (社会公众查询): masked ID and the public view of a certificate.

Pure: the caller looks the certificate up and passes its data and revocation date in.
Personal data is protected (指引 art. 15): the public sees the ID number masked, never the photo
hash or anything the certificate does not print.
"""
from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

from .numbering import LEVELS
from .signing import CertificateData, SpecialAbilityData, id_type_label

__all__ = ["mask_id_number", "public_view", "certificate_lines", "verification_url", "STATUS_LABELS"]

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "valid": ("有效", "valid"),
    "revoked": ("已撤销", "revoked"),
}


def mask_id_number(id_number: str, keep_head: int = 6, keep_tail: int = 4, mask: str = "*") -> str:
    """Mask an ID number for public display, keeping its length.

    An 18-character resident ID keeps the first 6 and last 4: ``410102********1234``. A number too
    short for that (passports, permits) keeps a quarter at each end, at least one character, and at
    least one character is always masked::

        >>> mask_id_number("410102199001011234")
        '410102********1234'
        >>> mask_id_number("E12345678")
        'E1*****78'
    """
    if not isinstance(id_number, str):
        raise TypeError(f"id_number must be str, got {type(id_number).__name__}")
    if keep_head < 0 or keep_tail < 0:
        raise ValueError(f"keep_head and keep_tail must be >= 0, got {keep_head}, {keep_tail}")
    n = id_number.strip()
    if len(n) <= 2:
        return mask * len(n)
    if len(n) <= keep_head + keep_tail:
        keep_head = keep_tail = max(1, len(n) // 4)
    tail = n[len(n) - keep_tail:] if keep_tail else ""
    return n[:keep_head] + mask * (len(n) - keep_head - keep_tail) + tail


def public_view(data: CertificateData | SpecialAbilityData, *, revoked_on: dt.date | None = None) -> dict[str, Any]:
    """What anyone verifying the certificate may see: what it prints, ID masked, and its status.

    ``revoked_on`` is the date the certificate was revoked (指引 art. 8), or None while it is valid.
    ``kind`` is ``level`` (职业技能等级证书) or ``special`` (专项职业能力证书: ``project_name`` instead of a
    work type and level, which are None).
    """
    if revoked_on is not None:
        if type(revoked_on) is not dt.date:
            raise TypeError(f"revoked_on must be a datetime.date, got {revoked_on!r}")
        if revoked_on < data.issue_date:
            raise ValueError(f"revoked_on {revoked_on} is before the issue date {data.issue_date}")
    status = "revoked" if revoked_on is not None else "valid"
    return {
        "certificate_number": data.certificate_number,
        "name": data.name,
        "id_type": data.id_type,
        "id_type_name": id_type_label(data.id_type),
        "id_number_masked": mask_id_number(data.id_number),
        "occupation_name": data.occupation_name,
        "occupation_code": data.occupation_code,
        "kind": data.kind,
        "project_name": getattr(data, "project_name", None),
        "work_type": None if data.kind == "special" else data.work_type,
        "level": data.level,
        "level_name": LEVELS[data.level][0] if data.level else None,
        "agency": data.agency,
        "issue_date": data.issue_date.isoformat(),
        "has_photo": data.photo_sha256 is not None,
        "status": status,
        "status_name": STATUS_LABELS[status][0],
        "revoked_on": revoked_on.isoformat() if revoked_on else None,
    }


def certificate_lines(data: CertificateData | SpecialAbilityData, *, masked: bool = False) -> list[str]:
    """The certificate's fields as 'label: value' lines (Chinese label with English), for printing."""
    id_number = mask_id_number(data.id_number) if masked else data.id_number
    if data.kind == "special":
        return [
            f"证书编号 Certificate No.: {data.certificate_number}",
            "证书类别 Kind: 专项职业能力证书 (special vocational ability)",
            f"姓名 Name: {data.name}",
            f"证件类型 ID Type: {id_type_label(data.id_type)}",
            f"证件号码 ID No.: {id_number}",
            f"考核项目 Project: {data.project_name}",
            f"所属职业 Occupation: {data.occupation_name} ({data.occupation_code})",
            f"考核机构 Agency: {data.agency} ({data.agency_code})",
            f"发证日期 Issued date: {data.issue_date.isoformat()}",
            f"照片 Photo SHA-256: {data.photo_sha256 or '（无 none）'}",
        ]
    return [
        f"证书编号 Certificate No.: {data.certificate_number}",
        f"姓名 Name: {data.name}",
        f"证件类型 ID Type: {id_type_label(data.id_type)}",
        f"证件号码 ID No.: {id_number}",
        f"职业名称 Occupation: {data.occupation_name} ({data.occupation_code})",
        f"工种/职业方向 Job: {data.work_type}",
        f"职业技能等级 Skill Level: {LEVELS[data.level][0]}",
        f"评价机构 Agency: {data.agency}",
        f"发证日期 Issued date: {data.issue_date.isoformat()}",
        f"照片 Photo SHA-256: {data.photo_sha256 or '（无 none）'}",
    ]


def verification_url(base_url: str, certificate_number: str) -> str:
    """``base_url`` with the certificate number as a query parameter (what the QR code encodes).

    >>> verification_url("https://cert.example.org/verify", "Y000123000001195000001")
    'https://cert.example.org/verify?no=Y000123000001195000001'
    """
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query.append(("no", certificate_number))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
