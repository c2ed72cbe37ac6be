"""Resume PDFs written by hand: a few hundred bytes of PDF objects per file, thousands per second.

A layout library would be a hundred times slower for what is a page of plain lines; the pipeline
only needs a real text layer that pypdf can extract. The hostile variants are the inputs a resume
reader must survive: no text layer, a password, broken bytes, and a file far too large.
"""

from __future__ import annotations

import io
import zlib

import numpy as np
from unidecode import unidecode

_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
PAGE_LINES = 52


def _pdf_text(text: str) -> bytes:
    """A PDF literal string in WinAnsi; characters it cannot hold are transliterated."""
    try:
        encoded = text.encode("cp1252")
    except UnicodeEncodeError:
        encoded = b"".join(_char_cp1252(ch) for ch in text)
    encoded = encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    return b"(" + encoded.translate(_NO_CONTROLS) + b")"


_NO_CONTROLS = bytes(0x20 if b < 0x20 else b for b in range(256))


def _char_cp1252(ch: str) -> bytes:
    try:
        return ch.encode("cp1252")
    except UnicodeEncodeError:
        return unidecode(ch).encode("cp1252", errors="replace")


def _assemble(objects: list[bytes]) -> bytes:
    """Number the objects 1..n (object 1 is the catalog) and write header, xref and trailer."""
    buf = io.BytesIO()
    buf.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(buf.tell())
        buf.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = buf.tell()
    buf.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        buf.write(b"%010d 00000 n \n" % offset)
    buf.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return buf.getvalue()


def _stream(content: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    if compress:
        content = zlib.compress(content, 6)
        extra += b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(content), extra) + content + b"\nendstream"


def _text_content(lines: list[str], size: int = 11) -> bytes:
    parts = [b"BT /F1 %d Tf %d TL 56 790 Td" % (size, size + 4)]
    for i, line in enumerate(lines):
        parts.append((b"" if i == 0 else b"T* ") + _pdf_text(line) + b" Tj")
    parts.append(b"ET")
    return b"\n".join(parts)


def _pages(contents: list[bytes], resources: bytes, extra_objects: list[bytes] | None = None) -> bytes:
    """Objects: 1 catalog, 2 pages, 3 font, then extra objects, then page + content pairs."""
    extra_objects = extra_objects or []
    first_page = 4 + len(extra_objects)
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(contents)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(contents)),
        _FONT,
        *extra_objects,
    ]
    for i, content in enumerate(contents):
        page = first_page + 2 * i
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources %s /Contents %d 0 R >>"
            % (resources, page + 1)
        )
        objects.append(_stream(content))
    return _assemble(objects)


def text_pdf(lines: list[str]) -> bytes:
    """A plain, valid PDF whose text layer holds the lines (A4, Helvetica, one line each)."""
    chunks = [lines[i:i + PAGE_LINES] for i in range(0, max(len(lines), 1), PAGE_LINES)]
    return _pages([_text_content(chunk) for chunk in chunks], b"<< /Font << /F1 3 0 R >> >>")


def image_only_pdf(seed: int, width: int = 480, height: int = 640) -> bytes:
    """A scanned-looking page: one grey image, no text operators at all."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width), 245, dtype=np.uint8)
    for row in range(40, height - 40, 18):  # dark bars where lines of text would be
        length = int(rng.integers(width // 3, width - 60))
        img[row:row + 7, 40:40 + length] = rng.integers(20, 90)
    data = zlib.compress(img.tobytes(), 6)
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
             b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n" % (width, height, len(data))
             + data + b"\nendstream")
    content = b"q 480 0 0 640 56 100 cm /Im1 Do Q"
    return _pages([content], b"<< /XObject << /Im1 4 0 R >> >>", [image])


def oversized_pdf(lines: list[str], size_bytes: int, seed: int) -> bytes:
    """A valid text PDF carrying an incompressible image so the file exceeds size_bytes."""
    side = int(np.ceil(np.sqrt(size_bytes))) + 1
    data = np.random.default_rng(seed).integers(0, 256, size=side * side, dtype=np.uint8).tobytes()
    image = (b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
             b"/BitsPerComponent 8 /Length %d >>\nstream\n" % (side, side, len(data)) + data + b"\nendstream")
    content = _text_content(lines[:PAGE_LINES]) + b"\nq 100 0 0 100 440 40 cm /Im1 Do Q"
    return _pages([content], b"<< /Font << /F1 3 0 R >> /XObject << /Im1 4 0 R >> >>", [image])


def encrypted_pdf(lines: list[str], user_password: str) -> bytes:
    """The text PDF behind a user password (RC4-128, which pypdf can write without randomness
    beyond the document id, fixed here so the bytes do not depend on the run)."""
    import hashlib

    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject

    plain = text_pdf(lines)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
    doc_id = ByteStringObject(hashlib.md5(plain).digest())
    writer._ID = ArrayObject((doc_id, doc_id))
    writer.encrypt(user_password=user_password, owner_password=user_password + "-owner", algorithm="RC4-128")
    writer._ID = ArrayObject((doc_id, doc_id))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt_pdf(lines: list[str], seed: int, style: int) -> bytes:
    """Broken bytes: style 0 a truncated text PDF, style 1 a PDF header followed by noise."""
    if style == 0:
        good = text_pdf(lines)
        return good[: len(good) * 2 // 5]
    noise = np.random.default_rng(seed).integers(0, 256, size=4096, dtype=np.uint8).tobytes()
    return b"%PDF-1.7\n" + noise
