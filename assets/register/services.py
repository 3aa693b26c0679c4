"""Writes to the register. Every change of an asset or certificate goes through here."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from types import EllipsisType
from typing import Any, NoReturn

import numpy as np
import shapely
from django.contrib.gis.gdal import OGRGeometry
from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.lib.bulk_clean import clean_instance, clean_instances
from assets.lib.instances import new_instance
from assets.register import kib, overlaps, permissions
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
from assets.register.place import STORAGE_SRID
from assets.register.rules import allowed_next_stages, derive_certificate_status

# The fields a write may set: the KIB A columns an import fills on the asset itself (assets.register.kib).
ASSET_FIELDS: tuple[str, ...] = tuple(
    c.import_field for c in kib.IMPORTED if not c.from_certificate and c.import_field != "wkt"
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
        (prepared,), (error,) = prepare_parcels([to_shapely(geos)], srid=STORAGE_SRID, index=index)
        if prepared is None:  # a normalised geometry passes again; never store one that does not
            raise ValidationError({"geom": [str(error)]})
        geom = prepared
    # the field reads hex EWKB lazily; a bulk import never needs the GEOS object
    asset.geom = geom.hexewkb  # type: ignore[assignment]  # GeoDjango's field takes hex EWKB; the stubs say GEOS
    asset.luas_gis_m2 = geom.luas_gis_m2
    ref = geom.kelurahan
    asset.kelurahan_id = ref.id if ref else None
    asset.kecamatan_id = ref.parent_id if ref else None
    if asset.plotting_status == PlottingStatus.UNKNOWN:
        asset.plotting_status = PlottingStatus.LOCATED


# Set only inside agency_transfer(): the one way an existing asset's agency changes (an approved transfer).
_agency_transfer: contextvars.ContextVar[bool] = contextvars.ContextVar("sipanah_agency_transfer", default=False)


@contextlib.contextmanager
def agency_transfer() -> Iterator[None]:
    """Allow the writes inside to change an asset's agency: used only by an approved transfer (assets.ledger)."""
    token = _agency_transfer.set(True)
    try:
        yield
    finally:
        _agency_transfer.reset(token)


def _check_agency_change(asset: LandAsset, fields: dict[str, Any]) -> None:
    """An existing asset keeps its agency unless an approved transfer changes it (form, admin, import, reconciliation
    all write through asset_prepare)."""
    if _agency_transfer.get():
        return
    if "agency_id" in fields:
        wanted = fields["agency_id"]
    elif "agency" in fields:
        wanted = getattr(fields["agency"], "pk", fields["agency"])
    else:
        return
    if wanted is not None and wanted != asset.agency_id:
        raise ValidationError(
            {
                "agency": [
                    _(
                        "The agency of an asset changes only through an approved transfer (mutasi / alih status "
                        "penggunaan); propose one from the asset's page."
                    )
                ]
            }  # fmt: skip
        )


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
    refusal = permissions.edit_asset_refusal(user, asset)  # names whose asset it is
    if refusal is not None:
        raise PermissionDenied(refusal)


@transaction.atomic
def asset_create(
    *,
    user: User | None,
    geom: GEOSGeometry | OGRGeometry | str | None = None,
    srid: int | None = None,
    index: KelurahanIndex | None = None,
    overlap_reason: str | None = None,
    **fields: Any,
) -> LandAsset:
    """Add an asset. A parcel overlapping others is refused for an officer; BPKAD and administrators save it with
    ``overlap_reason``, recorded in its history (assets.register.overlaps)."""
    asset = asset_prepare(user=user, geom=geom, srid=srid, index=index, **fields)
    asset.full_clean()  # a single write also checks the foreign keys and uniqueness here
    _record_overlap(asset, overlaps.check_save(user=user, asset=asset, before=None, reason=overlap_reason))
    asset.save()
    return asset


def _record_overlap(asset: LandAsset, change_reason: str | None) -> None:
    if change_reason is not None:
        asset._change_reason = change_reason  # the history row's reason: the asset's history and the activity log


@transaction.atomic
def asset_update(
    *,
    asset: LandAsset,
    user: User | None,
    data: dict[str, Any],
    geom: GEOSGeometry | OGRGeometry | str | EllipsisType | None = ...,
    srid: int | None = None,
    expected_version: int | None = None,
    overlap_reason: str | None = None,
) -> LandAsset:
    """Change an asset. ``geom`` left out keeps the geometry; ``None`` removes it.

    ``expected_version`` is the version the user's form was loaded with (optimistic locking): when someone else
    saved the asset in between, the change is refused instead of silently overwriting theirs. A new geometry that
    adds an overlap with other parcels follows the overlap rule (``overlap_reason``: assets.register.overlaps).
    """
    if expected_version is not None:
        check_version(asset=asset, expected_version=expected_version)
    before = LandAsset.objects.filter(pk=asset.pk).values_list("geom", flat=True).first() if asset.pk else None
    asset_prepare(user=user, instance=asset, geom=geom, srid=srid, **data)
    asset.full_clean()
    if not isinstance(geom, EllipsisType):
        _record_overlap(asset, overlaps.check_save(user=user, asset=asset, before=before, reason=overlap_reason))
    asset.save()
    return asset


