"""Signed electronic certificates (电子证书) with Ed25519.

An electronic certificate has the same force as the paper one (工作规程 art. 20; 人社鉴发〔2021〕1号
§五(三)), so it must carry exactly what the paper shows and be checkable by anyone holding only
the issuer's public key.

The envelope is plain JSON::

    {
      "format": "skillcert-certificate/1",
      "alg": "Ed25519",
      "key_id": "<first 16 hex of SHA-256 of the raw public key>",
      "certificate": {"agency": ..., "certificate_number": ..., "id_number": ..., "id_type": ...,
                      "issue_date": "YYYY-MM-DD", "level": 1..5, "name": ...,
                      "occupation_code": ..., "occupation_name": ..., "photo_sha256": <hex or null>,
                      "work_type": <name or "——">},
      "signature": "<base64 of the 64-byte Ed25519 signature>"
    }

A special-ability certificate (专项职业能力证书, 豫人社办函〔2020〕41号 §四) has no skill level and a 15-digit
number; its envelope has ``"format": "skillcert-special-ability/1"`` and its certificate the members of
:class:`SpecialAbilityData` (``project_name`` and the 8-digit ``agency_code`` instead of ``work_type`` and
``level``). Everything else — canonical JSON, key id, signature — is the same.

What is signed is the UTF-8 of the *canonical JSON* of ``{"certificate": ..., "format": ...}``:
keys sorted, separators ``,`` and ``:`` with no spaces, non-ASCII characters written as themselves
(``ensure_ascii=False``), no trailing newline. Any change to any certificate field, to the format,
or to the signature makes verification fail; an envelope naming another key is refused.

Verifying offline, with only the public key
-------------------------------------------
::

    python -m scoring.certificates.verify certificate.json issuer_public.pem

prints the certificate and exits 0, or prints why it is not valid and exits 1. Without this
package, any Ed25519 implementation does: rebuild the canonical JSON above from the file's
``format`` and ``certificate`` members, base64-decode ``signature`` and check it against the
public key (for example ``Ed25519PublicKey.verify`` in the ``cryptography`` package). To check
the photo, compare the SHA-256 of the photo file with ``photo_sha256``.
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import re
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .numbering import CertificateNumberError, LEVELS, decode_national, decode_special

__all__ = [
    "FORMAT", "ALG", "NO_WORK_TYPE", "ID_TYPES", "CERTIFICATE_FIELDS",
    "CertificateData", "SpecialAbilityData", "SPECIAL_FORMAT", "SPECIAL_FIELDS", "data_from_dict",
    "CertificateSignatureError", "InvalidCertificateData",
    "canonical_json", "signed_message", "sign", "verify",
    "generate_private_key", "private_key_to_pem", "private_key_from_pem",
    "public_key_to_pem", "public_key_from_pem", "key_id", "photo_sha256", "id_type_label",
]

FORMAT = "skillcert-certificate/1"
SPECIAL_FORMAT = "skillcert-special-ability/1"
ALG = "Ed25519"
#: Printed when the occupation has no work type (人社鉴发〔2019〕2号 附件2 注3).
NO_WORK_TYPE = "——"

#: Identity document types (证件类型): key → (Chinese, English). Same keys as itembank.core.idcard.
ID_TYPES: dict[str, tuple[str, str]] = {
    "resident_id": ("居民身份证", "Resident identity card"),
    "passport": ("护照", "Passport"),
    "hk_macao_permit": ("港澳居民来往内地通行证", "Mainland travel permit for HK/Macao residents"),
    "taiwan_permit": ("台湾居民来往大陆通行证", "Mainland travel permit for Taiwan residents"),
    "foreign_permanent": ("外国人永久居留身份证", "Foreign permanent resident ID card"),
}

CERTIFICATE_FIELDS: tuple[str, ...] = (
    "name", "id_type", "id_number", "occupation_name", "occupation_code", "work_type", "level",
    "certificate_number", "agency", "issue_date", "photo_sha256",
)
SPECIAL_FIELDS: tuple[str, ...] = (
    "name", "id_type", "id_number", "project_name", "occupation_name", "occupation_code", "certificate_number",
    "agency", "agency_code", "issue_date", "photo_sha256",
)
_ENVELOPE_KEYS = {"format", "alg", "key_id", "certificate", "signature"}
_OCCUPATION_CODE = re.compile(r"^\d-\d{2}-\d{2}-\d{2}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class InvalidCertificateData(ValueError):
    """Certificate data that cannot go on a certificate; ``field`` names the culprit."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CertificateSignatureError(ValueError):
    """An envelope that does not verify: malformed, signed by another key, or altered."""


