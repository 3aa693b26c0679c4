"""Register totals from maintained aggregates: counts and sums per group of the register, kept exact by triggers.

Every list page, the home page, the map's totals and the REST/query aggregate (without a drawn shape) show the
totals of the register filtered by some of its dimensions. Summing the matching parcels reads the whole register
(1.3 s per list page at 100k on PostGIS, docs/benchmarks.md); ``assets_registertotal`` holds the same numbers per
group (agency, kecamatan, kelurahan, certificate status and stage, plotting status, removed or not), a few hundred
to a few thousand rows whatever the size of the register, and the totals of a selection whose filters are only
these dimensions are the sums of its matching groups (``assets.register.reads`` decides; anything else, a text
search, a year, an area or a right, keeps the live SQL).

Kept like the tile cells (``assets.maps.tile_cells``, whose reasoning applies): triggers on ``assets_landasset``
update the groups in the writing transaction itself, whatever writes (services, admin, the importers' COPY, raw SQL),
so a read sees the totals of its own snapshot. PostGIS: statement-level triggers with transition tables (one
grouped upsert per statement, a COPY of 100k rows costs one upsert per group); SpatiaLite: row-level triggers.
Updates move the sums only when a counted column changed. Groups left empty are deleted. Area and value sums are
integers (hundredths of m², whole rupiah): additions and subtractions of floats on SpatiaLite would drift, integers
stay exact on both databases. Two transactions changing counted columns of assets in the same group wait for each
other at the group's row until the first commits (a large import holds its groups until it commits).
"""

# ruff: noqa: S608 - every statement here is built from this module's constants; values are parameters

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import Q, QuerySet, Sum

from assets.lib import triggers
from assets.register.models import Agency, CertificateStatus, RegisterTotal
from assets.register.selectors import RegisterTotals

TABLE = "assets_registertotal"
ASSETS = "assets_landasset"
# (column of the totals table, expression on an assets row ``r``); ids are 0 for "none" (NULL would not conflict).
KEYS = (
    ("agency_id", "{r}.agency_id"),
    ("kecamatan_id", "coalesce({r}.kecamatan_id, 0)"),
    ("kelurahan_id", "coalesce({r}.kelurahan_id, 0)"),
    ("status_sertifikat", "{r}.status_sertifikat"),
    ("tahap_sertifikat", "{r}.tahap_sertifikat"),
    ("plotting_status", "{r}.plotting_status"),
    ("removed", "({r}.removed_at IS NOT NULL)"),
)
KEY_COLUMNS = tuple(k for k, _e in KEYS)
SUMS = ("n", "located", "luas_kib_c", "luas_gis_c", "nilai")
# The columns of an asset whose change moves a sum or a group.
WATCHED = (
    "agency_id",
    "kecamatan_id",
    "kelurahan_id",
    "status_sertifikat",
    "tahap_sertifikat",
    "plotting_status",
    "luas_kib_m2",
    "luas_gis_m2",
    "nilai_perolehan",
)


def _values(r: str, *, postgis: bool) -> list[str]:
    """Per asset row: its key expressions then its contribution to each sum."""
    as_int = "round({})::bigint" if postgis else "CAST(round({}) AS INTEGER)"
    keys = [e.format(r=r) for _k, e in KEYS]
    if not postgis:
        keys[-1] = f"CAST({keys[-1]} AS INTEGER)"
    located = f"({r}.geom IS NOT NULL)"
    sums = [
        "1",
        f"{located}::integer" if postgis else f"CAST({located} AS INTEGER)",
        as_int.format(f"{r}.luas_kib_m2 * 100"),
        f"coalesce({as_int.format(f'{r}.luas_gis_m2 * 100')}, 0)",
        as_int.format(f"{r}.nilai_perolehan"),
    ]
    return keys + sums


_UPSERT = f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET " + ", ".join(
    f"{c} = {TABLE}.{c} + excluded.{c}" for c in SUMS
)
_ALL = ", ".join(KEY_COLUMNS + SUMS)


def _postgis_apply(rows: str, sign: str) -> str:
    values = _values("r", postgis=True)
    keys, sums = values[: len(KEYS)], values[len(KEYS) :]
    inner = ", ".join([f"{k} AS {c}" for k, c in zip(keys, KEY_COLUMNS, strict=True)])
    inner += ", " + ", ".join(f"{s} AS {c}" for s, c in zip(sums, SUMS, strict=True))
    group = ", ".join(KEY_COLUMNS)
    totals = ", ".join(f"{sign}sum({c})" for c in SUMS)
    return f"""
        INSERT INTO {TABLE} ({_ALL})
        SELECT {group}, {totals} FROM (SELECT {inner} FROM {rows} r) g
        GROUP BY {group} ORDER BY {group}
        {_UPSERT};"""


