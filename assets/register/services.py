"""Writes to the register. Every change of an asset or certificate goes through here."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.gdal import OGRGeometry
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import DecimalValidator, MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Count, Max
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.register import permissions
from assets.register.geo import (
    AreaRef,
    GeometryError,
    KelurahanIndex,
    geodesic_areas_m2,
    normalize_parcel_geometries,
    normalize_parcel_geometry,
    to_shapely,
)
from assets.register.models import (
    AdministrativeArea,
    Certificate,
    CertificateStageEvent,
    LandAsset,
    PlottingStatus,
    Stage,
    User,
)
from assets.register.rules import allowed_next_stages, derive_certificate_status

ASSET_FIELDS = (
    "kode_barang",
    "nomor_register",
    "nibar",
    "nama_barang",
    "alamat",
    "agency",
    "tanggal_perolehan",
    "tahun_perolehan",
    "asal_usul",
    "nilai_perolehan",
    "penggunaan",
    "luas_kib_m2",
    "keterangan",
    "plotting_status",
)

_index_cache: dict[str, Any] = {"key": None, "index": None}


def kelurahan_index() -> KelurahanIndex:
    """The kelurahan assignment index, rebuilt only when the boundaries change."""
    qs = AdministrativeArea.objects.filter(level=AdministrativeArea.Level.KELURAHAN)
    key = tuple(qs.aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id")).values())
    if _index_cache["key"] != key:
        areas = [(AreaRef(a.id, a.code, a.parent_id), a.geom) for a in qs.only("id", "code", "parent_id", "geom")]
        _index_cache.update(key=key, index=KelurahanIndex(areas))
    return _index_cache["index"]


@dataclass(frozen=True)
class PreparedParcel:
    """A geometry that passed the rules, with everything derived from it (see :func:`prepare_parcels`)."""

    hexewkb: str  # the MultiPolygon in SRID 4326, as hex EWKB (what the geometry field accepts and PostGIS reads)
    luas_gis_m2: Decimal
    kelurahan: AreaRef | None


def prepare_parcels(
    geoms: np.ndarray | list, *, srid: int, index: KelurahanIndex | None = None
) -> tuple[list[PreparedParcel | None], list[str | None]]:
    """The geometry rules and the derived fields (GIS area, kelurahan) for a batch of shapely geometries in ``srid``.

    The one implementation: a single write goes through it with a batch of one (via :func:`_set_geometry`),
    the importer with whole batches. Returns, per geometry, the prepared parcel or None, and None or the
    message of the rule it broke.
    """
    normalized, errors = normalize_parcel_geometries(geoms, srid)
    areas = geodesic_areas_m2(normalized)
    refs = (index or kelurahan_index()).assign_many(normalized)
    hexes = shapely.to_wkb(shapely.set_srid(normalized, 4326), hex=True, include_srid=True)
    prepared: list[PreparedParcel | None] = [
        None if error is not None else PreparedParcel(hexewkb, Decimal(str(area)).quantize(Decimal("0.01")), ref)
        for hexewkb, area, ref, error in zip(hexes, areas, refs, errors, strict=True)
    ]
    return prepared, errors


def _set_geometry(
    asset: LandAsset,
    geom: GEOSGeometry | OGRGeometry | str | PreparedParcel | GeometryError | None,
    *,
    srid: int | None,
    index: KelurahanIndex | None,
) -> None:
    """Apply the geometry rules and store everything derived from the geometry."""
    if geom is None or (isinstance(geom, str) and not geom.strip()):
        asset.geom = None
        asset.luas_gis_m2 = None
        asset.kelurahan_id = asset.kecamatan_id = None
        asset.plotting_status = PlottingStatus.UNKNOWN
        return
    if isinstance(geom, GeometryError):  # refused by prepare_parcels for a whole batch
        raise ValidationError({"geom": [str(geom)]})
    if not isinstance(geom, PreparedParcel):
        try:
            geos = normalize_parcel_geometry(geom, srid=srid)  # reads GEOS/OGR/WKT input, raises the rule's message
        except GeometryError as exc:
            raise ValidationError({"geom": [str(exc)]}) from exc
        (geom,), (error,) = prepare_parcels([to_shapely(geos)], srid=geos.srid, index=index)
        if error is not None:  # a normalised geometry passes again; never store one that does not
            raise ValidationError({"geom": [str(error)]})
    asset.geom = geom.hexewkb  # the field reads hex EWKB lazily; a bulk import never needs the GEOS object
    asset.luas_gis_m2 = geom.luas_gis_m2
    ref = geom.kelurahan
    asset.kelurahan_id = ref.id if ref else None
    asset.kecamatan_id = ref.parent_id if ref else None
    if asset.plotting_status == PlottingStatus.UNKNOWN:
        asset.plotting_status = PlottingStatus.LOCATED


def _normalise_fields(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "nibar" in data:
        data["nibar"] = (data["nibar"] or "").strip() or None
    if data.get("nomor_register"):
        data["nomor_register"] = str(data["nomor_register"]).strip().zfill(4)
    if data.get("kode_barang"):
        data["kode_barang"] = str(data["kode_barang"]).strip()
    return data


def _check_agency(user: User | None, asset: LandAsset) -> None:
    if user is None:  # system writes: fixtures, demo generator, management commands
        return
    if not permissions.can_edit_asset(user, asset):
        raise PermissionDenied(_("You may only change the assets of your own agency."))


@transaction.atomic
def asset_create(
    *,
    user: User | None,
    geom: GEOSGeometry | OGRGeometry | str | None = None,
    srid: int | None = None,
    index: KelurahanIndex | None = None,
    **fields: Any,
) -> LandAsset:
    asset = asset_prepare(user=user, geom=geom, srid=srid, index=index, **fields)
    asset.full_clean()  # a single write also checks the foreign keys and uniqueness here
    asset.save()
    return asset


@transaction.atomic
def asset_update(
    *,
    asset: LandAsset,
    user: User | None,
    data: dict[str, Any],
    geom: GEOSGeometry | OGRGeometry | str | None = ...,  # type: ignore[assignment]
    srid: int | None = None,
    expected_version: int | None = None,
) -> LandAsset:
    """Change an asset. ``geom`` left out keeps the geometry; ``None`` removes it.

    ``expected_version`` is the version the user's form was loaded with (optimistic locking): when someone else
    saved the asset in between, the change is refused instead of silently overwriting theirs.
    """
    if expected_version is not None:
        check_version(asset=asset, expected_version=expected_version)
    asset_prepare(user=user, instance=asset, geom=geom, srid=srid, **data)
    asset.full_clean()
    asset.save()
    return asset


def check_version(*, asset: LandAsset, expected_version: int) -> None:
    """Lock the asset's row and refuse when its stored version is not the one the user loaded.

    Must run inside a transaction: the row lock holds until the caller's save commits, so two saves from the
    same loaded version cannot both pass the check.
    """
    stored = LandAsset.objects.select_for_update().filter(pk=asset.pk).values_list("version", flat=True).first()
    if stored != expected_version:
        raise_stale_version(expected=expected_version, stored=stored)
    asset.version = stored


def raise_stale_version(*, expected: int, stored: int | None) -> None:
    """Raise the refusal of a save made from a stale version (shared by the register form and the admin)."""
    raise ValidationError(
        _(
            "This asset was changed by someone else after you opened it (you loaded version %(expected)s, "
            "it is now version %(stored)s). Your changes were not saved: open the asset again and redo them."
        ),
        code="stale_version",
        params={"expected": expected, "stored": stored},
    )


def asset_prepare(
    *,
    user: User | None,
    instance: LandAsset | None = None,
    geom: GEOSGeometry | OGRGeometry | str | None = ...,  # type: ignore[assignment]
    srid: int | None = None,
    index: KelurahanIndex | None = None,
    clean: bool = True,
    **fields: Any,
) -> LandAsset:
    """Build a new asset (or change ``instance``) by the register's rules, without saving.

    asset_create and asset_update are built on it; bulk imports call it directly, check uniqueness for a whole
    batch at once and save in batches. ``geom`` left out keeps the geometry of ``instance``. ``clean=False``
    leaves the field checks to the caller, which runs :func:`clean_assets` on the whole batch.
    """
    unknown = set(fields) - set(ASSET_FIELDS) - {"agency_id"}
    if unknown:
        raise TypeError(f"asset_prepare() got unknown fields: {sorted(unknown)}")
    if instance is None:
        asset = LandAsset(**_normalise_fields(fields))
    else:
        asset = instance
        _check_agency(user, asset)
        for name, value in _normalise_fields(fields).items():
            setattr(asset, name, value)
        asset.version += 1
    _check_agency(user, asset)
    if geom is not ... or instance is None:
        _set_geometry(asset, None if geom is ... else geom, srid=srid, index=index)
    # Foreign keys are not looked up one query per asset: the caller resolves the agency from the Agency table,
    # kelurahan/kecamatan come from the index built from the database, and the FK constraints hold at insert.
    # Uniqueness is checked by the caller for the whole batch at once (and by the database's constraint).
    if clean:
        clean_asset(asset)
    return asset


_CLEAN_EXCLUDE = frozenset({"agency", "kelurahan", "kecamatan"})
_CLEAN_CACHE_MAX = 20_000


def clean_asset(asset: LandAsset, *, cache: dict | None = None) -> None:
    """``asset.full_clean(validate_unique=False, validate_constraints=False, exclude=[agency, kelurahan, kecamatan])``,
    through :func:`clean_instances`."""
    clean_instance(asset, exclude=_CLEAN_EXCLUDE, cache=cache)


def clean_assets(assets: list[LandAsset], *, cache: dict | None = None) -> list[ValidationError | None]:
    """:func:`clean_asset` for a batch (the importer's): per asset, None or the ValidationError it would raise."""
    return clean_instances(assets, exclude=_CLEAN_EXCLUDE, cache=cache)


@functools.cache
def _clean_plan(model: type, exclude: frozenset[str]) -> tuple[tuple[Any, ...], ...]:
    """The fields clean_fields visits: (cache key, field, name, attname, is a geometry, empty values when blank,
    a test of the values that surely pass unchanged, or None)."""
    return tuple(
        (
            (model._meta.label, i),
            f,
            f.name,
            f.attname,
            isinstance(f, GeometryField),
            f.empty_values if f.blank else (),
            _passes_unchanged(f),
        )  # fmt: skip
        for i, f in enumerate(model._meta.fields)
        if not f.generated and f.name not in exclude
    )


def _passes_unchanged(f: Any) -> Callable[[Any], bool] | None:
    """For a plain CharField/TextField/DecimalField (no choices; only the validators Django gives it, and for a
    DecimalField fixed minimum and maximum values), a test of
    a value that ``f.clean`` surely returns unchanged (or equal), so the call can be skipped; None for any other
    field. A value the test does not pass still goes through ``f.clean`` (for its exact message)."""
    if f.choices:
        return None
    if type(f) in (models.CharField, models.TextField) and all(type(v) is MaxLengthValidator for v in f.validators):
        limit = f.max_length if f.max_length is not None else math.inf
        return lambda value: type(value) is str and value != "" and len(value) <= limit
    bounds = [v for v in f.validators if type(v) in (MinValueValidator, MaxValueValidator)]
    plain = all(type(v) is DecimalValidator or v in bounds for v in f.validators)
    if type(f) is models.DecimalField and plain and not any(callable(v.limit_value) for v in bounds):
        places, whole = -f.decimal_places, Decimal(10) ** (f.max_digits - f.decimal_places)
        low = max((v.limit_value for v in bounds if type(v) is MinValueValidator), default=-whole)
        high = min((v.limit_value for v in bounds if type(v) is MaxValueValidator), default=whole)

        def decimal_passes(value: Any) -> bool:
            # DecimalValidator's digit counts (at most decimal_places after the point, the rest before it) and the
            # field's MinValueValidator/MaxValueValidator bounds
            return type(value) is Decimal and value.is_finite() and value.as_tuple().exponent >= places \
                and abs(value) < whole and low <= value <= high  # fmt: skip

        return decimal_passes
    return None


def clean_instance(obj: Any, *, exclude: frozenset[str], cache: dict | None = None) -> None:
    """``obj.clean_fields(exclude)`` then ``obj.clean()``, as ``full_clean`` runs them: :func:`clean_instances`
    for one object, raising its ValidationError."""
    (error,) = clean_instances([obj], exclude=exclude, cache=cache)
    if error is not None:
        raise error


_UNCACHED = object()


def clean_instances(
    objs: list[Any], *, exclude: frozenset[str], cache: dict | None = None
) -> list[ValidationError | None]:
    """For each object (all of one model), ``clean_fields(exclude)`` then ``clean()``, as ``full_clean`` runs them
    (same validators, same messages, errors merged the same way): None, or the ValidationError ``full_clean``
    would raise. Cleaned values are set on the objects as ``clean_fields`` sets them.

    Field by field over the whole batch, each field's ``clean()`` run once per distinct value: a bulk import
    checks a kode barang, a date or a choice met 10,000 times once, and visits each field of each object in a
    list comprehension rather than through ``full_clean``'s per-object machinery (at 100k assets that machinery
    was a fifth of an import's time). ``cache`` keeps the results across batches (the importer passes one for the
    whole file); it is bounded. Sound because these fields' ``clean`` depends on the value only (the instance is
    read by foreign keys alone, which callers exclude).
    """
    if not objs:
        return []
    errors: list[dict[str, list] | None] = [None] * len(objs)
    results = cache if cache is not None else {}
    for position, f, name, attname, geometry, empty, passes in _clean_plan(type(objs[0]), exclude):
        # a geometry: its stored value, no lazy GEOS load (hex EWKB from prepare_parcels is a checked MultiPolygon)
        values = [obj.__dict__.get(attname) for obj in objs] if geometry else [getattr(obj, attname) for obj in objs]
        for i, raw_value in enumerate(values):
            if (empty and raw_value in empty) or isinstance(raw_value, DatabaseDefault):
                continue
            if geometry and isinstance(raw_value, str):
                continue
            if passes is not None and passes(raw_value):
                continue  # f.clean would return it unchanged: the call (and a cache entry per value) is skipped
            key = None
            hit = _UNCACHED
            if not geometry:
                key = (position, type(raw_value), str(raw_value) if isinstance(raw_value, Decimal) else raw_value)
                try:
                    hit = results.get(key, _UNCACHED)
                except TypeError:  # an unhashable value: no caching
                    key = None
            if hit is _UNCACHED:
                try:
                    hit = (f.clean(raw_value, objs[i]),)
                except ValidationError as e:
                    hit = e
                if key is not None:
                    if len(results) > _CLEAN_CACHE_MAX:  # bounded: memory must not grow with the size of an import
                        results.clear()
                    results[key] = hit
            if type(hit) is tuple:
                if hit[0] is not raw_value:
                    setattr(objs[i], attname, hit[0])
            else:
                if errors[i] is None:
                    errors[i] = {}
                errors[i][name] = hit.error_list
    out: list[ValidationError | None] = []
    for obj, found in zip(objs, errors, strict=True):
        try:
            obj.clean()
        except ValidationError as e:
            found = e.update_error_dict(found or {})
        out.append(ValidationError(found) if found else None)
    return out


def asset_refresh_certificate_status(asset: LandAsset) -> None:
    """Recompute the asset's derived certificate fields from its certificates."""
    rows = asset.certificates.values_list("stage", "nomor")
    status, leading, disputed = derive_certificate_status((stage, bool(nomor)) for stage, nomor in rows)
    LandAsset.objects.filter(pk=asset.pk).update(
        status_sertifikat=status, tahap_sertifikat=leading, bermasalah=disputed, updated_at=timezone.now()
    )
    asset.status_sertifikat, asset.tahap_sertifikat, asset.bermasalah = status, leading, disputed


CERTIFICATE_FIELDS = (
    "jenis_hak",
    "nomor",
    "tanggal",
    "nib",
    "atas_nama",
    "luas_sertifikat_m2",
    "nomor_surat_ukur",
    "tanggal_surat_ukur",
)


@transaction.atomic
def certificate_create(
    *,
    asset: LandAsset,
    user: User | None,
    stage: str = Stage.BELUM,
    tanggal_tahap: dt.date | None = None,
    nomor_dokumen: str = "",
    catatan: str = "",
    **fields: Any,
) -> Certificate:
    """Add a certificate (or a certification case) to an asset, with its first stage event."""
    _check_agency(user, asset)
    unknown = set(fields) - set(CERTIFICATE_FIELDS)
    if unknown:
        raise TypeError(f"certificate_create() got unknown fields: {sorted(unknown)}")
    tanggal_tahap = tanggal_tahap or timezone.localdate()
    _check_event_date(tanggal_tahap, None)
    certificate = Certificate(asset=asset, stage=stage, stage_since=tanggal_tahap, **fields)
    certificate.full_clean()
    certificate.save()
    CertificateStageEvent.objects.create(
        certificate=certificate,
        from_stage="",
        to_stage=stage,
        tanggal=tanggal_tahap,
        nomor_dokumen=nomor_dokumen,
        catatan=catatan,
        user=user,
    )
    asset_refresh_certificate_status(asset)
    return certificate


def _check_event_date(tanggal: dt.date, previous: dt.date | None) -> None:
    if tanggal > timezone.localdate():
        raise ValidationError({"tanggal": [_("The date %(date)s is in the future.") % {"date": tanggal.isoformat()}]})
    if previous and tanggal < previous:
        raise ValidationError(
            {
                "tanggal": [
                    _("The date %(date)s is before the previous stage change (%(previous)s).")
                    % {"date": tanggal.isoformat(), "previous": previous.isoformat()}
                ]
            }
        )


@transaction.atomic
def certificate_change_stage(
    *,
    certificate: Certificate,
    user: User | None,
    to_stage: str,
    tanggal_tahap: dt.date,
    nomor_dokumen: str = "",
    catatan: str = "",
    **fields: Any,
) -> CertificateStageEvent:
    """Move a certificate to another stage and record the event.

    ``fields`` may complete the certificate on the way (number, date, right, NIB, area...),
    which an issued certificate requires.
    """
    certificate = Certificate.objects.select_for_update().select_related("asset").get(pk=certificate.pk)
    _check_agency(user, certificate.asset)
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": [_("Unknown stage %(stage)s.") % {"stage": to_stage}]})
    if to_stage not in allowed_next_stages(certificate.stage):
        raise ValidationError(
            {
                "to_stage": [
                    _("A certificate cannot move from %(from)s to %(to)s.")
                    % {"from": Stage(certificate.stage).label, "to": Stage(to_stage).label}
                ]
            }
        )
    unknown = set(fields) - set(CERTIFICATE_FIELDS)
    if unknown:
        raise TypeError(f"certificate_change_stage() got unknown fields: {sorted(unknown)}")
    _check_event_date(tanggal_tahap, certificate.stage_since)
    from_stage = certificate.stage
    for name, value in fields.items():
        setattr(certificate, name, value)
    certificate.stage = to_stage
    certificate.stage_since = tanggal_tahap
    certificate.full_clean()
    certificate.save()
    event = CertificateStageEvent.objects.create(
        certificate=certificate,
        from_stage=from_stage,
        to_stage=to_stage,
        tanggal=tanggal_tahap,
        nomor_dokumen=nomor_dokumen,
        catatan=catatan,
        user=user,
    )
    asset_refresh_certificate_status(certificate.asset)
    return event


@transaction.atomic
def asset_remove(*, asset: LandAsset, user: User | None, sk_nomor: str, tanggal: dt.date, note: str = "") -> LandAsset:
    """Record a removal (penghapusan): the asset keeps its record, marked with the SK and its date."""
    asset = LandAsset.objects.select_for_update().get(pk=asset.pk)
    _check_agency(user, asset)
    errors: dict[str, list[str]] = {}
    if asset.removed_at is not None:
        errors["removed_at"] = [
            _("This asset was already removed on %(date)s.") % {"date": asset.removed_at.isoformat()}
        ]
    if not (sk_nomor or "").strip():
        errors["removal_sk_nomor"] = [_("A removal needs the number of its decree (SK).")]
    if tanggal is None:
        errors["removed_at"] = [_("A removal needs the date of its decree (SK).")]
    elif tanggal > timezone.localdate():
        errors["removed_at"] = [_("The date %(date)s is in the future.") % {"date": tanggal.isoformat()}]
    if errors:
        raise ValidationError(errors)
    asset.removed_at = tanggal
    asset.removal_sk_nomor = sk_nomor.strip()
    asset.removal_note = note
    asset.version += 1
    asset._change_reason = f"penghapusan SK {asset.removal_sk_nomor}"
    asset.save()
    return asset


@transaction.atomic
def asset_restore(*, asset: LandAsset, user: User | None, reason: str) -> LandAsset:
    """Reverse a removal (BPKAD or administrator only); the removal stays visible in the history."""
    asset = LandAsset.objects.select_for_update().get(pk=asset.pk)
    if user is not None and not permissions.can_edit_all(user):
        raise PermissionDenied(_("Only BPKAD may reverse a removal."))
    if asset.removed_at is None:
        raise ValidationError({"removed_at": [_("This asset is not removed.")]})
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why the removal is reversed.")]})
    asset.removed_at = None
    asset.removal_sk_nomor = ""
    asset.removal_note = ""
    asset.version += 1
    asset._change_reason = reason.strip()
    asset.save()
    return asset
