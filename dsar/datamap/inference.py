"""What discovery infers from names alone: a column's kind, which tables hold people, and
the references a schema without declared foreign keys still has (``orders.customer_id`` →
``customers.id``)."""

from sqlalchemy.sql import sqltypes

from dsar.datamap import detectors

TABLE_PREFIXES = ("t", "tb", "tbl", "sys", "app", "biz")  # t_user, tb_order, sys_member
GENERIC_SUFFIXES = ("info", "profile", "base", "detail", "main", "master", "account")


def column_kind(sa_type) -> str:
    """``text``, ``integer``, ``number``, ``boolean``, ``temporal`` or ``other``: what decides
    whether a column's values are worth testing and which keys it may match."""
    if isinstance(sa_type, sqltypes.Boolean):
        return "boolean"
    if isinstance(sa_type, sqltypes.Enum):
        return "other"  # a closed list of labels, never a person's value
    if isinstance(sa_type, sqltypes.String):
        return "text"
    if isinstance(sa_type, sqltypes.Integer):
        return "integer"
    if isinstance(sa_type, sqltypes.Numeric):  # Float included
        return "number"
    if isinstance(sa_type, (sqltypes.Date, sqltypes.DateTime, sqltypes.Time, sqltypes.Interval)):
        return "temporal"
    return "other"


def table_stems(name: str) -> set[str]:
    """The nouns a table name goes by in other tables' columns: ``t_users`` → users, user."""
    tokens = list(detectors.name_tokens(name))
    if len(tokens) > 1 and tokens[0] in TABLE_PREFIXES:
        tokens = tokens[1:]
    joined = "_".join(tokens)
    stems = {joined, "_".join([*tokens[:-1], detectors.singular(tokens[-1])])} if tokens else set()
    return {stem for stem in stems if stem}


def is_people_table(table) -> bool:
    """A table of people (users, t_member, customer_info, or commented 用户表/会员信息): its
    primary key is their account id."""
    tokens = list(detectors.name_tokens(table.name))
    while len(tokens) > 1 and tokens[-1] in GENERIC_SUFFIXES:
        tokens.pop()
    if tokens and detectors.singular(tokens[-1]) in detectors.PEOPLE_NOUNS:
        return True
    comment = table.comment.removesuffix("表").removesuffix("信息").removesuffix("基本")
    return bool(comment) and comment.endswith(detectors.PEOPLE_WORDS)


def _user_table(tables) -> str | None:
    """The table ``uid`` and ``user_id`` point at: the one whose stem is ``user``."""
    found = [table.name for table in tables if "user" in table_stems(table.name)]
    return found[0] if len(found) == 1 else None


def _pointing_names(tables) -> dict[str, list]:
    """Column name → the tables (with their one-column key) a column of that name points at."""
    names: dict[str, list] = {}
    user_table = _user_table(tables)
    for table in tables:
        if len(table.primary_key) != 1:
            continue
        key = table.primary_key[0]
        spelled = {f"{stem}_{key}" for stem in table_stems(table.name)}
        if key != "id":
            spelled |= {f"{stem}_id" for stem in table_stems(table.name)}
            if key.lower().endswith("id"):
                spelled.add(key.lower())  # users.user_id, orders.user_id
        if table.name == user_table:
            spelled |= {"uid", "user_id", "userid"}
        for name in spelled:
            names.setdefault(name, []).append((table, key))
    return names


def infer_references(schema, sa_types: dict) -> list[tuple[str, str, str, str]]:
    """(table, column, referred table, referred column) for each reference the names imply
    where no foreign key covers the column: a column spelled ``<table>_<key>`` (or
    ``uid``/``user_id`` for the users table) whose kind matches that table's one-column
    primary key. Ambiguous spellings propose nothing."""
    names = _pointing_names(schema.tables)
    found = []
    for table in schema.tables:
        declared = {reference.columns[0] for reference in table.references}
        for column in table.columns:
            if column.name in declared:
                continue
            spelled = detectors.name_tokens(column.name)
            targets = [
                (target, key)
                for target, key in names.get("_".join(spelled), ())
                if target.name != table.name
            ]
            if len(targets) != 1:
                continue
            target, key = targets[0]
            if column_kind(sa_types[(table.name, column.name)]) != column_kind(
                sa_types[(target.name, key)]
            ):
                continue
            found.append((table.name, column.name, target.name, key))
    return found
