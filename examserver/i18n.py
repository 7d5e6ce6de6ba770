"""Locale choice (zh-CN first, English switchable) and catalog compilation."""
from __future__ import annotations

import pathlib

from flask import request, session

LOCALES = {"zh_CN": "简体中文", "en": "English"}


def select_locale() -> str:
    lang = request.args.get("lang")
    if lang in LOCALES:
        session["lang"] = lang
    return session.get("lang", "zh_CN")


def current_locale() -> str:
    """The locale of this request ('zh_CN' or 'en'), after any ?lang= switch."""
    from flask_babel import get_locale
    loc = get_locale()
    return "en" if loc is not None and loc.language == "en" else "zh_CN"


def compile_catalogs(root: pathlib.Path) -> None:
    """Compile each messages.po into messages.mo when the .mo is missing or older."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    for po in root.glob("*/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog)
        tmp.replace(mo)
