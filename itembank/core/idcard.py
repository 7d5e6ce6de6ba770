"""Identity documents: the 18-digit resident identity number (GB 11643-1999) and others."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

ID_TYPES = {
    "resident_id": ("居民身份证", "Resident identity card"),
    "passport": ("护照", "Passport"),
    "hk_macao_permit": ("港澳居民来往内地通行证", "Mainland travel permit for HK/Macao residents"),
    "taiwan_permit": ("台湾居民来往大陆通行证", "Mainland travel permit for Taiwan residents"),
    "foreign_permanent": ("外国人永久居留身份证", "Foreign permanent resident ID card"),
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_RESIDENT = re.compile(r"^\d{17}[\dX]$")


class IdNumberError(ValueError):
    """An identity number that cannot be right; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def resident_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    if not re.fullmatch(r"\d{17}", first17):
        raise IdNumberError(f"expected 17 digits, got {first17!r}")
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


@dataclasses.dataclass(frozen=True)
class ResidentId:
    number: str
    region: str
    birth_date: dt.date
    sex: str  # "M" or "F"


def parse_resident_id(number: str) -> ResidentId:
    """Validate an 18-digit resident identity number: shape, birth date and checksum."""
    n = (number or "").strip().upper()
    if len(n) != 18:
        raise IdNumberError(f"居民身份证号码应为18位，实际 {len(n)} 位 (must have 18 characters, got {len(n)})")
    if not _RESIDENT.match(n):
        raise IdNumberError("居民身份证号码前17位须为数字，末位为数字或X (17 digits then a digit or X)")
    try:
        birth = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        raise IdNumberError(f"出生日期 {n[6:14]} 无效 (birth date {n[6:14]} is not a date)") from None
    if birth.year < 1900:
        raise IdNumberError(f"出生日期 {n[6:14]} 无效 (birth date before 1900)")
    expected = resident_check_digit(n[:17])
    if n[17] != expected:
        raise IdNumberError(f"校验码错误：应为 {expected}，实际 {n[17]} (check digit should be {expected})")
    return ResidentId(n, n[:6], birth, "M" if int(n[16]) % 2 else "F")


def normalise_id_number(id_type: str, number: str) -> str:
    """Validate ``number`` for ``id_type`` and return its canonical form."""
    if id_type not in ID_TYPES:
        raise IdNumberError(f"unknown ID type {id_type!r}; expected one of {', '.join(ID_TYPES)}")
    n = (number or "").strip().upper()
    if id_type == "resident_id":
        return parse_resident_id(n).number
    if not re.fullmatch(r"[A-Z0-9]{5,20}", n):
        raise IdNumberError(f"证件号码格式错误 (ID number must be 5–20 letters or digits, got {number!r})")
    return n


def mask_id_number(number: str) -> str:
    """Show the first 6 and last 4 characters only: 410102********1234."""
    if len(number) <= 10:
        return number[:2] + "*" * max(0, len(number) - 4) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
