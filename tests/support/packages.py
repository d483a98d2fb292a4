"""Reading an access package the way a subject would."""

import json
import zipfile


def system_rows(archive: zipfile.ZipFile, system: str) -> list[dict]:
    """Every row of ``system`` in the package, from its JSON Lines files in the ZIP's order,
    each tagged with its table (``"table"``) as the system sent it; a system whose rows name
    no table has one file, ``rows.jsonl``, and its rows get no tag."""
    rows = []
    for name in archive.namelist():
        folder, _, file = name.partition("/")
        if folder != system or not file.endswith(".jsonl"):
            continue
        table = file.removesuffix(".jsonl")
        tag = {} if table == "rows" else {"table": table}
        rows += [{**tag, **json.loads(line)} for line in archive.read(name).splitlines()]
    return rows
