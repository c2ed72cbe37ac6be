"""The hostile-resume reader: real PDFs made here, parsed in sandboxed children.

Most file kinds go through ONE read_resumes call (a module fixture) so the suite pays for child
start-up once; the time and memory cases need their own limits and get their own calls.
"""

from __future__ import annotations

import io
import re
import time
import zlib
from pathlib import Path

import polars as pl
import pytest
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from connect_pipeline.resumes import ResumeLimits, read_resumes
from connect_pipeline.resumes.reader import RESUME_SCHEMA, SKIP_REASONS
from connect_pipeline.resumes.sandbox import parse_pdf_bytes
from connect_pipeline.resumes.signals import (
    extract_signals,
    find_emails,
    find_employers,
    find_linkedin_urls,
    find_phones,
    find_places,
    guess_name,
)

# --------------------------------------------------------------------------------------------
# PDF makers
# --------------------------------------------------------------------------------------------


def raw_pdf(
    page_streams: list[bytes],
    *,
    compress: bool = False,
    image: bool = False,
    header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    xref_shift: int = 0,
) -> bytes:
    """A hand-written PDF: catalog, page tree, Helvetica, one content stream per page, and
    optionally an 8x8 RGB image XObject. ``xref_shift`` writes wrong xref offsets, as some
    PDF printers do."""
    objs: list[bytes] = []
    first_page = 5 if image else 4
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(page_streams)))
    objs.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objs.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_streams))
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    xobj = b""
    if image:
        px = bytes([200, 30, 30]) * 64
        objs.append(
            b"<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(px) + px + b"\nendstream"
        )
        xobj = b" /XObject << /Im1 4 0 R >>"
    for i, content in enumerate(page_streams):
        contents_num = first_page + 2 * i + 1
        objs.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >>"
            + xobj
            + b" >> /Contents %d 0 R >>" % contents_num
        )
        if compress:
            data = zlib.compress(content, 9)
            objs.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        else:
            objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(header)
    offsets = []
    for num, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % (off + xref_shift)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def text_ops(lines: list[str]) -> bytes:
    ops = [b"BT /F1 11 Tf 72 720 Td 14 TL"]
    for line in lines:
        esc = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1")
        ops.append(b"(" + esc + b") Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops)


RESUME_LINES = [
    "Maria Gonzalez",
    "maria.gonzalez@example.com  |  +44 20 7946 0958  |  linkedin.com/in/maria-gonzalez-42",
    "Experience",
    "Data Engineer, Example Ltd, 2019 - 2023",
]


def fpdf_resume(lines: list[str] = RESUME_LINES, pages: int = 1) -> bytes:
    """A resume as a word processor would export it (compressed streams, core font)."""
    pdf = FPDF()
    for p in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for line in lines if p == 0 else [f"Page {p + 1} project notes"]:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def encrypted(data: bytes, user_password: str, algorithm: str = "AES-256") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm=algorithm)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# One mixed call
# --------------------------------------------------------------------------------------------

