"""Inserting rows with an INSERT statement built once per model.

`Model.save()` compiles its INSERT anew on every call: for the public intake, which writes a
case, its intake, a status event and an audit event per submission, that compiling cost more
than SQLite took to run the statements. `insert` builds the statement once per model and
database vendor and converts each value with the model field's own `get_db_prep_save`, so the
stored values are the ones `save()` would store.

It writes only the row: no `pre_save`/`post_save` signals are sent (the models written this
way have no receivers) and no `save()` override runs, so use it only for models whose `save`
adds nothing to a plain insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, models


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple[Any, ...]
    returns_pk: bool


_statements: dict[tuple[type[models.Model], str, bool, int], _Statement] = {}


def _statement(model: type[models.Model], with_pk: bool, rows: int) -> _Statement:
    key = (model, connection.vendor, with_pk, rows)
    found = _statements.get(key)
    if found is not None:
        return found
    meta = model._meta
    auto = meta.auto_field
    fields = tuple(f for f in meta.concrete_fields if with_pk or f is not auto)
    quote = connection.ops.quote_name
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)}"
    )
    returns_pk = not with_pk and auto is not None
    if returns_pk:
        if not connection.features.can_return_rows_from_bulk_insert:
            raise RuntimeError(f"{connection.vendor} cannot return the new primary keys")
        sql += f" RETURNING {quote(meta.pk.column)}"
    statement = _Statement(sql=sql, fields=fields, returns_pk=returns_pk)
    _statements[key] = statement
    return statement


def insert(*objs: models.Model) -> None:
    """INSERT the objects, all of one model, as new rows in one statement and set their
    primary keys, as `save(force_insert=True)` on each would, in the caller's transaction.

    The keys come back in the order the rows were given, as `bulk_create` also relies on
    (SQLite and PostgreSQL return them so for a multi-row INSERT ... RETURNING).
    """
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    with_pk = meta.auto_field is None or objs[0].pk is not None
    if any(
        type(obj) is not model or (with_pk != (meta.auto_field is None or obj.pk is not None))
        for obj in objs
    ):
        raise ValueError("insert() takes objects of one model, all with keys or all without")
    statement = _statement(model, with_pk, len(objs))
    params = [
        f.get_db_prep_save(f.pre_save(obj, True), connection)
        for obj in objs
        for f in statement.fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        if statement.returns_pk:
            keys = cursor.fetchall()
            if len(keys) != len(objs):
                raise RuntimeError(f"{len(objs)} rows inserted but {len(keys)} keys returned")
            for obj, (key,) in zip(objs, keys, strict=True):
                obj.pk = key
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
