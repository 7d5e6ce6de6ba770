"""The certificate signing key: Ed25519, kept in the data directory, separate from the audit key.

``certificate_signing_key.pem`` (or the file named by ``SKILLCERT_CERTIFICATE_KEY_FILE``) holds the
private key; ``certificate_public_key.pem`` beside it, and ``/verify/public-key.pem`` on the web,
publish the public half so that anyone can check a downloaded certificate offline
(``python -m scoring.certificates.verify certificate.json certificate_public_key.pem``).
In the scaled profile every server process and worker must read the same key file.

The QR code of a certificate points to ``<public URL>/verify/<number>``; the public URL is
``SKILLCERT_PUBLIC_URL`` (app config or environment), else ``http://127.0.0.1:5000``.
"""
from __future__ import annotations

import os
import pathlib

from flask import Flask, current_app, has_app_context

from scoring.certificates import private_key_from_pem, private_key_to_pem, public_key_to_pem
from scoring.certificates.signing import generate_private_key
from scoring.certification import Issuer

EXTENSION = "skillcert.certificate_issuer"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
_last: Issuer | None = None  # the issuer of the app built last in this process (CLI demo, scripts)


def key_path(data_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(os.environ.get("SKILLCERT_CERTIFICATE_KEY_FILE") or data_dir / "certificate_signing_key.pem")


def public_key_path(data_dir: pathlib.Path) -> pathlib.Path:
    return key_path(data_dir).with_name("certificate_public_key.pem")


def load_or_create_key(data_dir: pathlib.Path):
    """Read the key file, or create it atomically (the first process to link it wins)."""
    path = key_path(data_dir)
    if path.exists():
        key = private_key_from_pem(path.read_bytes())
    else:
        key = generate_private_key()
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(private_key_to_pem(key))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            key = private_key_from_pem(path.read_bytes())
        finally:
            tmp.unlink(missing_ok=True)
    pub = public_key_path(data_dir)
    pem = public_key_to_pem(key)
    if not pub.exists() or pub.read_bytes() != pem:
        tmp = pub.with_name(f"{pub.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        tmp.replace(pub)
    return key


def public_url(app: Flask) -> str:
    return (app.config.get("SKILLCERT_PUBLIC_URL") or os.environ.get("SKILLCERT_PUBLIC_URL")
            or DEFAULT_PUBLIC_URL).rstrip("/")


def configure(app: Flask) -> Issuer:
    """Load the key for ``app`` (called when the certification blueprint is registered)."""
    global _last
    settings = app.config["SKILLCERT_SETTINGS"]
    issuer = Issuer(load_or_create_key(settings.data_dir), public_url(app) + "/verify")
    app.extensions[EXTENSION] = issuer
    _last = issuer
    return issuer


def issuer() -> Issuer:
    """The current app's issuer; outside an app context, the one of the app built last."""
    if has_app_context() and EXTENSION in current_app.extensions:
        return current_app.extensions[EXTENSION]
    if _last is None:
        raise RuntimeError("no certificate issuer: build the app first (create_app)")
    return _last


def public_pem() -> bytes:
    return public_key_to_pem(issuer().public_key)
