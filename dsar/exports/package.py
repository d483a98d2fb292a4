"""Building the access package: one JSON and one CSV per system, a README and a bilingual
``index.html``, zipped. Pure: rows in, bytes out."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import timezone, translation


@dataclass(frozen=True)
class SystemData:
    name: str
    categories: list[str]
    rows: list[dict]
    excluded: list[str]


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "system"


def to_csv(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def build_zip(*, reference: str, systems: list[SystemData]) -> bytes:
    buffer = io.BytesIO()
    context = {"reference": reference, "systems": systems, "generated_at": timezone.now()}
    pages = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            pages[language] = render_to_string("exports/index.html", context)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for system in systems:
            base = safe_name(system.name)
            archive.writestr(
                f"{base}.json", json.dumps(system.rows, ensure_ascii=False, indent=2, default=str)
            )
            archive.writestr(f"{base}.csv", to_csv(system.rows))
        archive.writestr("index.html", pages["zh-hans"])
        archive.writestr("index.en.html", pages["en"])
        archive.writestr("README.txt", render_to_string("exports/README.txt", context))
    return buffer.getvalue()