GOOD = fpdf_resume()
CASES: dict[str, tuple[bytes | None, str, str | None]] = {
    # name: (bytes or None for "no file", expected status, expected reason)
    "good": (GOOD, "ok", None),
    "raw_good": (raw_pdf([text_ops(RESUME_LINES)]), "ok", None),
    "image_only": (raw_pdf([b"q 100 0 0 100 50 600 cm /Im1 Do Q"], image=True), "skipped", "no_text"),
    "blank_page": (blank_pdf(), "skipped", "no_text"),
    "encrypted_aes": (encrypted(GOOD, "s3cret"), "skipped", "encrypted"),
    "encrypted_rc4": (encrypted(GOOD, "s3cret", "RC4-128"), "skipped", "encrypted"),
    "owner_only": (encrypted(GOOD, ""), "ok", None),
    "truncated": (GOOD[:300], "skipped", "corrupt"),
    "garbage_after_header": (b"%PDF-1.4\n" + bytes(range(256)) * 40, "skipped", "corrupt"),
    "docx_renamed": (b"PK\x03\x04" + b"\x00" * 2000, "skipped", "not_pdf"),
    "empty": (b"", "skipped", "not_pdf"),
    "many_pages": (fpdf_resume(pages=25), "skipped", "too_many_pages"),
    "junk_before_header": (b"\r\n\xef\xbb\xbfjunk\r\n" + GOOD, "ok", None),
    "wrong_xref_offsets": (raw_pdf([text_ops(RESUME_LINES)], xref_shift=40), "ok", None),
    "missing_file": (None, "skipped", "corrupt"),
}
OVERSIZED = "oversized"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[int, int, Path]], list[str], pl.DataFrame]:
    d = tmp_path_factory.mktemp("resumes")
    files: list[tuple[int, int, Path]] = []
    names: list[str] = []
    # Attachment ids deliberately out of order: output must follow the input, not sort.
    for n, (name, (data, _, _)) in enumerate(CASES.items()):
        path = d / f"{name}.pdf"
        if data is not None:
            path.write_bytes(data)
        files.append((1000 - n, 50 + n, path))
        names.append(name)
    # Sparse 11 MiB file that starts like a PDF: too_large must be decided without reading it.
    big = d / "oversized.pdf"
    with open(big, "wb") as fh:
        fh.write(GOOD)
        fh.truncate(11 * 1024 * 1024)
    files.insert(3, (7, 8, big))
    names.insert(3, OVERSIZED)
    return files, names, read_resumes(files)


def test_every_input_row_comes_back_in_input_order_with_the_schema(mixed) -> None:
    files, _, df = mixed
    assert df.schema == RESUME_SCHEMA
    assert df["attachment_id"].to_list() == [f[0] for f in files]
    assert df["candidate_id"].to_list() == [f[1] for f in files]
    ok = df.filter(pl.col("status") == "ok")
    skipped = df.filter(pl.col("status") == "skipped")
    assert ok["reason"].null_count() == ok.height
    assert skipped["reason"].null_count() == 0
    assert set(skipped["reason"].to_list()) <= set(SKIP_REASONS)
    assert set(df["status"].to_list()) == {"ok", "skipped"}


@pytest.mark.parametrize("case", list(CASES) + [OVERSIZED])
def test_each_file_kind_gets_its_status_and_reason(mixed, case: str) -> None:
    _, names, df = mixed
    row = df.row(names.index(case), named=True)
    if case == OVERSIZED:
        expected = ("skipped", "too_large")
    else:
        expected = CASES[case][1:]
    assert (row["status"], row["reason"]) == expected, row


def test_normal_resume_yields_text_signals_and_name(mixed) -> None:
    _, names, df = mixed
    for case in ("good", "raw_good", "owner_only", "wrong_xref_offsets", "junk_before_header"):
        row = df.row(names.index(case), named=True)
        assert row["pages"] == 1
        assert "Data Engineer" in row["text"]
        assert row["emails"] == ["maria.gonzalez@example.com"], case
        assert row["phones"] == ["+44 20 7946 0958"], case  # "2019 - 2023" is not a phone
        assert row["linkedin_urls"] == ["linkedin.com/in/maria-gonzalez-42"], case
        assert row["names"] == ["Maria Gonzalez"], case
        assert row["employers"] == ["Data Engineer", "Example Ltd"], case


def test_skipped_rows_carry_no_text_and_empty_signals(mixed) -> None:
    _, _, df = mixed
    skipped = df.filter(pl.col("status") == "skipped")
    assert skipped["text"].null_count() == skipped.height
    for col in ("emails", "phones", "linkedin_urls", "names"):
        assert skipped[col].list.len().sum() == 0
    many = df.filter(pl.col("reason") == "too_many_pages")
    assert many["pages"].to_list() == [25]


# --------------------------------------------------------------------------------------------
# Hostile files in the middle of a batch
# --------------------------------------------------------------------------------------------


