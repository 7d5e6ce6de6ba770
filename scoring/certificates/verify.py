"""Verify an electronic certificate offline: ``python -m scoring.certificates.verify FILE.json PUBKEY.pem``.

Needs only the envelope file and the issuer's public key (PEM); no network, no database.
Prints the certificate fields and ``VALID`` and exits 0, or prints why it is invalid and exits 1
(2 for wrong usage or unreadable files). With ``--photo PHOTO`` also checks that the photo file
is the one the certificate was issued with. See :mod:`scoring.certificates.signing` for the format.
"""
from __future__ import annotations

import argparse
import hashlib
import pathlib
import sys

from .signing import CertificateSignatureError, verify
from .verification import certificate_lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.certificates.verify",
        description="Verify a signed electronic skill level certificate with the issuer's public key.")
    parser.add_argument("envelope", type=pathlib.Path, help="certificate JSON file (signed envelope)")
    parser.add_argument("public_key", type=pathlib.Path, help="issuer's Ed25519 public key, PEM")
    parser.add_argument("--photo", type=pathlib.Path, help="photo file to compare with photo_sha256")
    args = parser.parse_args(argv)
    try:
        envelope = args.envelope.read_bytes()
        pem = args.public_key.read_bytes()
        photo = args.photo.read_bytes() if args.photo else None
    except OSError as e:
        print(f"无法读取文件 (cannot read file): {e}", file=sys.stderr)
        return 2
    try:
        data = verify(envelope, pem)
    except CertificateSignatureError as e:
        print(f"无效 INVALID: {e}", file=sys.stderr)
        return 1
    for line in certificate_lines(data):
        print(line)
    if photo is not None:
        digest = hashlib.sha256(photo).hexdigest()
        if data.photo_sha256 != digest:
            print(f"无效 INVALID: 照片与证书不符 (photo SHA-256 {digest} does not match the certificate's "
                  f"{data.photo_sha256})", file=sys.stderr)
            return 1
        print("照片 Photo: 与证书一致 (matches)")
    print("有效 VALID: 签名正确 (signature verified)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