def id_type_label(id_type: str) -> str:
    """Chinese label of an ID type key (``resident_id`` → 居民身份证); other text is returned as is."""
    return ID_TYPES[id_type][0] if id_type in ID_TYPES else id_type


def photo_sha256(photo: bytes) -> str:
    return hashlib.sha256(photo).hexdigest()


class _SignedData:
    """What both kinds of signed certificate data share: the holder's ID type in words and the JSON form
    (``FIELDS``: the signed fields, in order)."""

    FIELDS: tuple[str, ...] = ()

    @property
    def id_type_name(self) -> str:
        return id_type_label(self.id_type)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["issue_date"] = self.issue_date.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        return cls(**_fields_of(cls, d, cls.FIELDS))


@dataclasses.dataclass(frozen=True)
class CertificateData(_SignedData):
    """Everything a skill level certificate shows (人社鉴发〔2021〕1号 §二(一)), photo by its hash.

    ``work_type`` is ``"——"`` when the occupation has none; ``level`` is 1..5;
    ``certificate_number`` is a valid 22-character number (national or Henan scheme).
    """

    name: str
    id_type: str
    id_number: str
    occupation_name: str
    occupation_code: str
    work_type: str
    level: int
    certificate_number: str
    agency: str
    issue_date: dt.date
    photo_sha256: str | None = None

    kind = "level"
    format = FORMAT

    def __post_init__(self) -> None:
        for f in ("name", "id_type", "id_number", "occupation_name", "occupation_code", "work_type",
                  "certificate_number", "agency"):
            v = getattr(self, f)
            if not isinstance(v, str) or not v.strip():
                raise InvalidCertificateData(f, f"must be non-empty text, got {v!r}")
            if v != v.strip():
                raise InvalidCertificateData(f, f"has leading or trailing spaces: {v!r}")
        if not _OCCUPATION_CODE.match(self.occupation_code):
            raise InvalidCertificateData("occupation_code",
                                         f"must look like 6-18-01-01, got {self.occupation_code!r}")
        if isinstance(self.level, bool) or not isinstance(self.level, int) or self.level not in LEVELS:
            raise InvalidCertificateData("level", f"must be an int 1..5, got {self.level!r}")
        if type(self.issue_date) is not dt.date:
            raise InvalidCertificateData("issue_date", f"must be a datetime.date, got {self.issue_date!r}")
        if self.photo_sha256 is not None and not (isinstance(self.photo_sha256, str)
                                                  and _SHA256.match(self.photo_sha256)):
            raise InvalidCertificateData("photo_sha256", "must be 64 lower-case hex digits or None")
        try:
            number = decode_national(self.certificate_number)
        except CertificateNumberError as e:
            raise InvalidCertificateData("certificate_number", e.reason) from None
        if number.level != self.level:
            raise InvalidCertificateData("certificate_number",
                                         f"position 16 says level {number.level}, the certificate says {self.level}")
        if number.issue_year != self.issue_date.year:
            raise InvalidCertificateData(
                "certificate_number",
                f"positions 14-15 say {number.issue_year}, the issue date is in {self.issue_date.year}")

    FIELDS = CERTIFICATE_FIELDS

    @classmethod
    def build(cls, *, name: str, id_type: str, id_number: str, occupation_name: str,
              occupation_code: str, level: int, certificate_number: str, agency: str,
              issue_date: dt.date, work_type: str | None = None, photo: bytes | None = None) -> CertificateData:
        """Convenience constructor: ``work_type`` None/"" → "——", ``photo`` bytes → its SHA-256."""
        return cls(name=name, id_type=id_type, id_number=id_number, occupation_name=occupation_name,
                   occupation_code=occupation_code, work_type=work_type or NO_WORK_TYPE, level=level,
                   certificate_number=certificate_number, agency=agency, issue_date=issue_date,
                   photo_sha256=photo_sha256(photo) if photo is not None else None)

    @property
    def level_name(self) -> str:
        return LEVELS[self.level][0]