def _write_all(d: Path, blobs: list[bytes]) -> list[tuple[int, int, Path]]:
    files = []
    for i, data in enumerate(blobs):
        p = d / f"{i}.pdf"
        p.write_bytes(data)
        files.append((i + 1, 100 + i, p))
    return files


def memory_bomb(text: str) -> bytes:
    """A 24 MB content stream compressed to ~25 KB: inflating it breaks a 16 MiB headroom.

    The bulk is a grey inline image (4000 x 6000, one byte a pixel) after the text: pypdf takes
    an inline image's data in one read, so the same file parses in a fraction of a second when
    memory allows (a 24 MB comment is read a byte at a time: seconds)."""
    width, height = 4000, 6000
    image = b"\nBI /W %d /H %d /BPC 8 /CS /G ID " % (width, height) + b" " * (width * height) + b" EI\n"
    return raw_pdf([text_ops([text]) + image], compress=True)


def test_a_memory_bomb_is_skipped_and_its_batch_neighbours_survive(tmp_path: Path) -> None:
    bomb = memory_bomb("Bomb")
    assert len(bomb) < 200_000
    files = _write_all(tmp_path, [GOOD, bomb, GOOD, GOOD])
    df = read_resumes(files, ResumeLimits(memory_mb=16, workers=1, batch_size=10))
    assert df["status"].to_list() == ["ok", "skipped", "ok", "ok"]
    assert df["reason"].to_list()[1] == "memory"
    assert df["emails"].to_list()[3] == ["maria.gonzalez@example.com"]


def test_the_same_bomb_parses_with_enough_memory() -> None:
    """Control for the test above: the bomb is a valid PDF, so the skip came from the cap."""
    outcome = parse_pdf_bytes(memory_bomb("Bomb Text"), ResumeLimits())
    assert outcome.status == "ok" and "Bomb Text" in outcome.text


def test_a_page_that_never_ends_is_killed_and_the_rest_of_the_batch_survives(tmp_path: Path) -> None:
    # One page with 60k text lines: many seconds of extraction, far past a 0.3 s budget whose
    # hard kill comes at 0.8 s. The child is killed mid-page; a new child reads the files after it.
    slow = raw_pdf([text_ops([f"line {i} of a very long page" for i in range(60_000)])], compress=True)
    files = _write_all(tmp_path, [GOOD, GOOD, slow, GOOD, GOOD])
    df = read_resumes(files, ResumeLimits(timeout_s=0.3, workers=1, batch_size=10))
    assert df["status"].to_list() == ["ok", "ok", "skipped", "ok", "ok"]
    assert df["reason"].to_list()[2] == "timeout"
    assert df["names"].to_list()[4] == ["Maria Gonzalez"]


def test_soft_budget_skips_between_pages_without_a_kill() -> None:
    # Started "long ago": the child's own check before the first page gives up by itself.
    outcome = parse_pdf_bytes(fpdf_resume(pages=3), ResumeLimits(timeout_s=5), started=time.monotonic() - 10)
    assert (outcome.status, outcome.reason, outcome.pages) == ("skipped", "timeout", 3)


def test_two_workers_many_batches_keep_every_row(tmp_path: Path) -> None:
    blobs = [fpdf_resume([f"Person Number{chr(65 + i)}", f"p{i}@example.org"]) for i in range(12)]
    blobs[5] = b"not a pdf at all"
    files = _write_all(tmp_path, blobs)
    df = read_resumes(files, ResumeLimits(workers=2, batch_size=3))
    assert df["attachment_id"].to_list() == list(range(1, 13))
    assert df["reason"].to_list()[5] == "not_pdf"
    emails = df["emails"].to_list()
    assert all(emails[i] == [f"p{i}@example.org"] for i in range(12) if i != 5)


def test_text_is_capped_at_max_chars() -> None:
    lines = [f"Line {i} " + "x" * 60 for i in range(80)]
    outcome = parse_pdf_bytes(raw_pdf([text_ops(lines)] * 3), ResumeLimits(max_chars=1000))
    assert outcome.status == "ok" and len(outcome.text) == 1000


