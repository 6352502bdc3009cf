"""Editing a certificate PDF as a forger would: one printed text string replaced in place."""

from __future__ import annotations

import io

from pypdf import PdfReader, PdfWriter

__all__ = ["edited_pdf"]


def edited_pdf(pdf: bytes, old: bytes, new: bytes) -> bytes:
    """``pdf`` with the first page's text string ``old`` (printed once) replaced by ``new``."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    page = writer.pages[0]
    contents = page.get_contents()
    assert contents is not None
    data = contents.get_data()
    assert data.count(old) == 1, "the fact is printed once, as a text string"
    contents.set_data(data.replace(old, new))
    page.replace_contents(contents)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
