"""Real files for the evidence tests: PNG screenshots (multi-chunk when wanted), a JPEG, a PDF, a docx."""

from __future__ import annotations

import io
import zipfile

from servicekit.testing import png_image as png

__all__ = ["HTML", "JPEG", "PDF", "SVG", "TRANSCRIPT", "docx", "plain_zip", "png"]


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
TRANSCRIPT = "2026-12-06 10:01 客户: 收到的耳机左耳没有声音\n2026-12-06 10:02 客服: 已为您登记换货\n".encode()


def docx() -> bytes:
    """The start of a Word file as Word writes it: [Content_Types].xml first, then the word/ parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("notes.txt", "hello")
    return buffer.getvalue()
