"""``skillcert certificates``: check certificate numbers and signed electronic certificates.

Imports only click and :mod:`scoring.certificates`; the main CLI adds it with
``cli.add_command(certificates)``.
"""
from __future__ import annotations

import click

from scoring.certificates import (
    CertificateNumberError,
    CertificateSignatureError,
    certificate_lines,
    decode,
    verify,
)


@click.group("certificates")
def certificates() -> None:
    """职业技能等级证书 Skill level certificates: numbers and signatures."""


@certificates.command("check")
@click.argument("code")
@click.option("--scheme", type=click.Choice(["national", "henan", "special"]), default="national",
              show_default=True,
              help="national: 人社鉴发〔2019〕2号; henan: 豫职鉴〔2020〕2号; special: 15-digit 专项职业能力")
@click.option("--allow-placeholders", is_flag=True,
              help="accept the X placeholders of the seed's examples in the site serial")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="reject issue years after this date (YYYY-MM-DD)")
def check(code: str, scheme: str, allow_placeholders: bool, as_of) -> None:  # as_of: datetime | None
    """Decode CODE and print its parts, or exit 1 saying exactly why it is invalid."""
    try:
        number = decode(code, scheme, allow_placeholders=allow_placeholders,
                        as_of=as_of.date() if as_of else None)
    except CertificateNumberError as e:
        click.echo(f"无效 INVALID: {e.reason_zh}", err=True)
        click.echo(f"              {e.reason_en}", err=True)
        raise SystemExit(1) from None
    click.echo(f"编码 Code: {number.code} ({scheme})")
    for positions, zh, en, value in number.parts():
        click.echo(f"第{positions}位 {zh} {en}: {value}")
    note = " — 含示例占位符X (contains the seed's X placeholders)" if getattr(number, "placeholder", False) else ""
    click.echo(f"有效 VALID{note}")


@certificates.command("verify")
@click.argument("envelope", type=click.File("rb"))
@click.argument("public_key", type=click.File("rb"))
def verify_command(envelope, public_key) -> None:
    """Verify a signed certificate ENVELOPE (JSON) with the issuer's PUBLIC_KEY (PEM)."""
    try:
        data = verify(envelope.read(), public_key.read())
    except CertificateSignatureError as e:
        click.echo(f"无效 INVALID: {e}", err=True)
        raise SystemExit(1) from None
    for line in certificate_lines(data):
        click.echo(line)
    click.echo("有效 VALID: 签名正确 (signature verified)")
