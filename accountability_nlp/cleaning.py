"""Text clean-up applied to every note before it is read: HTML markup removed.

Kept apart from :mod:`accountability_nlp.preprocessing` (the spaCy side) so
that checking which notes can be scored does not import spaCy.
"""

from __future__ import annotations

import html
import re

__all__ = ["clean_text"]

# CRM exports carry HTML from rich-text fields: "<p>...</p>", "<br>", "&amp;".
_BLOCK_TAG = re.compile(r"<\s*/?\s*(?:br|p|div|li|tr|ul|ol|h[1-6])\b[^<>]{0,200}>", re.IGNORECASE)
_INLINE_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(text: str) -> str:
    """Remove HTML markup from a note: tags go, entities are decoded.

    Block tags (``<p>``, ``<br>``, ``<div>``...) become line breaks, which the
    pipeline reads as sentence ends. Text without ``<`` or ``&`` is returned
    unchanged, so evidence offsets match the note as written.

    Examples
    --------
    >>> print(clean_text("<p>Lost &amp; gone.</p><p>Wasn&#39;t price</p>"))
    Lost & gone.
    Wasn't price
    """
    if "<" not in text and "&" not in text:
        return text
    text = _BLOCK_TAG.sub("\n", text)
    text = _INLINE_TAG.sub("", text)
    return _BLANK_LINES.sub("\n", html.unescape(text)).strip()