def test_empty_input_gives_an_empty_table_with_the_schema() -> None:
    df = read_resumes([])
    assert df.height == 0 and df.schema == RESUME_SCHEMA


def test_limits_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        ResumeLimits(workers=0)
    with pytest.raises(ValueError):
        ResumeLimits(timeout_s=0)


# --------------------------------------------------------------------------------------------
# Signals on tricky text
# --------------------------------------------------------------------------------------------

TRICKY = """\
CURRICULUM VITAE
José García-López
Email: jose.garcia+jobs@correo.example.es; mailto:j.g@uni-example.de.
Tel. +34 612 34 56 78 | Mobile: (415) 555-0132 | Büro: 030/1234567 | Fixe: 06.12.34.56.78
Intl: 0044 20 7946 0959, +1-415-555-0199, +49 (0)171 1234567
Employment 2019 - 2021, 2015-2018, 01/2019 - 03/2021, 2020-01-05, 12.03.2019, 03/2019 – 05/2020
Address: 1600 Main St, Springfield 94105-1234; office 94105; server 192.168.100.200
Python 3.11.7, salary 120 000, years 2018 2019 2020, GPA 3.8/4.0, ISO 27001
https://www.linkedin.com/in/jose-garcia-lopez/ and uk.linkedin.com/pub/jose-garcia/12/345/678.
Old profile (linkedin.com/in/jgl), also HTTP://DE.LINKEDIN.COM/IN/J%C3%B6rg-Z
"""


def test_emails_are_found_as_written() -> None:
    assert find_emails(TRICKY) == ["jose.garcia+jobs@correo.example.es", "j.g@uni-example.de"]


def test_phones_in_many_formats_and_no_dates_years_or_zip_codes() -> None:
    assert find_phones(TRICKY) == [
        "+34 612 34 56 78",
        "(415) 555-0132",
        "030/1234567",
        "06.12.34.56.78",
        "0044 20 7946 0959",
        "+1-415-555-0199",
        "+49 (0)171 1234567",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "2019 - 2021",
        "2015-2018",
        "01/2019 - 03/2021",
        "2020-01-05",
        "12.03.2019",
        "03/2019 – 05/2020",
        "94105-1234",
        "192.168.100.200",
        "2018 2019 2020",
        "Since 12 2019\n2021 12",
        "ID 12345678901234567890",
    ],
)
def test_not_a_phone(text: str) -> None:
    assert find_phones(text) == []


def test_linkedin_urls_in_any_form() -> None:
    assert find_linkedin_urls(TRICKY) == [
        "https://www.linkedin.com/in/jose-garcia-lopez/",
        "uk.linkedin.com/pub/jose-garcia/12/345/678",
        "linkedin.com/in/jgl",
        "HTTP://DE.LINKEDIN.COM/IN/J%C3%B6rg-Z",
    ]
    assert find_linkedin_urls("see linkedin.com/company/acme or notlinkedin.com.evil/in/x") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TRICKY, ["José García-López"]),
        ("  \n\nAnne-Marie O'Neil\nEngineer", ["Anne-Marie O'Neil"]),
        ("JANE DOE\nSenior Engineer", ["JANE DOE"]),
        ("Ludwig van Beethoven\n", ["Ludwig van Beethoven"]),
        ("Professional Experience\nJane Doe", []),
        ("jane@example.com\nJane Doe", []),
        ("Page 1 of 2", []),
        ("Senior software engineer with ten years of experience", []),
        ("", []),
    ],
)
def test_name_guess(text: str, expected: list[str]) -> None:
    assert guess_name(text) == expected


def test_extract_signals_dedupes_in_order() -> None:
    sig = extract_signals("a@b.io a@b.io +44 20 7946 0958 / +44 20 7946 0958")
    assert sig.emails == ["a@b.io"]
    assert sig.phones == ["+44 20 7946 0958"]
    assert re.fullmatch(r"\+44 20 7946 0958", sig.phones[0])


