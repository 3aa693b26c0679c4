"""The public read path: the ONLY way the public pages reach the register.

Every function returns plain values of the published fields (``PublishedParcel``: outline, kelurahan, and kode
barang / certificate status where the policy publishes them), never model instances, ids or querysets a template
could follow to a private field. Removed assets, assets without geometry, and hidden assets or agencies
(``PublicExclusion``) never appear; with the policy switched off nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from assets.public.models import PublicationPolicy, PublicExclusion
from assets.register import geo
from assets.register import selectors as register_selectors
from assets.register.models import AdministrativeArea, CertificateStatus, LandAsset


@dataclass(frozen=True)
class PublishedParcel:
    outline: shapely.Geometry  # lon/lat
    kelurahan: str
    kode_barang: str | None  # None: not published
    certificate_status: str | None  # the status in words; None: not published


def published_assets(policy: PublicationPolicy | None = None, *, few: bool = False) -> QuerySet[LandAsset]:
    """The assets the public may see (still a queryset: for this room's tiles and lookups only, which read the
    published fields from it and nothing else). ``few``: the caller selects a few parcels through the spatial
    index (a lookup), so the exclusions' anti-joins cost less than asking first whether anything is hidden."""
    policy = policy or PublicationPolicy.current()
    if not policy.enabled:
        return LandAsset.objects.none()
    qs = LandAsset.objects.filter(removed_at__isnull=True, geom__isnull=False).order_by()
    hidden = PublicExclusion.objects.filter(withdrawn_at__isnull=True)
    if not few and not hidden.exists():  # nothing hidden: no anti-join on every parcel of a tile or a kelurahan
        return qs
    return qs.exclude(Exists(hidden.filter(asset=OuterRef("pk")))).exclude(
        Exists(hidden.filter(agency=OuterRef("agency_id")))
    )


@dataclass(frozen=True)
class PublicationState:
    """What the public tiles need to know, read in one statement: the version of everything they show (the
    register's, the policy's, the exclusions'), whether the pages are on, and whether anything is hidden."""

    version: str
    enabled: bool
    hidden: int  # exclusions in force


def publication_state(tile: tuple[str, tuple] | None = None) -> tuple[PublicationState, bytes | None]:
    """The publication's state, and with ``tile`` (the SQL of a tile of the whole live register, and its parameters)
    that tile built in the same statement when nothing is hidden and the pages are on (one round trip, one
    snapshot: the version matches the content). The tile is None when not asked for or not built."""
    from assets.maps import tile_version

    policy = PublicationPolicy._meta.db_table
    hidden = PublicExclusion._meta.db_table
    in_force_sql = f"SELECT count(*) FROM {hidden} WHERE withdrawn_at IS NULL"  # noqa: S608
    # Constant SQL: table names from the models, nothing from the request; the tile's values are parameters.
    sql = "SELECT {version}, ({policy_sql}), ({hidden_sql}), ({in_force_sql}){tile}".format(
        version=tile_version.read_sql(connection.vendor),
        policy_sql=f"SELECT CAST(updated_at AS TEXT) || '/' || CAST(enabled AS TEXT) FROM {policy} WHERE id = 1",  # noqa: S608
        hidden_sql=f"SELECT CAST(count(*) AS TEXT) || '/' || CAST(coalesce(max(id), 0) AS TEXT) || '/' "  # noqa: S608
        f"|| coalesce(CAST(max(withdrawn_at) AS TEXT), '') FROM {hidden}",
        in_force_sql=in_force_sql,
        tile=(
            f", CASE WHEN ({in_force_sql}) = 0 AND coalesce((SELECT enabled FROM {policy} WHERE id = 1), TRUE) "  # noqa: S608
            f"THEN ({tile[0]}) END"
            if tile
            else ""
        ),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, tile[1] if tile else ())
        register, policy_row, exclusions, in_force, *built = cursor.fetchone()
    enabled = policy_row is None or policy_row.rsplit("/", 1)[1].lower() in ("true", "1", "t")
    state = PublicationState(version=f"{register}|{policy_row}|{exclusions}", enabled=enabled, hidden=int(in_force))
    data = None
    if tile and enabled and not state.hidden:
        data = bytes(built[0]) if built[0] is not None else b""
    return state, data


