"""The rows the engine reads and writes for every job, by statements written out once per process:
a job with its platform, tenant, server and organization; a PBX user with its entity and line
template, its numbers, its entity's intervals and its template's mirror; the job's and its
attempt's updates.

The ORM spent more processor time composing these statements than the database spent answering
them: 0.75–0.8 ms for each of the two joined reads against 0.02 ms, 0.25–0.45 ms for each of the
others. Written out, they took an XCU creation's engine time in the worker from about 10 ms to
about 6 (measured in one process, 2026-12-07). The statements are built from the models' own
table and column names, every value a parameter; instances are made as the ORM makes them, by
`Model.from_db` after each field's converters (JSON, encrypted secrets, SQLite's dates and
booleans), and values are written as the fields store them, so that the rows behave as any other
instance, down to saving them. No signal is sent for these writes, as for a queryset's update().
"""

from __future__ import annotations

from functools import cache

from django.db import connection, models

from telephony.models import (
    Entity,
    LineTemplate,
    LineTemplateMirror,
    NumberInterval,
    PbxUser,
    PhoneNumber,
    Platform,
    ProvisioningJob,
    Server,
    Tenant,
)
from tenants.models import Organization


def _columns(model: type[models.Model], alias: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


@cache
def _converters(model: type[models.Model], vendor: str) -> list[tuple[int, list, models.expressions.Col]]:
    """Per column of the model: the converters the ORM applies to a value read from the database
    (the backend's, then the field's own), as `SQLCompiler.get_converters` orders them."""
    found = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if functions:
            found.append((index, functions, column))
    return found


def _instance(model: type[models.Model], values: tuple) -> models.Model | None:
    """The instance of `model` that a row's slice of values stands for (None: a LEFT JOIN found none)."""
    if values[0] is None:
        return None
    values = list(values)
    for index, functions, column in _converters(model, connection.vendor):
        for function in functions:
            values[index] = function(values[index], column, connection)
    return model.from_db(connection.alias, [field.attname for field in model._meta.concrete_fields], values)


def _read(statement: str, params: list, parts: tuple[type[models.Model], ...]) -> list[models.Model | None] | None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for model in parts:
        width = len(model._meta.concrete_fields)
        instances.append(_instance(model, row[start : start + width]))
        start += width
    return instances


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@cache
def _job_statement() -> str:
    return (
        f"SELECT {_columns(ProvisioningJob, 'j')}, {_columns(Platform, 'p')}, {_columns(Tenant, 't')}, "  # noqa: S608
        f"{_columns(Server, 's')}, {_columns(Organization, 'o')} "
        f"FROM {_table(ProvisioningJob)} j "
        f"LEFT JOIN {_table(Platform)} p ON p.id = j.platform_id "
        f"LEFT JOIN {_table(Tenant)} t ON t.id = j.tenant_id "
        f"LEFT JOIN {_table(Server)} s ON s.id = t.server_id "
        f"LEFT JOIN {_table(Organization)} o ON o.id = t.organization_id "
        "WHERE j.id = %s"
    )


def job_with_context(job_id: int) -> ProvisioningJob | None:
    """The job with its platform, and its tenant with the tenant's server and organization, as
    `select_related("platform", "tenant__server", "tenant__organization")` reads them."""
    found = _read(_job_statement(), [job_id], (ProvisioningJob, Platform, Tenant, Server, Organization))
    if found is None:
        return None
    job, platform, tenant, server, organization = found
    if platform is not None:
        job.platform = platform
    if tenant is not None:
        tenant.server, tenant.organization = server, organization
        job.tenant = tenant
    return job


@cache
def _user_statement() -> str:
    return (
        f"SELECT {_columns(PbxUser, 'u')}, {_columns(Entity, 'e')}, {_columns(LineTemplate, 'l')} "  # noqa: S608
        f"FROM {_table(PbxUser)} u "
        f"LEFT JOIN {_table(Entity)} e ON e.id = u.entity_id "
        f"LEFT JOIN {_table(LineTemplate)} l ON l.id = u.template_id "
        "WHERE u.id = %s"
    )


def user_with_line(user_id: int) -> PbxUser | None:
    """The PBX user with its entity and line template, as `select_related("entity", "template")`
    reads them."""
    found = _read(_user_statement(), [user_id], (PbxUser, Entity, LineTemplate))
    if found is None:
        return None
    user, entity, template = found
    if entity is not None:
        user.entity = entity
    if template is not None:
        user.template = template
    return user


@cache
def _mirror_statement() -> str:
    return (
        f"SELECT {_columns(LineTemplateMirror, 'm')} FROM {_table(LineTemplateMirror)} m "  # noqa: S608
        "WHERE m.template_id = %s AND m.platform_id = %s"
    )


def template_mirror(template_id: int, platform_id: int) -> LineTemplateMirror | None:
    """The template's mirror on the platform, if it has one."""
    found = _read(_mirror_statement(), [template_id, platform_id], (LineTemplateMirror,))
    return found[0] if found else None


def _ordered_pair(model: type[models.Model], first: str, second: str, where: str) -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT {quote(first)}, {quote(second)} FROM {_table(model)} "  # noqa: S608
        f"WHERE {quote(where)} = %s ORDER BY {quote(first)}"
    )