CAREER_RESUME = "\n".join([
    "Maria Gonzalez",
    "maria.gonzalez@example.com  |  +44 20 7946 0958",
    "Leeds, West Yorkshire, United Kingdom",
    "",
    "EXPERIENCE",
    "Senior Analyst, Acme Ltd    2016 - present",
    "Madrid, Spain",
    "Initech \u2014 Data Scientist (Mar 2010 \u2013 Jun 2012)",
    "Product Manager at Hooli   2008-2010",
    "Led a team of five analysts",
    "Sales Director, Back to Basics Ltd, 2006 to 2008",
    "",
    "EDUCATION",
    "BSc Economics, University of Leeds    2001 - 2004",
    "",
    "SKILLS",
    "Python, SQL, Excel",
])


def test_places_are_read_from_the_header_only() -> None:
    """Where the author lives is written under the name; further down, comma-separated words
    are skills and employers' offices."""
    text = CAREER_RESUME
    assert find_places(text) == ["Leeds, West Yorkshire, United Kingdom"]
    assert find_places("Ann Lee\nAustin, TX | ann@example.com | (512) 555-0100\n\nSUMMARY") == ["Austin, TX"]
    assert find_places("Ann Lee\n\nSKILLS\nPython, SQL") == []
    assert extract_signals(text).places == ["Leeds, West Yorkshire, United Kingdom"]


def test_employers_are_the_parts_of_the_dated_lines() -> None:
    """A career history dates every job, whatever the layout: the parts of a dated line are
    returned (titles and places too, which the normaliser drops where it can tell), only the
    dates are cut out ("Back to Basics" keeps its "to"), and contact lines, undated lines and
    the dated lines of an education section are not read."""
    text = CAREER_RESUME
    assert find_employers(text) == [
        "Senior Analyst", "Acme Ltd", "Initech", "Data Scientist", "Product Manager", "Hooli",
        "Sales Director", "Back to Basics Ltd",
    ]
    # other languages' "at" and open ends; a name that holds a date word keeps it, before or
    # after the dates, and a capitalised "En" is part of a name
    assert find_employers("Softwareentwickler bei Siemens AG, 2018 - heute\n"
                          "Abogada en Telefónica (2019 - actualidad)\nPresenter, Now TV   since 2012\n"
                          "2010 - Now TV, Runner\nAnalyste chez Orange 2009 \u00e0 aujourd\u2019hui\n"
                          "Chef, Restaurant En Route 2007 - 2008") == [
        "Softwareentwickler", "Siemens AG", "Abogada", "Telefónica", "Presenter", "Now TV", "Runner",
        "Analyste", "Orange", "Chef", "Restaurant En Route"]
    # an education section ends at the next heading of another kind, whatever its words
    assert find_employers("Education & Training\nBSc, University of Leeds 2012 - 2015\n"
                          "Relevant Experience\nConsultant, Deloitte 2015 - 2017") == ["Consultant", "Deloitte"]
    assert find_employers("EDUCATION\nUniversity of Leeds\nBSc Economics, 2012 - 2015\n"
                          "PROFESSIONAL BACKGROUND\nAnalyst, Acme 2015 - 2018") == ["Analyst", "Acme"]
    assert extract_signals(text).employers == find_employers(text)
    assert find_employers("Ann Lee\nann@example.com | (512) 555-2019\n\nSKILLS\nPython") == []
    # a resume that dates a thousand lines still yields a bounded list of distinct parts
    assert len(find_employers("\n".join(f"Firm {chr(65 + i % 26)}{chr(65 + i // 26 % 26)}, {2000 + i % 20}" for i in range(1000)))) == 20
    assert find_employers("\n".join(["Analyst, Acme 2019 - 2020"] * 30 + ["Engineer, Globex 2016 - 2018"])) == [
        "Analyst", "Acme", "Engineer", "Globex"]