def check_version(*, asset: LandAsset, expected_version: int) -> None:
    """Lock the asset's row and refuse when its stored version is not the one the user loaded.

    Must run inside a transaction: the row lock holds until the caller's save commits, so two saves from the
    same loaded version cannot both pass the check.
    """
    stored = LandAsset.objects.select_for_update().filter(pk=asset.pk).values_list("version", flat=True).first()
    if stored is None or stored != expected_version:
        raise_stale_version(expected=expected_version, stored=stored)
    asset.version = stored


def raise_stale_version(*, expected: int, stored: int | None) -> NoReturn:
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
    geom: GEOSGeometry | OGRGeometry | str | PreparedParcel | GeometryError | EllipsisType | None = ...,
    srid: int | None = None,
    index: KelurahanIndex | None = None,
    clean: bool = True,
    **fields: Any,
) -> LandAsset:
    """Build a new asset (or change ``instance``) by the register's rules, without saving.

    asset_create and asset_update are built on it; bulk imports call it directly, check uniqueness for a whole
    batch at once and save in batches, passing each geometry as :func:`prepare_parcels` judged it (a
    PreparedParcel or the GeometryError). ``geom`` left out keeps the geometry of ``instance``. ``clean=False``
    leaves the field checks to the caller, which runs :func:`clean_assets` on the whole batch.
    """
    unknown = set(fields) - set(ASSET_FIELDS) - {"agency_id"}
    if unknown:
        raise TypeError(f"asset_prepare() got unknown fields: {sorted(unknown)}")
    if instance is None:
        asset = new_instance(LandAsset, _normalise_fields(fields))
    else:
        asset = instance
        _check_agency(user, asset)
        _check_agency_change(asset, fields)
        for name, value in _normalise_fields(fields).items():
            setattr(asset, name, value)
        asset.version += 1
    _check_agency(user, asset)
    if not isinstance(geom, EllipsisType) or instance is None:
        _set_geometry(asset, None if isinstance(geom, EllipsisType) else geom, srid=srid, index=index)
    # Foreign keys are not looked up one query per asset: the caller resolves the agency from the Agency table,
    # kelurahan/kecamatan come from the index built from the database, and the FK constraints hold at insert.
    # Uniqueness is checked by the caller for the whole batch at once (and by the database's constraint).
    if clean:
        clean_asset(asset)
    return asset


_CLEAN_EXCLUDE = frozenset({"agency", "kelurahan", "kecamatan"})


def clean_asset(asset: LandAsset, *, cache: dict | None = None) -> None:
    """``asset.full_clean(validate_unique=False, validate_constraints=False, exclude=[agency, kelurahan, kecamatan])``,
    through :func:`assets.lib.bulk_clean.clean_instances`."""
    clean_instance(asset, exclude=_CLEAN_EXCLUDE, cache=cache)


def clean_assets(assets: list[LandAsset], *, cache: dict | None = None) -> list[ValidationError | None]:
    """:func:`clean_asset` for a batch (the importer's): per asset, None or the ValidationError it would raise."""
    return clean_instances(assets, exclude=_CLEAN_EXCLUDE, cache=cache)


def asset_refresh_certificate_status(asset: LandAsset) -> None:
    """Recompute the asset's derived certificate fields from its certificates, and its dispute flag
    (``bermasalah``) from them and from its open dispute or occupation cases (assets.encumbrance, which calls this
    after every change of a case: the one place that decides the flag)."""
    rows = asset.certificates.values_list("stage", "nomor")
    status, leading, disputed = derive_certificate_status((stage, bool(nomor)) for stage, nomor in rows)
    # an open case: one with no closing date (the reverse relation of assets.encumbrance's DisputeCase.assets)
    # (one filter() call, so both conditions apply to the same joined case; a NULL alone would match no case)
    disputed = (
        disputed
        or LandAsset.objects.filter(
            pk=asset.pk, dispute_cases__isnull=False, dispute_cases__closed_on__isnull=True
        ).exists()
    )
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


@transaction.atomic
def certificate_save(*, certificate: Certificate, user: User | None) -> Certificate:
    """Save a certificate's edited fields (its stage changes only through :func:`certificate_change_stage`). When
    it moved to another asset, both assets' derived certificate fields are recomputed (the old one kept a stale
    status) and the user must be allowed to edit both."""
    before = Certificate.objects.select_for_update().values_list("asset_id", flat=True).get(pk=certificate.pk)
    moved_from = LandAsset.objects.get(pk=before) if before != certificate.asset_id else None
    _check_agency(user, certificate.asset)
    if moved_from is not None:
        _check_agency(user, moved_from)
    certificate.full_clean()
    certificate.save()
    asset_refresh_certificate_status(certificate.asset)
    if moved_from is not None:
        asset_refresh_certificate_status(moved_from)
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
