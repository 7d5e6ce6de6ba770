"""The audit signing key: Ed25519, kept in the data directory (or named by SKILLCERT_AUDIT_KEY_FILE).

In the scaled profile every server process and worker must read the same key file.
The public half is written beside it so that auditors can check exported checkpoints
with nothing else.
"""
from __future__ import annotations

import os
import pathlib

from itembank.core.audit import Signer


def key_path(data_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(os.environ.get("SKILLCERT_AUDIT_KEY_FILE") or data_dir / "audit_signing_key.pem")


def load_or_create_signer(data_dir: pathlib.Path) -> Signer:
    path = key_path(data_dir)
    if path.exists():
        signer = Signer.from_pem(path.read_bytes())
    else:
        signer = Signer.generate()
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(signer.private_pem())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic: the first process to create the key wins
        except FileExistsError:
            signer = Signer.from_pem(path.read_bytes())
        finally:
            tmp.unlink(missing_ok=True)
    pub = path.with_name("audit_public_key.pem")
    if not pub.exists() or pub.read_bytes() != signer.public_pem():
        pub.write_bytes(signer.public_pem())
    return signer