def _postgis_forget_empty() -> str:
    return f"\n        DELETE FROM {TABLE} WHERE n <= 0;"


_CHANGED = " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in WATCHED) + (
    " OR (o.geom IS NULL) <> (n.geom IS NULL) OR (o.removed_at IS NULL) <> (n.removed_at IS NULL)"
)


def _changed(side: str) -> str:
    return f"(SELECT {side}.* FROM old_rows o JOIN new_rows n ON o.id = n.id WHERE {_CHANGED})"


def _postgis_install() -> list[str]:
    bodies = {
        "insert": _postgis_apply("new_rows", ""),
        "update": _postgis_apply(_changed("o"), "-") + _postgis_apply(_changed("n"), "") + _postgis_forget_empty(),
        "delete": _postgis_apply("old_rows", "-") + _postgis_forget_empty(),
        "truncate": f"\n        DELETE FROM {TABLE};",
    }
    referencing = {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
        "truncate": "",
    }
    statements = []
    for op, body in bodies.items():
        function = f"{TABLE}_{op}"
        statements += [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN{body}\n  RETURN NULL;\nEND $$",
            f"DROP TRIGGER IF EXISTS {function} ON {ASSETS}",
            f"CREATE TRIGGER {function} AFTER {op.upper()} ON {ASSETS} {referencing[op]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def _spatialite_row(row: str, sign: str) -> str:
    values = _values(row, postgis=False)
    signed = ", ".join(values[: len(KEYS)] + [sign + s for s in values[len(KEYS) :]])
    # "WHERE 1" before ON CONFLICT: SQLite's documented way to avoid the parsing ambiguity of INSERT ... SELECT.
    return f"INSERT INTO {TABLE} ({_ALL}) SELECT {signed} WHERE 1 {_UPSERT};"


def _spatialite_forget_empty() -> str:
    keys = _values("OLD", postgis=False)[: len(KEYS)]
    match = " AND ".join(f"{c} = {k}" for c, k in zip(KEY_COLUMNS, keys, strict=True))
    return f"DELETE FROM {TABLE} WHERE {match} AND n <= 0;"


_SPATIALITE_WHEN = {
    "update": " WHEN "
    + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in WATCHED)
    + " OR (OLD.geom IS NULL) <> (NEW.geom IS NULL) OR (OLD.removed_at IS NULL) <> (NEW.removed_at IS NULL)"
}


def _spatialite_install() -> list[str]:
    bodies = {
        "insert": _spatialite_row("NEW", ""),
        "update": _spatialite_row("OLD", "-") + _spatialite_row("NEW", "") + _spatialite_forget_empty(),
        "delete": _spatialite_row("OLD", "-") + _spatialite_forget_empty(),
    }
    statements = []
    for op, body in bodies.items():
        trigger = f"{TABLE}_{op}"
        statements += [
            f"DROP TRIGGER IF EXISTS {trigger}",
            f"CREATE TRIGGER {trigger} AFTER {op.upper()} ON {ASSETS} FOR EACH ROW{_SPATIALITE_WHEN.get(op, '')} "
            f"BEGIN {body} END",
        ]
    return statements


def fill_sql(postgis: bool, table: str = TABLE) -> str:
    """Every group counted from the assets (install's fill; the tests' recount into another table)."""
    values = _values("r", postgis=postgis)
    keys, sums = values[: len(KEYS)], values[len(KEYS) :]
    inner = ", ".join(f"{e} AS {c}" for e, c in zip(keys + sums, KEY_COLUMNS + SUMS, strict=True))
    group = ", ".join(KEY_COLUMNS)
    totals = ", ".join(f"sum({c})" for c in SUMS)
    rows = f"(SELECT {inner} FROM {ASSETS} r) g"
    return f"INSERT INTO {table} ({_ALL}) SELECT {group}, {totals} FROM {rows} GROUP BY {group}"


def install(*, using: str = "default", fill: bool = True) -> None:
    """Create (or re-create) the triggers and, with fill, recount every group from the assets."""
    connection = connections[using]
    postgis = connection.vendor == "postgresql"
    statements = _postgis_install() if postgis else _spatialite_install()
    if fill:
        statements += [f"DELETE FROM {TABLE}", fill_sql(postgis)]
    triggers.execute(statements, using=using)


