"""Find English left on a page shown in Chinese.

Every visible text node (and the attributes people read: placeholder, title, aria-label, alt,
a button's value) is checked two ways: it must not be one of the English catalogue's msgids
(a string that was marked for translation but has no Chinese), and, once the values that are
data and not text are taken out (references, addresses, dates, the usernames and system
names a test made, legal citations), it must hold no English word at all (a string never
marked for translation, or a label built from a machine name).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {"script", "style", "template"}
READ_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}
# Not words of a sentence: product and legal abbreviations, and the language's own name in
# the language chooser (a language is always offered in its own name).
ALLOWED_WORDS = {
    "DSAR", "SLA", "API", "SMS", "ID", "PIPL", "GB", "Art", "UTC", "ZIP", "CSV", "JSON",
    "English", "PNG", "JPEG", "PDF", "HTTP", "SQL", "IP",
}  # fmt: skip
DATA = [
    re.compile(r"DSAR-\d{4}-\d{6}", re.I),  # references
    re.compile(r"[\w.*+-]*@[\w.-]+"),  # addresses, masked or not
    re.compile(r"https?://\S+"),
    re.compile(r"GB/T \d+(\.\d+)?-\d{4}"),  # the national standard's citation
    re.compile(r"\b[A-Z][a-z]+/[A-Z][a-z_]+\b"),  # a time zone name (Asia/Shanghai)
]
WORD = re.compile(r"[A-Za-z]{2,}")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def english_msgids() -> set[str]:
    """Every msgid of the project's catalogues (the English source strings)."""
    ids = set()
    for po in ROOT.glob("**/locale/*/LC_MESSAGES/django.po"):
        if ".venv" in po.parts:
            continue
        text = po.read_text(encoding="utf-8")
        for block in re.findall(r'^msgid ((?:".*"\n)+)', text, re.M):
            msgid = "".join(_unquote(part) for part in re.findall(r'"(.*)"', block))
            if msgid:
                ids.add(msgid)
    return ids


class _Texts(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skip += 1
        attrs = dict(attrs)
        for name in READ_ATTRIBUTES & attrs.keys():
            self.texts.append(attrs[name] or "")
        if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in SKIPPED and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.texts.append(data)


def visible_texts(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return [" ".join(t.split()) for t in parser.texts if t.strip()]


def untranslated(html: str, *, data: tuple[str, ...] = (), msgids: set[str] | None = None):
    """The text nodes of ``html`` still in English; ``data`` are values the test created
    (usernames, system names) that are shown as they are."""
    msgids = english_msgids() if msgids is None else msgids
    found = []
    for text in visible_texts(html):
        rest = text
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, " ")
        for pattern in DATA:
            rest = pattern.sub(" ", rest)
        words = [w for w in WORD.findall(rest) if w not in ALLOWED_WORDS]
        if text in msgids or words:
            found.append(text)
    return found
