"""Inserting rows with an INSERT statement built once per model.

`Model.save()` compiles its INSERT anew on every call: for the public intake, which writes a
case, its intake, a status event and an audit event per submission, that compiling cost more
than SQLite took to run the statements. Here the statement is built once per model, database
vendor and number of rows, and each value is converted by the model field's own
`get_db_prep_save`, so the stored values are the ones `save()` would store (a str in a
character field or a bool in a boolean one, which that conversion gives back unchanged, is
taken as it is).

The conversion can be done ahead (`Row`), outside the transaction, so that a writer holding
the database's only write lock spends that time sending rows, not preparing them. A foreign
key to a row not yet inserted is filled in afterwards with `Row.refer`.

It writes only the row: no `pre_save`/`post_save` signals are sent (the models written this
way have no receivers) and no `save()` override runs, so use it only for models whose `save`
adds nothing to a plain insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models


@dataclass(frozen=True)
class _Statement:
    sql: str
    returns_pk: bool


_fields: dict[tuple[type[models.Model], bool], tuple[Any, ...]] = {}
_plain: dict[tuple[type[models.Model], bool], tuple[tuple[Any, type | None], ...]] = {}
_statements: dict[tuple[type[models.Model], str, bool, int], _Statement] = {}

# Fields whose conversion gives back a value of this type unchanged: a str for a CharField
# (CharField.to_python returns a str as it is), a bool for a BooleanField. Only these exact
# classes: a subclass may convert differently.
_UNCHANGED: dict[type[models.Field[Any, Any]], type] = {
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.BooleanField: bool,
}


def _columns(model: type[models.Model], with_pk: bool) -> tuple[Any, ...]:
    key = (model, with_pk)
    if key not in _fields:
        auto = model._meta.auto_field
        _fields[key] = tuple(f for f in model._meta.concrete_fields if with_pk or f is not auto)
    return _fields[key]


def _conversions(model: type[models.Model], with_pk: bool) -> tuple[tuple[Any, type | None], ...]:
    """Each column's field, with the type of value it stores unchanged (or None)."""
    key = (model, with_pk)
    if key not in _plain:
        _plain[key] = tuple((f, _UNCHANGED.get(type(f))) for f in _columns(model, with_pk))
    return _plain[key]


def _statement(model: type[models.Model], with_pk: bool, rows: int) -> _Statement:
    connection = connections[DEFAULT_DB_ALIAS]
    key = (model, connection.vendor, with_pk, rows)
    found = _statements.get(key)
    if found is not None:
        return found
    meta = model._meta
    fields = _columns(model, with_pk)
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)}"
    )
    returns_pk = not with_pk and meta.auto_field is not None
    if returns_pk:
        if not connection.features.can_return_rows_from_bulk_insert:
            raise RuntimeError(f"{connection.vendor} cannot return the new primary keys")
        sql += f" RETURNING {quote(meta.pk.column)}"
    statement = _Statement(sql=sql, returns_pk=returns_pk)
    _statements[key] = statement
    return statement


class Row:
    """One object's column values, converted for the database now, to be inserted later by
    `insert_rows` (in this thread or another one, on the same database)."""

    __slots__ = ("obj", "values", "with_pk")

    def __init__(self, obj: models.Model) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        self.obj = obj
        self.with_pk = obj._meta.auto_field is None or obj.pk is not None
        values = []
        for f, unchanged in _conversions(type(obj), self.with_pk):
            value = getattr(obj, f.attname)
            if unchanged is None or type(value) is not unchanged:
                value = f.get_db_prep_save(f.pre_save(obj, True), connection)
            values.append(value)
        self.values = values

    def refer(self, name: str, target: models.Model) -> None:
        """Point the foreign key `name` at `target`, which has been inserted since."""
        fields = _columns(type(self.obj), self.with_pk)
        index = next(i for i, f in enumerate(fields) if f.name == name)
        setattr(self.obj, name, target)  # sets the key column and keeps `target` cached
        self.values[index] = target.pk


def insert_rows(rows: Sequence[Row]) -> None:
    """INSERT the rows, all of one model, in one statement and set their objects' primary
    keys, as `save(force_insert=True)` on each would, in the caller's transaction.

    The keys come back in the order the rows were given, as `bulk_create` also relies on
    (SQLite and PostgreSQL return them so for a multi-row INSERT ... RETURNING).
    """
    if not rows:
        return
    model, with_pk = type(rows[0].obj), rows[0].with_pk
    if any(type(row.obj) is not model or row.with_pk != with_pk for row in rows):
        raise ValueError("insert() takes objects of one model, all with keys or all without")
    statement = _statement(model, with_pk, len(rows))
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [value for row in rows for value in row.values])
        if statement.returns_pk:
            keys = cursor.fetchall()
            if len(keys) != len(rows):
                raise RuntimeError(f"{len(rows)} rows inserted but {len(keys)} keys returned")
            for row, (key,) in zip(rows, keys, strict=True):
                row.obj.pk = key
    for row in rows:
        row.obj._state.adding = False
        row.obj._state.db = connection.alias


def insert(*objs: models.Model) -> None:
    """INSERT the objects, all of one model, as new rows in one statement (see `insert_rows`)."""
    insert_rows([Row(obj) for obj in objs])