def _parcels(qs: QuerySet[LandAsset], policy: PublicationPolicy) -> list[PublishedParcel]:
    rows = qs.values_list("geom", "kelurahan__name", "kode_barang", "status_sertifikat")
    words = dict(CertificateStatus.choices)
    return [
        PublishedParcel(
            outline=geo.to_shapely(geom),
            kelurahan=kelurahan or "",
            kode_barang=kode if policy.publish_kode_barang else None,
            certificate_status=str(words.get(status, status)) if policy.publish_certificate_status else None,
        )
        for geom, kelurahan, kode, status in rows
    ]


def _touching_sql() -> str:
    """PostGIS: published_assets(few=True) touching a geometry, with the fields _parcels reads, as constant SQL.
    The ORM built the same statement in about half of a lookup's Python time (the anti-joins, the join)."""
    asset, area = LandAsset._meta.db_table, AdministrativeArea._meta.db_table
    hidden = PublicExclusion._meta.db_table
    return (
        f'SELECT ST_AsBinary(a.geom), k.name, a.kode_barang, a.status_sertifikat FROM "{asset}" a '  # noqa: S608 - constants
        f'LEFT JOIN "{area}" k ON k.id = a.kelurahan_id '
        "WHERE a.removed_at IS NULL AND a.geom IS NOT NULL "
        "AND ST_Intersects(a.geom, ST_SetSRID(ST_GeomFromWKB(%s), 4326)) "
        f'AND NOT EXISTS (SELECT 1 FROM "{hidden}" e WHERE e.withdrawn_at IS NULL AND e.asset_id = a.id) '
        f'AND NOT EXISTS (SELECT 1 FROM "{hidden}" e WHERE e.withdrawn_at IS NULL AND e.agency_id = a.agency_id) '
        "LIMIT %s"
    )


def _postgis_parcels_touching(geom: GEOSGeometry, policy: PublicationPolicy, limit: int) -> list[PublishedParcel]:
    if not policy.enabled:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_touching_sql(), (bytes(geom.wkb), limit))  # lon/lat, as the docstring of the caller says
        rows = cursor.fetchall()
    words = dict(CertificateStatus.choices)
    return [
        PublishedParcel(
            outline=shapely.from_wkb(bytes(wkb)),
            kelurahan=kelurahan or "",
            kode_barang=kode if policy.publish_kode_barang else None,
            certificate_status=str(words.get(status, status)) if policy.publish_certificate_status else None,
        )
        for wkb, kelurahan, kode, status in rows
    ]


def parcels_touching(geom: GEOSGeometry, policy: PublicationPolicy, limit: int = 50) -> list[PublishedParcel]:
    """The published parcels that touch ``geom`` (lon/lat), through the spatial index on both databases."""
    if connection.vendor == "postgresql":
        return _postgis_parcels_touching(geom, policy, limit)
    # SpatiaLite: GeoDjango's lookups do not consult the R*Tree; pre-select through it (docs/maps.md)
    xmin, ymin, xmax, ymax = geom.extent
    table = LandAsset._meta.db_table
    qs = (
        published_assets(policy, few=True)
        .extra(  # noqa: S610 - constant SQL, float params
            where=[
                f'"{table}"."id" IN (SELECT pkid FROM "idx_{table}_geom" '  # noqa: S608 - constant
                "WHERE xmax >= %s AND xmin <= %s AND ymax >= %s AND ymin <= %s)"
            ],
            params=[xmin, xmax, ymin, ymax],
        )
        .filter(geom__intersects=geom)
    )
    return _parcels(qs[:limit], policy)


def kelurahan_at(geom: GEOSGeometry) -> list[str]:
    """The names of the kelurahan the place lies in (a parcel on a boundary: both)."""
    return list(
        AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN, geom__intersects=geom)
        .order_by("name")
        .values_list("name", flat=True)
    )


def kelurahan_choices() -> list[tuple[str, str]]:
    return list(register_selectors.kelurahan_list().order_by("name").values_list("code", "name"))


@dataclass(frozen=True)
class KelurahanSummary:
    name: str
    geom: GEOSGeometry
    parcels: int
    area_m2: float


def kelurahan_summary(code: str, policy: PublicationPolicy) -> KelurahanSummary | None:
    """How many published parcels lie in a kelurahan and their area (geodesic)."""
    area = register_selectors.kelurahan_list().defer(None).filter(code=code).first()
    if area is None:
        return None
    qs = published_assets(policy).filter(Q(kelurahan=area))
    geoms = [geo.to_shapely(g) for g in qs.values_list("geom", flat=True)]
    total = sum(a or 0.0 for a in geo.geodesic_areas_m2(geoms))
    return KelurahanSummary(name=area.name, geom=area.geom, parcels=len(geoms), area_m2=total)
