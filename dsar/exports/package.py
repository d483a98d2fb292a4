"""Building the access package: one JSON and one CSV per system, a README and a bilingual
``index.html``, zipped. Rows in, bytes out; the one thing it reads is the company's branding
(``branding_text``), for the README and the index pages."""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone, translation

from dsar.branding import services as branding


@dataclass(frozen=True)
class SystemData:
    name: str
    categories: list[str]
    rows: list[dict]
    excluded: list[str]

    @property
    def file_base(self) -> str:
        """What this system's files are called, in the ZIP and on the index page alike."""
        return safe_name(self.name)

    @property
    def tables(self) -> list[Table]:
        """The rows grouped by the table they came from (an ``sql`` system's data map tags
        each row with ``"table"``), in the order they first appear; rows without a tag form
        one table. Each table has its own columns, so no row sits under another's headings."""
        groups: dict[str, list[dict]] = {}
        for row in self.rows:
            name = str(row.get(TABLE_KEY, ""))
            groups.setdefault(name, []).append({k: v for k, v in row.items() if k != TABLE_KEY})
        return [Table(name=name, rows=rows) for name, rows in groups.items()]


TABLE_KEY = "table"


@dataclass(frozen=True)
class Table:
    name: str  # empty for a system whose rows name no table
    rows: list[dict]

    @property
    def columns(self) -> list[str]:
        return columns_of(self.rows)

    @property
    def cells(self) -> list[list]:
        """Each row's values in the order of ``columns`` (blank where a row lacks one)."""
        columns = self.columns
        return [[row.get(name, "") for name in columns] for row in self.rows]


def safe_name(name: str) -> str:
    """The base of a system's file names in the ZIP (and the index page's links to them)."""
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


def columns_of(rows: list[dict]) -> list[str]:
    """Every key of ``rows``, in the order they first appear."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    return columns


def to_csv(rows: list[dict]) -> str:
    """The rows as CSV, every header and cell through ``csv_cell`` (the JSON keeps them raw)."""
    columns = columns_of(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(name) for name in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(name)) for name in columns])
    return out.getvalue()


def branding_text() -> dict[str, str]:
    """Who the package is from (name, contact channels, privacy policy), as plain text per
    language: ``zh`` and ``en``; empty until the admin set the company's branding."""
    return {"zh": branding.text("zh-hans"), "en": branding.text("en")}


def build_zip(*, reference: str, systems: list[SystemData]) -> bytes:
    buffer = io.BytesIO()
    brand = branding_text()
    now = timezone.now()
    context = {"reference": reference, "systems": systems, "generated_at": now, "brand": brand}
    pages = {}
    for language, key in (("zh-hans", "zh"), ("en", "en")):
        with translation.override(language):
            page_context = {**context, "company": brand[key]}
            pages[language] = render_to_string("exports/index.html", page_context)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for system in systems:
            base = system.file_base
            archive.writestr(
                f"{base}.json", json.dumps(system.rows, ensure_ascii=False, indent=2, default=str)
            )
            # UTF-8 with a byte order mark: Excel reads Chinese text right only with it.
            archive.writestr(f"{base}.csv", to_csv(system.rows).encode("utf-8-sig"))
        archive.writestr("index.html", pages["zh-hans"])
        archive.writestr("index.en.html", pages["en"])
        archive.writestr("README.txt", render_to_string("exports/README.txt", context))
    return buffer.getvalue()
