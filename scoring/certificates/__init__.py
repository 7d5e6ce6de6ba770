"""Skill level certificates (职业技能等级证书): numbers, signed electronic copies, PDFs, public view.

Pure code: no web framework, database or clock; dates are passed in.

- :mod:`.numbering` - certificate numbers under 人社鉴发〔2019〕2号 (national), 豫职鉴〔2020〕2号 /
  豫职鉴〔2021〕1号 (Henan) and 豫人社办函〔2020〕41号 (special ability, 15 digits).
- :mod:`.signing` - Ed25519-signed JSON envelopes (skill level and special-ability certificates); ``python -m scoring.certificates.verify``.
- :mod:`.pdf` - the certificate as an A4 landscape PDF.
- :mod:`.verification` - masked ID numbers and the public view of a certificate.
"""
from .numbering import (
    CATEGORIES, HENAN_CITIES, LEVELS, PROVINCES, SCHEMES,
    CertificateNumber, CertificateNumberError, SerialOverflowError, SpecialAbilityNumber, SpecialAgencyCode,
    decode, decode_henan, decode_national, decode_special, encode_henan, encode_national, encode_special,
    format_serial, is_valid, level_name, next_serial, parse_special_agency_code,
)
from .signing import (
    NO_WORK_TYPE, CertificateData, CertificateSignatureError, InvalidCertificateData, SpecialAbilityData,
    generate_private_key, key_id, private_key_from_pem, private_key_to_pem, public_key_from_pem,
    public_key_to_pem, sign, verify,
)
from .verification import certificate_lines, mask_id_number, public_view, verification_url


def render_certificate_pdf(*args, **kwargs) -> bytes:
    """See :func:`scoring.certificates.pdf.render_certificate_pdf` (reportlab is imported on first use)."""
    from .pdf import render_certificate_pdf as render
    return render(*args, **kwargs)


__all__ = [
    "CATEGORIES", "HENAN_CITIES", "LEVELS", "PROVINCES", "SCHEMES",
    "CertificateNumber", "CertificateNumberError", "SerialOverflowError", "SpecialAbilityNumber",
    "SpecialAgencyCode", "decode", "decode_henan", "decode_national", "decode_special", "encode_henan",
    "encode_national", "encode_special", "format_serial", "is_valid", "level_name", "next_serial",
    "parse_special_agency_code",
    "NO_WORK_TYPE", "CertificateData", "CertificateSignatureError", "InvalidCertificateData", "SpecialAbilityData",
    "generate_private_key", "key_id", "private_key_from_pem", "private_key_to_pem", "public_key_from_pem",
    "public_key_to_pem", "sign", "verify",
    "certificate_lines", "mask_id_number", "public_view", "verification_url", "render_certificate_pdf",
]
