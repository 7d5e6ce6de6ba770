"""Safe rich text for stems, options, explanations and rubrics (sanitised with bleach).

Item writers paste formatted text with formulas (sub/superscripts), tables and images.
Everything stored is first passed through :func:`clean`: only an allow-list of tags and
attributes survives, scripts and event handlers are removed, and images may only come
from data URIs (images travel inside the item, also in QTI packages) or the server's own
paths. The same cleaned HTML is shown to writers, reviewers and candidates.
"""
from __future__ import annotations

import html as _html
import re

import bleach

TAGS = frozenset({"p", "br", "b", "strong", "i", "em", "u", "sub", "sup", "span", "div", "img", "ul", "ol", "li",
                  "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "blockquote", "hr"})
# No style attributes: sanitising CSS would need tinycss2, and items need none.
ATTRIBUTES = {"img": ["src", "alt", "width", "height", "title"], "span": ["class"],
              "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"], "div": ["class"]}
PROTOCOLS = frozenset({"data", "https"})
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|svg\+xml|webp);base64,[A-Za-z0-9+/=\s]+$")
_MARKUP = re.compile(r"[<>&]")
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_SRC = re.compile(r'src="([^"]*)"')


def _image_ok(src: str) -> bool:
    return bool(_DATA_IMAGE.match(src)) or (src.startswith("/") and not src.startswith("//"))


def clean(html: str | None) -> str:
    """Sanitised HTML: allowed tags/attributes only; images from data URIs or same-site paths."""
    if not html:
        return ""
    if not _MARKUP.search(str(html)):  # plain text: nothing to sanitise (bleach is slow)
        return str(html).strip()
    out = bleach.clean(str(html), tags=TAGS, attributes=ATTRIBUTES, protocols=PROTOCOLS, strip=True,
                       strip_comments=True)

    def img(m: re.Match) -> str:
        tag = m.group(0)
        src = _SRC.search(tag)
        return tag if src and _image_ok(src.group(1)) else ""

    return _IMG.sub(img, out).strip()


def text_of(html: str | None) -> str:
    """Plain text of rich text (for search, lists and length checks)."""
    if not html:
        return ""
    if not _MARKUP.search(str(html)):
        return re.sub(r"\s+", " ", str(html)).strip()
    return re.sub(r"\s+", " ", _html.unescape(bleach.clean(str(html), tags=set(), strip=True))).strip()


def has_content(html: str | None) -> bool:
    """True if the text has visible words or an image."""
    return bool(text_of(html)) or "<img" in (html or "")
