"""The live export's one SQL statement: every exported column of a register selection, as the export writes it.

One ``SELECT`` over the asset table, its agency and areas, and the asset's leading certificate (the one whose stage
the asset shows, else its first: what an import would recreate), in register order, with each column already cast
to what the file takes (numbers as float/integer, dates as dates or ISO text, empty text as NULL, a CSV's
formula-like text quoted as assets.lib.cells.csv_text does). The selection's filters come in as
``id IN (<the selection's own queryset>)``, so the statement means exactly what the register list means.

Two executors read it (assets.transfer.exports): GDAL itself (VectorTranslate from a PostgreSQL datasource: the
rows never become Python objects, as fast as ogr2ogr) and, where GDAL cannot see the rows (inside a transaction
that has not committed, as in the tests), Django's own connection through a chunked cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection

from assets.register import history, kib
from assets.register.models import AdministrativeArea, Agency, Certificate, LandAsset
from assets.register.reads import RegisterSelection

# Text a spreadsheet would read as a formula starts with one of these (assets.lib.cells.FORMULA_START).
_FORMULA_CODES = (61, 43, 45, 64, 9, 13)  # = + - @ TAB CR
FETCH = 2000


@dataclass(frozen=True)
class ExportQuery:
    sql: str  # with %s placeholders (Django's paramstyle)
    params: tuple[Any, ...]
    names: tuple[str, ...]  # the output names of the exported columns, in kib.EXPORTED order

    def literal_sql(self) -> str:
        """The statement with its parameters quoted in (for GDAL, which takes no parameters)."""
        if not self.params:
            return self.sql
        return str(connection.ops.compose_sql(self.sql, self.params))  # type: ignore[attr-defined]  # (PostgreSQL's)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _text_cast(expr: str) -> str:
    return f"CAST({expr} AS text)" if _postgres() else expr  # SpatiaLite keeps dates as ISO text already


def _formula_quoted(expr: str) -> str:
    char = "chr" if _postgres() else "char"
    starts = ", ".join(f"{char}({code})" for code in _FORMULA_CODES)
    return f"CASE WHEN substr({expr}, 1, 1) IN ({starts}) THEN '''' || {expr} ELSE {expr} END"


def _cast(column: kib.Column, expr: str, *, csv: bool, text_dates: bool, width: int | None = None) -> str:
    pg = _postgres()
    if column.ogr == "Real":
        return f"CAST({expr} AS {'double precision' if pg else 'REAL'})"
    if column.ogr == "Integer64":  # int(Decimal): toward zero
        return f"CAST(trunc({expr}) AS bigint)" if pg else f"CAST({expr} AS INTEGER)"
    if column.ogr == "Integer":
        return expr
    if column.ogr == "Date":
        return _text_cast(expr) if text_dates else expr
    text = f"NULLIF({expr}, '')"  # an empty text is an empty cell (as the row-by-row writer leaves it)
    if width and pg:  # a DBF's text width, typed so that GDAL (and ogr2ogr from the same statement) takes it
        text = f"CAST({text} AS varchar({int(width)}))"
    return _formula_quoted(text) if csv else text


def _field_column(model: Any, name: str) -> str:
    return _quote(model._meta.get_field(name).column)


def export_query(
    selection: RegisterSelection, *, names: tuple[str, ...], csv: bool = False, text_dates: bool = False,
    geometry: str = "raw", srid: int = 4326, extra: bool = False, widths: dict[str, int] | None = None,
) -> ExportQuery:  # fmt: skip
    """The statement for a live ``selection``: the columns of kib.EXPORTED under ``names``, then the geometry
    (``raw``: the column as the database keeps it, for GDAL; ``wkb``: ISO WKB; ``wkt``: WKT in ``srid``, named
    wkt_epsg_<srid>, a CSV's geometry column (PostgreSQL only)), then with ``extra`` the asset's id and certificate
    stage (the XLSX's evidence columns need them). ``widths``: text columns' widths by column name (a Shapefile's)."""
    asset, cert = "a", "lc"
    table, where, params, certificates, derived = _sources(selection, asset)
    joins: dict[str, str] = {}
    related = {"agency": Agency, "kelurahan": AdministrativeArea, "kecamatan": AdministrativeArea}
    columns = []
    for column, name in zip(kib.EXPORTED, names, strict=True):
        source = column.source or column.name
        if column.from_certificate:
            expr = f"{cert}.{_field_column(Certificate, source[len(kib.CERT) :])}"
        elif "." in source:
            relation, attribute = source.split(".")
            model = related[relation]
            alias = f"j_{relation}"
            joins[relation] = (
                f"LEFT JOIN {_quote(model._meta.db_table)} {alias} "
                f"ON {alias}.id = {asset}.{_field_column(LandAsset, relation)}"
            )
            expr = f"{alias}.{_field_column(model, attribute)}"
        else:
            expr = derived.get(source) or f"{asset}.{_field_column(LandAsset, source)}"
        width = (widths or {}).get(column.name)
        columns.append(f"{_cast(column, expr, csv=csv, text_dates=text_dates, width=width)} AS {_quote(name)}")
    geom = f"{asset}.{_field_column(LandAsset, 'geom')}"
    if geometry == "raw":
        columns.append(f"{geom} AS geom")
    elif geometry == "wkb":
        columns.append(f"{'ST_AsBinary' if _postgres() else 'AsBinary'}({geom}) AS geom")
    elif geometry == "wkt":
        projected = geom if srid == 4326 else f"ST_Transform({geom}, {int(srid)})"
        # "MULTIPOLYGON (((" as OGR writes it (PostGIS leaves out the space)
        text = f"replace(ST_AsText({projected}), 'MULTIPOLYGON(', 'MULTIPOLYGON (')"
        columns.insert(0, f"{text} AS {_quote(f'wkt_epsg_{int(srid)}')}")
    tahap = derived.get("tahap_sertifikat") or f"{asset}.{_field_column(LandAsset, 'tahap_sertifikat')}"
    if extra:
        columns += [f"{asset}.id AS asset_id", f"{tahap} AS tahap"]
    c = certificates
    c_asset, c_stage = _field_column(Certificate, "asset"), _field_column(Certificate, "stage")
    # The leading certificate: its stage is the asset's, else the first (by id). One index probe per asset
    # (certificate.asset_id): a plan that cannot go wrong with the row estimates (a window over all certificates,
    # joined back, was fine on an analysed database and ran for minutes on a fresh copy of one).
    # One probe of the certificate.asset_id index per asset, whatever the row estimates: on a fresh copy of a
    # database (no statistics yet) a window over all certificates joined back, an ORDER BY id LIMIT 1 (the primary
    # key walked for every asset without a certificate) and a stage condition in WHERE (the stage index ANDed in)
    # each ran for minutes. (SQLite cannot see the outer row in a subquery's ORDER BY either.)
    leading = (
        f"LEFT JOIN {c} {cert} ON {cert}.id = (SELECT COALESCE(min(CASE WHEN c.{c_stage} = {tahap} "  # noqa: S608
        f"THEN c.id END), min(c.id)) FROM {c} c WHERE c.{c_asset} = {asset}.id)"
    )
    order = ", ".join(f"{asset}.{_field_column(LandAsset, f)}" for f in ("kode_barang", "nomor_register"))
    sql = (
        f"SELECT {', '.join(columns)} FROM {table} {asset} "  # noqa: S608
        f"{' '.join(joins.values())} {leading} "
        f"{where} ORDER BY {order}, {asset}.id"
    )
    return ExportQuery(sql=sql, params=tuple(params), names=names)


def in_one_statement(selection: RegisterSelection) -> bool:
    """Whether export_query can write ``selection``: the live register, or on PostgreSQL the register as of a date
    while every asset and certificate has history (the rows without history are merged in Python: records())."""
    if selection.live:
        return True
    return _postgres() and history.unrecorded_models() == (False, False)


def _recorded(model: Any, leave_out: set[str]) -> list[str]:
    """The columns of ``model`` its history rows carry (django-simple-history leaves out some, such as updated_at)."""
    kept = {f.name for f in model.history.model._meta.concrete_fields}
    return [f.attname for f in model._meta.concrete_fields if f.name in kept and f.name not in leave_out]


def _sources(selection: RegisterSelection, asset: str) -> tuple[str, str, list[Any], str, dict[str, str]]:
    """(the asset rows' FROM item, the WHERE clause, their parameters, the certificate rows' FROM item, the asset
    columns read under another name). Live: the asset table, filtered by ``id IN`` the selection's queryset, and
    the certificate table. As of a date (in_one_statement): the history rows valid at the date, with the certificate
    status, stage and dispute flag as of the date (history.as_of_sources), and the certificate history rows valid
    at the date."""
    if selection.live:
        ids_sql, ids_params = selection.queryset().order_by().values("pk").query.sql_with_params()
        tables = _quote(LandAsset._meta.db_table), _quote(Certificate._meta.db_table)
        return tables[0], f"WHERE {asset}.id IN ({ids_sql})", list(ids_params), tables[1], {}
    with history.one_read((False, False)):
        [rows] = selection.as_of_sources(stage=True, disputed=True, few=True)
    # Each row's status span and open case are index probes (linear in N), selected once in a subquery (OFFSET 0:
    # pulled up, PostgreSQL copied them into every expression reading them, as the tiles note) and named outside
    # it, as the as-of tile does.
    probes = (history.SPAN, history.CASED)
    leave_out = set(history.derived_sql("", ""))  # the live columns the history rows hold as they were written
    rows_sql, rows_params = rows.values(*_recorded(LandAsset, leave_out), *probes).query.sql_with_params()
    derived = history.derived_sql(*(f"{asset}.{_quote(name)}" for name in probes))
    before = history.end_of_day(selection.as_of)  # type: ignore[arg-type]  # not live
    certs = history.recorded(Certificate, before).order_by().values(*_recorded(Certificate, set()))
    certs_sql, certs_params = certs.query.sql_with_params()
    # the certificate rows come twice in the statement (the join and its probe), after the asset rows
    params = [*rows_params, *certs_params, *certs_params]
    return f"({rows_sql} OFFSET 0)", "", params, f"({certs_sql})", derived


def fetch_rows(query: ExportQuery) -> Iterator[tuple[Any, ...]]:
    """The statement's rows through Django's connection, ``FETCH`` at a time (a server-side cursor on PostgreSQL),
    so memory stays flat whatever the selection's size."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(query.sql, query.params)
        while rows := cursor.fetchmany(FETCH):
            yield from rows
