"""A map drafted from what discovery read and what staff accepted.

Pure: the schema as stored (``{"tables": {name: {"columns": {name: {"type", "nullable",
"comment"}}, "primary_key": [...]}}}``), the accepted column proposals (with any change staff
made to identity, category or policy) and the accepted references in; a map document out,
ready for ``document.parse``. An accepted column of the current map that discovery no longer
proposes is kept: a draft only adds and changes, staff remove by editing the map.
"""

import copy

from dsar.datamap.document import DELETE

_POLICY_KEYS = ("identity", "category", "policy", "mask", "retention")


def draft_map(
    schema: dict, accepted: list[dict], references: list[dict], current: dict | None = None
) -> dict:
    document = copy.deepcopy(current) if current else {"tables": {}, "references": []}
    tables = document.setdefault("tables", {})
    known = schema.get("tables", {})

    def table_entry(name: str) -> dict:
        entry = tables.setdefault(name, {"columns": {}})
        entry.setdefault("columns", {})
        key = known.get(name, {}).get("primary_key") or []
        if key and "key" not in entry:
            entry["key"] = list(key)
        for column in entry.get("key", []):
            add_column(entry, name, column)
        return entry

    def add_column(entry: dict, table: str, column: str) -> dict:
        spec = entry["columns"].setdefault(column, {})
        read = known.get(table, {}).get("columns", {}).get(column, {})
        if read.get("type"):
            spec.setdefault("type", read["type"])
        if "nullable" in read:
            spec.setdefault("nullable", bool(read["nullable"]))
        return spec

    for proposal in accepted:
        entry = table_entry(proposal["table"])
        spec = add_column(entry, proposal["table"], proposal["column"])
        for name in _POLICY_KEYS:
            if proposal.get(name):
                spec[name] = proposal[name]
            elif name in proposal:  # cleared by staff (or never found): not in the map
                spec.pop(name, None)
        spec.setdefault("policy", DELETE)
    existing = {(r["from"], r["to"]) for r in document.setdefault("references", [])}
    for reference in references:
        pair = (reference["from"], reference["to"])
        if pair in existing:
            continue
        for end in pair:
            table, column = end.split(".", 1)
            add_column(table_entry(table), table, column)
        document["references"].append({"from": pair[0], "to": pair[1]})
        existing.add(pair)
    return document