def uninstall(*, using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        for op in ("insert", "update", "delete", "truncate"):
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{op} ON {ASSETS}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {TABLE}_{op}()")
            elif op != "truncate":
                cursor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_{op}")


def ensure_triggers(*, using: str = "default", **_kwargs: Any) -> bool:
    """After migrate on SpatiaLite: a table rebuild (Django's SQLite ALTER) drops the triggers of assets_landasset;
    put them back and recount. True when they had to be repaired."""
    if not triggers.sqlite_triggers_lost(using=using, table=TABLE, like=f"{TABLE}_%", expected=3):
        return False
    install(using=using)
    return True


# --- reading ------------------------------------------------------------------------------------------------------

# The register filters (assets.register.filters.AssetFilter) that are dimensions of the groups.
DIMENSIONS = frozenset({"status", "tahap", "agency", "kecamatan", "kelurahan", "plotting", "removed"})
_EMPTY: tuple[Any, ...] = (None, "", [], ())


def answerable(cleaned: Mapping[str, Any]) -> bool:
    """Whether the filters' cleaned values (an AssetFilter's form) only name dimensions of the groups."""
    return all(name in DIMENSIONS for name, value in cleaned.items() if value not in _EMPTY)


def groups(cleaned: Mapping[str, Any], base: QuerySet | None = None) -> QuerySet:
    """The groups of the assets the filters select (``answerable`` filters; as AssetFilter reads them), from the
    maintained totals or ``base`` (another table of the same groups: the day totals as of a date,
    assets.register.asof_totals)."""
    qs = base if base is not None else RegisterTotal.objects.all()
    if cleaned.get("status"):
        qs = qs.filter(status_sertifikat__in=cleaned["status"])
    if cleaned.get("tahap"):
        qs = qs.filter(tahap_sertifikat__in=cleaned["tahap"])
    for name in ("agency", "kecamatan", "kelurahan"):
        if cleaned.get(name) is not None:
            qs = qs.filter(**{f"{name}_id": cleaned[name].pk})
    if cleaned.get("plotting"):
        qs = qs.filter(plotting_status=cleaned["plotting"])
    removed = cleaned.get("removed")
    if not removed:
        qs = qs.filter(removed=False)
    elif removed == "only":
        qs = qs.filter(removed=True)
    return qs


_SUMS = {
    "count": Sum("n"),
    "kib": Sum("luas_kib_c"),
    "gis": Sum("luas_gis_c"),
    "nilai": Sum("nilai"),
    "located": Sum("located"),
    **{f"status_{s}": Sum("n", filter=Q(status_sertifikat=s)) for s in CertificateStatus.values},
}


def _totals(row: Mapping[str, Any]) -> RegisterTotals:
    return RegisterTotals(
        count=int(row["count"] or 0),
        luas_kib_m2=Decimal(int(row["kib"] or 0)).scaleb(-2),
        luas_gis_m2=Decimal(int(row["gis"] or 0)).scaleb(-2),
        nilai_perolehan=Decimal(int(row["nilai"] or 0)),
        certified=int(row[f"status_{CertificateStatus.TERBIT}"] or 0),
        located=int(row["located"] or 0),
    )


def totals_by_status(qs: QuerySet) -> tuple[RegisterTotals, dict[str, int]]:
    """The totals of the groups and their count per certificate status (one small aggregate)."""
    row = qs.order_by().aggregate(**_SUMS)
    return _totals(row), {s: int(row[f"status_{s}"] or 0) for s in CertificateStatus.values}


def by_agency(qs: QuerySet) -> list[dict[str, Any]]:
    """Per agency (in code order): count, KIB area, value and certified count, as the REST aggregate writes them."""
    rows = (
        qs.order_by()
        .values("agency_id")
        .annotate(
            count=Sum("n"),
            kib=Sum("luas_kib_c"),
            nilai=Sum("nilai"),
            certified=Sum("n", filter=Q(status_sertifikat=CertificateStatus.TERBIT)),
        )
    )
    counted = {row["agency_id"]: row for row in rows if row["count"]}  # as of a date an agency may sum to none
    agencies = Agency.objects.filter(id__in=list(counted)).order_by("code").values_list("id", "code", "name")
    return [
        {
            "agency_code": code,
            "agency_name": name,
            "count": int(counted[pk]["count"]),
            "luas_kib_m2": float(Decimal(int(counted[pk]["kib"] or 0)).scaleb(-2)),
            "nilai_perolehan": float(int(counted[pk]["nilai"] or 0)),
            "certified": int(counted[pk]["certified"] or 0),
        }
        for pk, code, name in agencies
    ]