def _fields_of(cls, d: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(d, Mapping):
        raise InvalidCertificateData("certificate", f"must be an object, got {type(d).__name__}")
    missing = [f for f in fields if f not in d]
    extra = sorted(set(d) - set(fields))
    if missing:
        raise InvalidCertificateData(missing[0], "is missing")
    if extra:
        raise InvalidCertificateData(extra[0], "is not a certificate field")
    raw_date = d["issue_date"]
    try:
        issue_date = dt.date.fromisoformat(raw_date) if isinstance(raw_date, str) else raw_date
    except ValueError:
        raise InvalidCertificateData("issue_date", f"must be YYYY-MM-DD, got {raw_date!r}") from None
    return {**{f: d[f] for f in fields}, "issue_date": issue_date}


def _check_common(data, text_fields: tuple[str, ...]) -> None:
    for f in text_fields:
        v = getattr(data, f)
        if not isinstance(v, str) or not v.strip():
            raise InvalidCertificateData(f, f"must be non-empty text, got {v!r}")
        if v != v.strip():
            raise InvalidCertificateData(f, f"has leading or trailing spaces: {v!r}")
    if not _OCCUPATION_CODE.match(data.occupation_code):
        raise InvalidCertificateData("occupation_code", f"must look like 6-18-01-01, got {data.occupation_code!r}")
    if type(data.issue_date) is not dt.date:
        raise InvalidCertificateData("issue_date", f"must be a datetime.date, got {data.issue_date!r}")
    if data.photo_sha256 is not None and not (isinstance(data.photo_sha256, str) and _SHA256.match(data.photo_sha256)):
        raise InvalidCertificateData("photo_sha256", "must be 64 lower-case hex digits or None")


@dataclasses.dataclass(frozen=True)
class SpecialAbilityData(_SignedData):
    """Everything a special-ability certificate (专项职业能力证书) shows, photo by its hash.

    豫人社办函〔2020〕41号 §四(一) and its 参考式样: the holder passed the assessment of one special-ability
    project (``project_name``, e.g. 轴类零件车削) of an occupation; there is no skill level. The number has
    15 digits: issue year (2) + the assessment agency's 8-digit code (``agency_code``) + serial (5).
    """

    name: str
    id_type: str
    id_number: str
    project_name: str
    occupation_name: str
    occupation_code: str
    certificate_number: str
    agency: str
    agency_code: str
    issue_date: dt.date
    photo_sha256: str | None = None

    kind = "special"
    format = SPECIAL_FORMAT
    level = None

    def __post_init__(self) -> None:
        _check_common(self, ("name", "id_type", "id_number", "project_name", "occupation_name", "occupation_code",
                             "certificate_number", "agency", "agency_code"))
        try:
            number = decode_special(self.certificate_number)
        except CertificateNumberError as e:
            raise InvalidCertificateData("certificate_number", e.reason) from None
        if number.agency_code != self.agency_code:
            raise InvalidCertificateData("certificate_number", f"digits 3-10 say agency {number.agency_code}, "
                                                               f"the certificate says {self.agency_code}")
        if number.issue_year != self.issue_date.year:
            raise InvalidCertificateData(
                "certificate_number",
                f"digits 1-2 say {number.issue_year}, the issue date is in {self.issue_date.year}")

    FIELDS = SPECIAL_FIELDS

    @classmethod
    def build(cls, *, name: str, id_type: str, id_number: str, project_name: str, occupation_name: str,
              occupation_code: str, certificate_number: str, agency: str, agency_code: str, issue_date: dt.date,
              photo: bytes | None = None) -> SpecialAbilityData:
        return cls(name=name, id_type=id_type, id_number=id_number, project_name=project_name,
                   occupation_name=occupation_name, occupation_code=occupation_code,
                   certificate_number=certificate_number, agency=agency, agency_code=agency_code,
                   issue_date=issue_date, photo_sha256=photo_sha256(photo) if photo is not None else None)




def data_from_dict(d: Mapping[str, Any], fmt: str = FORMAT) -> CertificateData | SpecialAbilityData:
    """Certificate data of an envelope's ``format`` (a skill level or a special-ability certificate)."""
    if fmt == SPECIAL_FORMAT:
        return SpecialAbilityData.from_dict(d)
    return CertificateData.from_dict(d)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def signed_message(certificate: Mapping[str, Any], fmt: str = FORMAT) -> bytes:
    """The exact bytes that are signed for ``certificate`` (a dict as in the envelope)."""
    return canonical_json({"certificate": dict(certificate), "format": fmt}).encode("utf-8")


# --- keys ---------------------------------------------------------------------------------------

def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted with ``password`` when given."""
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def private_key_from_pem(pem: bytes | str, password: bytes | None = None) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=password)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 private key, got {type(key).__name__}")
    return key


def public_key_to_pem(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """SubjectPublicKeyInfo PEM of a public key (or of a private key's public half)."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_from_pem(pem: bytes | str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as e:
        raise CertificateSignatureError(f"not a PEM public key: {e}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise CertificateSignatureError(f"expected an Ed25519 public key, got {type(key).__name__}")
    return key


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """First 16 hex digits of SHA-256 of the raw 32-byte public key."""
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# --- sign and verify ----------------------------------------------------------------------------

def sign(data: CertificateData | Mapping[str, Any],
         private_key: Ed25519PrivateKey | bytes | str) -> dict[str, Any]:
    """Sign certificate data; returns the envelope dict (JSON-ready)."""
    cert = data if isinstance(data, (CertificateData, SpecialAbilityData)) else CertificateData.from_dict(data)
    key = private_key if isinstance(private_key, Ed25519PrivateKey) else private_key_from_pem(private_key)
    body = cert.to_dict()
    signature = key.sign(signed_message(body, cert.format))
    return {
        "format": cert.format,
        "alg": ALG,
        "key_id": key_id(key),
        "certificate": body,
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def verify(envelope: Mapping[str, Any] | str | bytes,
           public_key_pem: bytes | str | Ed25519PublicKey) -> CertificateData | SpecialAbilityData:
    """Check an envelope (dict or its JSON text) against the issuer's public key.

    Returns the certificate data; raises :class:`CertificateSignatureError` when anything was
    altered or the envelope is malformed or names another key.
    """
    if isinstance(envelope, (str, bytes)):
        try:
            envelope = json.loads(envelope)
        except ValueError as e:
            raise CertificateSignatureError(f"not JSON: {e}") from None
    if not isinstance(envelope, Mapping):
        raise CertificateSignatureError("envelope must be a JSON object")
    keys = set(envelope)
    if keys != _ENVELOPE_KEYS:
        missing, extra = sorted(_ENVELOPE_KEYS - keys), sorted(keys - _ENVELOPE_KEYS)
        raise CertificateSignatureError(f"envelope members wrong: missing {missing}, unexpected {extra}")
    if envelope["format"] not in (FORMAT, SPECIAL_FORMAT):
        raise CertificateSignatureError(f"unknown format {envelope['format']!r}; expected {FORMAT!r} or "
                                        f"{SPECIAL_FORMAT!r}")
    if envelope["alg"] != ALG:
        raise CertificateSignatureError(f"unknown algorithm {envelope['alg']!r}; expected {ALG!r}")
    key = public_key_pem if isinstance(public_key_pem, Ed25519PublicKey) else public_key_from_pem(public_key_pem)
    if envelope["key_id"] != key_id(key):
        raise CertificateSignatureError(
            f"signed with key {envelope['key_id']!r}, but the public key given is {key_id(key)!r}")
    sig = envelope["signature"]
    try:
        raw_sig = base64.b64decode(sig, validate=True) if isinstance(sig, str) else b""
    except (binascii.Error, ValueError):
        raw_sig = b""
    if len(raw_sig) != 64:
        raise CertificateSignatureError("signature is not 64 bytes of base64")
    body = envelope["certificate"]
    if not isinstance(body, Mapping):
        raise CertificateSignatureError("certificate must be a JSON object")
    try:
        message = signed_message(body, envelope["format"])
    except (TypeError, ValueError) as e:
        raise CertificateSignatureError(f"certificate cannot be serialised: {e}") from None
    try:
        key.verify(raw_sig, message)
    except InvalidSignature:
        raise CertificateSignatureError(
            "signature does not match: the certificate was altered or not issued with this key") from None
    try:
        data = data_from_dict(body, envelope["format"])
    except InvalidCertificateData as e:  # signed, yet not well-formed: refuse rather than trust it
        raise CertificateSignatureError(f"signed certificate is not well-formed: {e}") from None
    if data.to_dict() != dict(body):
        raise CertificateSignatureError("certificate fields are not in canonical form")
    return data