def _fetch_all(statement: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


@cache
def _numbers_statement() -> str:
    return _ordered_pair(PhoneNumber, "number", "is_pilot", "assigned_user_id")


def numbers_of(user_id: int) -> list[tuple[str, bool]]:
    """The user's numbers (number, whether it is its tenant's pilot), in number order."""
    return [(number, bool(pilot)) for number, pilot in _fetch_all(_numbers_statement(), [user_id])]


@cache
def _intervals_statement() -> str:
    return _ordered_pair(NumberInterval, "start", "end", "entity_id")


def intervals_of(entity_id: int) -> list[tuple[str, str]]:
    """The entity's number intervals (start, end), in the order of their start."""
    return _fetch_all(_intervals_statement(), [entity_id])


# --- writes ----------------------------------------------------------------------------------------


@cache
def _update_statement(model: type[models.Model], names: tuple[str, ...], conditions: tuple[str, ...]) -> str:
    quote, meta = connection.ops.quote_name, model._meta
    sets = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    where = " AND ".join(f"{quote(meta.get_field(name).column)} = %s" for name in (meta.pk.name, *conditions))
    return f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {where}"  # noqa: S608  (names from the model)


def update_row(model: type[models.Model], pk: int, values: dict, *, where: dict | None = None) -> int:
    """UPDATE one row's fields (`values`, by field name) when it still has the values of `where`;
    the rows written (0 or 1). As `Model.objects.filter(pk=pk, **where).update(**values)` does,
    values stored as the fields store them (JSON, encrypted, dates), with no signals; the statement
    is built once per model and set of fields."""
    where = where or {}
    statement = _update_statement(model, tuple(values), tuple(where))
    meta = model._meta
    params = [meta.get_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    params.append(pk)
    params += [meta.get_field(name).get_db_prep_value(value, connection) for name, value in where.items()]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


@cache
def _insert_statement(model: type[models.Model], returning: bool) -> str:
    quote, meta = connection.ops.quote_name, model._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column) for field in fields)
    marks = ", ".join(["%s"] * len(fields))
    suffix = f" RETURNING {quote(meta.pk.column)}" if returning else ""
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks}){suffix}"  # noqa: S608


def insert_instance(instance: models.Model) -> None:
    """INSERT a new instance as `save()` would (its fields' `pre_save`, database values as the
    fields store them), with no signals; it then has its primary key and counts as saved."""
    model = type(instance)
    returning = connection.features.can_return_columns_from_insert
    statement = _insert_statement(model, returning)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    params = [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        instance.pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance._state.adding, instance._state.db = False, connection.alias
