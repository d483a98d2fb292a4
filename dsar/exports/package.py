"""Building the access package as a stream: per system and table one JSON Lines file and one
CSV file, a README and a bilingual ``index.html`` that sums each system up (tables, row
counts, categories, the first rows) and links to the files. Rows come from iterators and go
straight into the ZIP, which is written to any file object: nothing holds a table whole.
Rows in, ZIP out; the only thing kept on the way, a table's CSV until its turn in the ZIP,
is sealed (``sealed``). The one thing it reads is the company's branding (``branding_text``),
for the README and the index pages.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
from django.template.loader import render_to_string
from django.utils import timezone, translation

from dsar.branding import services as branding
from dsar.exports import sealed

TABLE_KEY = "table"


@dataclass(frozen=True)
class Table:
    name: str  # empty for a system whose rows name no table
    columns: list[str]
    count: int
    first_rows: list[dict]  # shown on the index page
    rows: Callable[[], Iterator[dict]]  # every row, read afresh each call

    @property
    def cells(self) -> list[list]:
        """The first rows' values in the order of ``columns`` (blank where a row lacks one)."""
        return [[row.get(name, "") for name in self.columns] for row in self.first_rows]


@dataclass(frozen=True)
class SystemData:
    name: str
    categories: list[str]
    excluded: list[str]
    tables: list[Table] = field(default_factory=list)

    @property
    def file_base(self) -> str:
        """The folder of this system's files, in the ZIP and on the index page alike."""
        return safe_name(self.name)

    @property
    def count(self) -> int:
        return sum(table.count for table in self.tables)

    def file_of(self, table: Table) -> str:
        return f"{self.file_base}/{safe_name(table.name) if table.name else 'rows'}"

    @property
    def files(self) -> list[tuple[Table, str]]:
        return [(table, self.file_of(table)) for table in self.tables]

    @classmethod
    def from_rows(cls, *, name, categories, rows: list[dict], excluded, preview: int = 5):
        """A system from rows in memory (each may name its table under ``"table"``)."""
        groups: dict[str, list[dict]] = {}
        for row in rows:
            table = str(row.get(TABLE_KEY, ""))
            groups.setdefault(table, []).append({k: v for k, v in row.items() if k != TABLE_KEY})
        tables = [
            Table(name=table, columns=columns_of(group), count=len(group),
                  first_rows=group[:preview], rows=lambda group=group: iter(group))
            for table, group in groups.items()
        ]  # fmt: skip
        return cls(name=name, categories=categories, excluded=excluded, tables=tables)


def safe_name(name: str) -> str:
    """The base of a file name in the ZIP (and the index page's links to it)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "system"


# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value) -> str | int | float:
    """A value as a CSV cell that no spreadsheet runs: text starting like a formula gets a
    leading single quote, which spreadsheets take as "this is text" and do not show.

    Numbers stay numbers (``-5`` is read as minus five, never as a formula); everything else,
    a string ``"-5"`` included, is text a system gave us and escaped by the same rule.
    """
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each is one character


def csv_cells(row: dict, columns: list[str]) -> list:
    """``csv_cell`` of each column of ``row``, with the two common cases (text that starts
    with no formula character, a whole number) decided inline: this runs once per cell."""
    cells = []
    for name in columns:
        value = row.get(name)
        kind = type(value)
        if kind is str:
            cells.append("'" + value if value and value[0] in _FORMULA_FIRST else value)
        elif kind is int:
            cells.append(value)
        else:
            cells.append(csv_cell(value))
    return cells


def columns_of(rows: list[dict]) -> list[str]:
    """Every key of ``rows``, in the order they first appear."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns


def package_rows(table: Table) -> Iterator[dict]:
    """The rows of ``table`` as they go into the package: the one loop every file's rows
    pass through (the place for anything applied to rows when the package is built)."""
    yield from table.rows()


BATCH = 1000  # rows turned into text at a time


def write_table(archive: zipfile.ZipFile, base: str, table: Table) -> None:
    """``<base>.jsonl`` and ``<base>.csv``: each row read once (``package_rows``), written
    to the JSON Lines entry and to a sealed spool that becomes the CSV entry after it (a ZIP
    is written one entry at a time; the spool keeps the CSV encrypted on disk meanwhile).

    The CSV is UTF-8 with a byte order mark (Excel reads Chinese text right only with it),
    every header and cell through ``csv_cell``; the JSON Lines keep the values raw."""
    spool = sealed.SealedWriter()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([csv_cell(name) for name in table.columns])
    spool.write(b"\xef\xbb\xbf" + text.getvalue().encode())
    columns = table.columns
    try:
        with archive.open(f"{base}.jsonl", "w", force_zip64=True) as entry:
            rows = package_rows(table)
            while batch := list(itertools.islice(rows, BATCH)):
                entry.write(b"".join([orjson.dumps(row, default=str) + b"\n" for row in batch]))
                text.seek(0)
                text.truncate()
                writer.writerows([csv_cells(row, columns) for row in batch])
                spool.write(text.getvalue().encode())
        with archive.open(f"{base}.csv", "w", force_zip64=True) as entry:
            for block in spool.read_back():
                entry.write(block)
    finally:
        spool.close()


# Deflate's fastest level: rows of the same table repeat themselves, so it packs them nearly
# as small as the default level does, in a third of the time.
LEVEL = 1


def open_archive(out, *, password: str = "") -> zipfile.ZipFile:
    """A ZIP writing to ``out``; AES-256 encrypted (``pyzipper``) when a password is given."""
    if password:
        import pyzipper

        archive = pyzipper.AESZipFile(out, "w", compression=zipfile.ZIP_DEFLATED,
                                      compresslevel=LEVEL, encryption=pyzipper.WZ_AES)  # fmt: skip
        archive.setpassword(password.encode())
        return archive
    return zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=LEVEL)


def branding_text() -> dict[str, str]:
    """Who the package is from (name, contact channels, privacy policy), as plain text per
    language: ``zh`` and ``en``; empty until the admin set the company's branding."""
    return {"zh": branding.text("zh-hans"), "en": branding.text("en")}


def write_zip(out, *, reference: str, systems: list[SystemData], password: str = "") -> None:
    """Write the package to the file object ``out`` (which need not seek)."""
    brand = branding_text()
    context = {"reference": reference, "systems": systems, "generated_at": timezone.now(),
               "brand": brand}  # fmt: skip
    with open_archive(out, password=password) as archive:
        for system in systems:
            for table, base in system.files:
                write_table(archive, base, table)
        for language, key, name in (("zh-hans", "zh", "index.html"), ("en", "en", "index.en.html")):
            with translation.override(language):
                page = render_to_string("exports/index.html", {**context, "company": brand[key]})
            archive.writestr(name, page)
        archive.writestr("README.txt", render_to_string("exports/README.txt", context))


def build_zip(*, reference: str, systems: list[SystemData], password: str = "") -> bytes:
    """The package in memory (small packages and tests)."""
    buffer = io.BytesIO()
    write_zip(buffer, reference=reference, systems=systems, password=password)
    return buffer.getvalue()
