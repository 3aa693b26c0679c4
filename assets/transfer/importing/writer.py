"""Rows checked against the register and written in batches, inside the import's transaction."""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from assets.lib import bulk_clean, copy_insert
from assets.lib.instances import new_instance
from assets.register import rules, services
from assets.register.geo import STORAGE_SRID, GeometryError, to_shapely
from assets.register.models import (
    Agency,
    Certificate,
    CertificateStageEvent,
    LandAsset,
    Stage,
    User,
)
from assets.register.services import PreparedParcel
from assets.transfer.importing.overlaps import OverlapCheck
from assets.transfer.importing.reader import Row
from assets.transfer.importing.report import MAX_LISTED, ImportReport, UpdateMode, display_value, field_label

# A geometry counts as unchanged when every vertex is within this of the register's (degrees: about 1 mm)
SAME_GEOMETRY_DEGREES = 1e-8


def _key(kode: str, register: str) -> int:
    # 8-byte digests instead of the strings keep the duplicate check small at 1M features.
    return int.from_bytes(hashlib.blake2b(f"{kode}\x00{register}".encode(), digest_size=8).digest(), "big")


def _existing_assets(columns: tuple[str, ...], keys: Iterable[tuple[str, ...]]) -> Iterator[LandAsset]:
    """The register's assets whose ``columns`` equal one of ``keys`` (a unique key of the register).

    PostgreSQL: one statement for the batch, one unique-index lookup per key (``unnest`` of one array per column,
    each key looked up in a LATERAL subquery that ``LIMIT 1`` keeps from being turned into a join). Not ``kode =
    %s AND register IN (...)``: PostgreSQL took the index on kode alone and filtered every asset of that kode (its
    statistics are those of the register before the import's own rows), so each batch read the whole register again
    (at 300k assets the lookups of the last batches took longer than their COPY; superlinear in N). Elsewhere the
    ORM, one ``__in`` query per value of the leading columns.
    """
    keys = list(keys)
    if not keys:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        names = [f"k{i}" for i in range(len(columns))]
        match = " AND ".join(f"{quote(c)} = k.{n}" for c, n in zip(columns, names, strict=True))
        sql = (
            f"SELECT a.* FROM unnest({', '.join(['%s::text[]'] * len(columns))}) AS k({', '.join(names)}) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT * FROM {quote(LandAsset._meta.db_table)} WHERE {match} LIMIT 1) a"
        )
        yield from LandAsset.objects.raw(sql, [list(values) for values in zip(*keys, strict=True)])
        return
    groups: dict[tuple[str, ...], list[str]] = {}
    for key in keys:
        groups.setdefault(key[:-1], []).append(key[-1])
    for leading, lasts in groups.items():
        yield from LandAsset.objects.filter(
            **dict(zip(columns, leading, strict=False)), **{f"{columns[-1]}__in": lasts}
        )


class _SeenKeys:
    """The keys met so far in the file and the number of the feature each was first met on.

    Two sorted numpy arrays (8-byte digest, feature number): 16 bytes per key, where a dict of Python ints took
    about 110 (at 1M features, 16 MB instead of 200 MB: the import's memory stays nearly flat in N).
    """

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.uint64)
        self.numbers = np.empty(0, dtype=np.int64)

    def first_seen(self, keys: list[int], numbers: list[int]) -> np.ndarray:
        """For each (key, feature number) of a batch, in file order: the number of the feature the key was first
        met on (itself when new); the batch's new keys are remembered."""
        if not keys:
            return np.empty(0, dtype=np.int64)
        batch, own = np.array(keys, dtype=np.uint64), np.array(numbers, dtype=np.int64)
        first = own.copy()
        where = np.minimum(np.searchsorted(self.keys, batch), max(len(self.keys) - 1, 0))
        known = (self.keys[where] == batch) if len(self.keys) else np.zeros(len(batch), dtype=bool)
        first[known] = self.numbers[where[known]]
        fresh = ~known
        unique, at, inverse = np.unique(batch[fresh], return_index=True, return_inverse=True)
        first[fresh] = own[fresh][at][inverse]  # a key met twice in the batch: its first feature in the batch
        merged = np.concatenate([self.keys, unique])
        order = np.argsort(merged, kind="stable")  # two sorted runs: merged in linear time
        self.keys = merged[order]
        self.numbers = np.concatenate([self.numbers, own[fresh][at]])[order]
        return first


@dataclass
class PreparedRow:
    """A row on its way into the register: what it became, or why it cannot."""

    row: Row | None  # the file's row (dropped once accepted)
    asset: LandAsset | None = None  # built by the register's rules (None when refused before the field checks)
    target: LandAsset | None = None  # the register's asset it updates; None: a new asset
    target_version: int | None = None  # the version of the asset it updates, when checked
    failures: list[tuple[str, str]] = field(default_factory=list)  # (field, message)
    certificate: Certificate | None = None  # the certificate the row brings, when one is created
    before: dict[str, Any] | None = None  # an update: the register's values before it (the preview's diff)


@dataclass(slots=True)
class NewRow:
    """A checked new asset kept for the write as the plain values its COPY sends (lib.copy_insert.staged_values),
    with its certificate's when it brings one: at 1M rows, pickling model instances into the staging file and back
    was a fifth of an import's CPU. Used where copy_insert is supported; elsewhere the PreparedRow is kept."""

    label: str  # str(asset), for the report's list of created assets
    asset: list[Any]
    certificate: list[Any] | None = None  # its asset_id is set at the write, once the asset has its id
    stage: str = ""
    stage_since: Any = None


@dataclass(frozen=True)
class _Matches:
    by_key: dict[tuple[str, str], LandAsset]
    by_nibar: dict[str, LandAsset]


class RegisterChanged(Exception):
    """The register changed between the check of a file and its write; the message says which asset."""


class Writer:
    """Checks rows against the register batch by batch (reads only), then writes the checked batches (inside the
    caller's transaction)."""

    def __init__(self, *, user: User | None, report: ImportReport):
        self.user, self.report = user, report
        self.update_mode = report.update_mode
        self.overlaps = OverlapCheck(report)
        self.agencies = {pk: str(a) for pk, a in Agency.objects.in_bulk().items()}
        self.index = services.kelurahan_index()
        self.seen_keys, self.seen_nibar = _SeenKeys(), _SeenKeys()
        self.today = timezone.localdate()
        self.clean_cache: dict = {}  # field checks per distinct value, for the whole file (services.clean_asset)

    def _without_in_file_duplicates(self, rows: list[Row]) -> list[Row]:
        """The rows whose kode barang/register and NIBAR no earlier feature of the file has; the others reported."""
        numbers = [row.number for row in rows]
        registers = [str(row.asset_fields["nomor_register"]).zfill(4) for row in rows]
        first_key = self.seen_keys.first_seen(
            [_key(row.asset_fields["kode_barang"], register) for row, register in zip(rows, registers, strict=True)],
            numbers,
        ).tolist()
        with_nibar = [i for i, row in enumerate(rows) if row.asset_fields["nibar"]]
        first_nibar = dict(zip(with_nibar, self.seen_nibar.first_seen(
            [_key("nibar", rows[i].asset_fields["nibar"]) for i in with_nibar], [numbers[i] for i in with_nibar]
        ).tolist(), strict=True))  # fmt: skip
        kept = []
        for i, row in enumerate(rows):
            fields, duplicate = row.asset_fields, False
            if first_key[i] != row.number:
                self.report.add_error(row.number, "nomor_register",
                    _("Duplicate of %(first)s inside the file (kode barang %(kode)s, register %(reg)s).")
                    % {"first": self.report.place(first_key[i], start=False), "kode": fields["kode_barang"],
                       "reg": registers[i]})  # fmt: skip
                duplicate = True
            if first_nibar.get(i, row.number) != row.number:
                self.report.add_error(row.number, "nibar",
                    _("NIBAR %(nibar)s is also on %(first)s of the file.")
                    % {"nibar": fields["nibar"], "first": self.report.place(first_nibar[i], start=False)})  # fmt: skip
                duplicate = True
            if not duplicate:
                kept.append(row)
        return kept

    def check(self, rows: list[Row]) -> list[PreparedRow | NewRow]:
        """Check a batch of rows against the file's earlier rows and the register (reads only), report them, and
        give the accepted ones, ready for :meth:`write`."""
        rows = self._without_in_file_duplicates(rows)
        if not rows:
            return []
        matches = self._match_existing(rows)
        geometries = self._prepare_geometries(rows)
        prepared = [self._build(position, row, matches, geometries) for position, row in enumerate(rows)]
        self._check(prepared)
        accepted = self._report(prepared)
        for entry in accepted:
            entry.row = entry.before = None  # no longer needed: the asset carries everything to write
        if not copy_insert.supported():
            return accepted
        return [self._staged(entry) if entry.target is None else entry for entry in accepted]

    @staticmethod
    def _staged(entry: PreparedRow) -> NewRow:
        """A new asset's row as the plain values its write sends (no model instance waits for the write)."""
        asset, certificate = entry.asset, entry.certificate
        assert asset is not None  # noqa: S101 - an accepted row has its asset
        if certificate is None:
            return NewRow(str(asset), copy_insert.staged_values(LandAsset, asset))
        return NewRow(str(asset), copy_insert.staged_values(LandAsset, asset),
                      copy_insert.staged_values(Certificate, certificate), certificate.stage,
                      certificate.stage_since)  # fmt: skip

    def _match_existing(self, rows: list[Row]) -> _Matches:
        """The register's assets the rows name, by kode barang/register and by NIBAR."""
        pairs = {(r.asset_fields["kode_barang"], str(r.asset_fields["nomor_register"]).zfill(4)) for r in rows}
        nibars = {r.asset_fields["nibar"] for r in rows if r.asset_fields["nibar"]}
        by_key = {}
        # Two queries, each on its own unique index (an OR of both made PostgreSQL scan the table: ~1.6 s per
        # 10,000 features on a growing register)
        for a in _existing_assets(("kode_barang", "nomor_register"), pairs):
            by_key[(a.kode_barang, a.nomor_register)] = a
        for a in _existing_assets(("nibar",), [(nibar,) for nibar in nibars]):
            by_key.setdefault((a.kode_barang, a.nomor_register), a)
        return _Matches(by_key, {a.nibar: a for a in by_key.values() if a.nibar})

    def _prepare_geometries(self, rows: list[Row]) -> dict[int, PreparedParcel | GeometryError]:
        """The geometry rules, GIS area and kelurahan of the batch's located rows at once (vectorised, geo), by
        the row's position in the batch."""
        located = [i for i, r in enumerate(rows) if r.geom is not None]
        if not located:
            return {}
        parcels, messages = services.prepare_parcels(
            [rows[i].geom for i in located], srid=STORAGE_SRID, index=self.index
        )
        return {
            i: parcel if message is None else GeometryError(message)  # type: ignore[misc]
            for i, parcel, message in zip(located, parcels, messages, strict=True)
        }

    def _build(
        self, position: int, row: Row, matches: _Matches, geometries: dict[int, PreparedParcel | GeometryError]
    ) -> PreparedRow:
        """The row's asset, new or the register's one it updates, built by the register's rules without the field
        checks (those run for the whole batch in _check); a conflict or a refused geometry fails the row."""
        fields = dict(row.asset_fields)
        key = (fields["kode_barang"], str(fields["nomor_register"]).zfill(4))
        match_key = matches.by_key.get(key)
        match_nibar = matches.by_nibar.get(fields["nibar"]) if fields["nibar"] else None
        if match_key and match_nibar and match_key.pk != match_nibar.pk:
            return PreparedRow(row, failures=[("nibar",
                _("Conflict: kode barang/register match asset %(a)s but NIBAR %(nibar)s belongs to asset %(b)s.")
                % {"a": match_key, "nibar": fields["nibar"], "b": match_nibar})])  # fmt: skip
        target = match_key or match_nibar
        if target is not None and target.nibar and fields["nibar"] is None:
            fields["nibar"] = target.nibar  # an empty NIBAR in the file does not erase the register's
        if target is not None and not match_key and key in matches.by_key:
            return PreparedRow(row, failures=[("nomor_register",
                _("Conflict: NIBAR %(nibar)s is asset %(a)s, but kode barang/register %(k)s/%(r)s is another asset.")
                % {"nibar": fields["nibar"], "a": target, "k": key[0], "r": key[1]})])  # fmt: skip
        geom: Any = geometries.get(position)
        before = None
        if target is not None:
            kept = target.tanggal_perolehan if "tanggal_perolehan" not in fields else None  # the file has no date
            if kept is not None and fields.get("tahun_perolehan", kept.year) != kept.year:
                fields["tanggal_perolehan"] = None  # the file's year wins over the register's date it contradicts
            # what the preview compares with; asset_prepare changes ``target`` in place
            before = {name: getattr(target, name) for name in fields}
            before["geom"], before["luas_gis_m2"] = target.geom, target.luas_gis_m2
            if self.update_mode == UpdateMode.GEOMETRY:
                fields = {}  # the register's attributes stay
            elif self.update_mode == UpdateMode.ATTRIBUTES:
                geom = ...  # the register's geometry stays
        if target is not None and not row.has_geometry and self.update_mode != UpdateMode.ATTRIBUTES:
            geom = ...  # never replace a located geometry with an empty one
            if target.geom is not None:
                self.report.warnings.append(
                    _("%(place)s has no geometry: asset %(a)s keeps its located geometry.")
                    % {"place": self.report.place(row.number), "a": target}
                )
        version = target.version if target is not None else None  # asset_prepare moves it on
        try:
            asset = services.asset_prepare(user=self.user, instance=target, geom=geom, srid=STORAGE_SRID,
                                           index=self.index, clean=False, **fields)  # fmt: skip
        except PermissionDenied as exc:
            return PreparedRow(row, failures=[("agency", str(exc))])
        except ValidationError as exc:
            return PreparedRow(row, failures=_messages(exc))
        return PreparedRow(row, asset=asset, target=target, target_version=version, before=before)

    def _check(self, prepared: list[PreparedRow]) -> None:
        """The field checks of the built assets, then of the certificates of the rows that bring one, each for the
        whole batch at once (lib.bulk_clean: what full_clean would say, per distinct value)."""
        built = [p for p in prepared if p.asset is not None]
        for entry, error in zip(built, services.clean_assets([p.asset for p in built], cache=self.clean_cache),
                                strict=True):  # fmt: skip
            if error is not None:
                entry.failures.extend(_messages(error))
        # A row's certificate is created only for a new asset or one that has none yet
        wanted = [p for p in built if not p.failures and p.row.certificate and (p.target is None or (
            self.update_mode != UpdateMode.GEOMETRY and not p.target.certificates.exists()))]  # fmt: skip
        for entry in wanted:
            entry.certificate = self._certificate(entry.row)
        errors = bulk_clean.clean_instances([p.certificate for p in wanted], exclude=frozenset({"asset"}),
                                          cache=self.clean_cache)  # fmt: skip
        for entry, error in zip(wanted, errors, strict=True):
            if error is not None:
                entry.failures.extend((f"certificate.{name}", message) for name, message in _messages(error))

    def _report(self, prepared: list[PreparedRow]) -> list[PreparedRow]:
        """Report the rows in file order (errors, counts, preview); the accepted rows, their derived certificate
        status set from the certificate they bring."""
        accepted = []
        # (feature, label, outline, asset updated); a new asset's outline is its hex EWKB until all are parsed at once
        parcels: list[tuple[int, str, Any, int | None]] = []
        for entry in prepared:
            for name, message in entry.failures:
                self.report.add_error(entry.row.number, name, message)
            if entry.failures:
                continue
            asset = entry.asset
            moved = None  # the row's new or changed outline, for the overlap check
            if entry.target is not None:
                fields, moved = self._diff(entry)
                if not fields:
                    self.report.unchanged += 1
                    continue  # nothing to write
                self.report.add_change({"n": entry.row.number, "asset_id": asset.pk, "label": str(asset),
                                        "fields": fields})  # fmt: skip
            accepted.append(entry)
            if entry.certificate is not None:
                status = rules.derive_certificate_status([(entry.certificate.stage, bool(entry.certificate.nomor))])
                # an existing asset gets a certificate only when it has none: its flag then came from an open case
                case_flag = entry.target is not None and asset.bermasalah
                asset.status_sertifikat, asset.tahap_sertifikat, asset.bermasalah = status
                asset.bermasalah = asset.bermasalah or case_flag
            stored = asset.__dict__.get("geom")  # the stored value: no GEOS object built per asset
            if stored is None:
                self.report.without_geometry += 1
            if entry.target is None and isinstance(stored, str):
                moved = stored
            if moved is not None:
                parcels.append((entry.row.number, str(asset), moved, entry.target.pk if entry.target else None))
            if len(self.report.preview) < 500 and stored is not None:
                self.report.preview.append({
                    "n": entry.row.number, "label": str(asset), "geometry": json.loads(asset.geom.json),
                    "kind": "new" if entry.target is None else "update",
                    "asset_id": entry.target.pk if entry.target is not None else None,
                })  # fmt: skip
        hexes = [i for i, parcel in enumerate(parcels) if isinstance(parcel[2], str)]
        for i, shape in zip(hexes, shapely.from_wkb([parcels[i][2] for i in hexes]), strict=True):
            parcels[i] = (parcels[i][0], parcels[i][1], shape, parcels[i][3])
        self.overlaps.add(parcels)
        self.report.created += sum(1 for p in accepted if p.target is None)
        self.report.updated += sum(1 for p in accepted if p.target is not None)
        return accepted

    def _diff(self, entry: PreparedRow) -> tuple[list[dict[str, str]], shapely.Geometry | None]:
        """An update's changed fields, before → after as the register shows them, and its new outline when the
        geometry changes (None otherwise)."""
        before, asset = entry.before or {}, entry.asset
        changed = []
        for name, old in before.items():
            if name in ("geom", "luas_gis_m2"):
                continue
            new = getattr(asset, name)
            if old != new and not (old in (None, "") and new in (None, "")):
                changed.append({"field": name, "label": field_label(name),
                                "before": display_value(name, old, self.agencies),
                                "after": display_value(name, new, self.agencies)})  # fmt: skip
        stored = asset.__dict__.get("geom")
        moved = None
        if isinstance(stored, str):  # the row brings a geometry (hex EWKB, from prepare_parcels)
            new_shape = shapely.from_wkb(stored)
            old_shape = to_shapely(before["geom"]) if before.get("geom") is not None else None
            same = old_shape is not None and shapely.equals_exact(
                shapely.normalize(old_shape), shapely.normalize(new_shape), tolerance=SAME_GEOMETRY_DEGREES
            )
            if not same:
                moved = new_shape
                old_area, new_area = before.get("luas_gis_m2"), asset.luas_gis_m2
                delta = (new_area or 0) - (old_area or 0)
                sign = "+" if delta >= 0 else "−"
                changed.append({"field": "geom", "label": field_label("geom"),
                                "before": display_value("luas_gis_m2", old_area),
                                "after": _("%(area)s (geometry changed, %(sign)s%(delta)s)") % {
                                    "area": display_value("luas_gis_m2", new_area), "sign": sign,
                                    "delta": display_value("luas_gis_m2", abs(delta))}})  # fmt: skip
        if entry.certificate is not None:
            changed.append({"field": "certificate", "label": field_label("certificate"), "before": "—",
                            "after": str(entry.certificate)})  # fmt: skip
        return changed, moved

    def finish(self) -> None:
        """After the last batch: the overlaps (over the register, and between the file's own parcels)."""
        self.overlaps.finish()

    def write(self, accepted: list[PreparedRow | NewRow]) -> None:
        """Write checked rows, inside the caller's transaction: new assets and the certificates by COPY on
        PostgreSQL and one executemany INSERT on SQLite (lib.copy_insert), each with its history row naming the file;
        updates by save(), each refused if the asset changed since it was checked; each certificate's first stage
        event."""
        reason = _("Imported from %(file)s") % {"file": self.report.source}
        self._write_new([e for e in accepted if isinstance(e, NewRow)], reason)
        self._write_built([e for e in accepted if isinstance(e, PreparedRow)], reason)

    def _write_new(self, rows: list[NewRow], reason: str) -> None:
        """New assets staged as plain values (NewRow), their certificates and first stage events."""
        if not rows:
            return
        user_id = self.user.pk if self.user is not None else None
        asset_ids = copy_insert.copy_staged_with_history(LandAsset, [r.asset for r in rows], user_id=user_id,
                                                         reason=reason)  # fmt: skip
        for row, pk in zip(rows, asset_ids, strict=True):
            if len(self.report.created_assets) >= MAX_LISTED:
                break
            self.report.created_assets.append([pk, row.label])
        with_certificate = [(row, pk) for row, pk in zip(rows, asset_ids, strict=True) if row.certificate is not None]
        at = copy_insert.staged_position(Certificate, "asset_id")
        for row, pk in with_certificate:
            row.certificate[at] = pk  # type: ignore[index]  # with_certificate: not None
        certificate_ids = copy_insert.copy_staged_with_history(
            Certificate, [row.certificate for row, _pk in with_certificate],  # type: ignore[misc]
            user_id=user_id, reason=reason,
        )  # fmt: skip
        now = timezone.now()
        copy_insert.copy_rows(CertificateStageEvent, EVENT_COLUMNS, (
            (pk, "", row.stage, row.stage_since, "", reason, user_id, now)
            for (row, _asset), pk in zip(with_certificate, certificate_ids, strict=True)
        ))  # fmt: skip
        self.report.certificates += len(certificate_ids)

    def _write_built(self, accepted: list[PreparedRow], reason: str) -> None:
        """Rows kept as model instances: updates, and new assets where copy_insert is not supported."""
        if not accepted:
            return
        self._refuse_changed(accepted)
        new_assets = [p.asset for p in accepted if p.target is None]
        certificates = [(p.asset, p.certificate) for p in accepted if p.certificate is not None]
        for obj in [p.asset for p in accepted] + [c for _a, c in certificates]:
            obj._history_user, obj._change_reason = self.user, reason  # read by simple_history and copy_insert
        if new_assets and copy_insert.supported():
            copy_insert.copy_insert_with_history(LandAsset, new_assets)
        elif new_assets:
            bulk_create_with_history(new_assets, LandAsset, batch_size=500)
        for asset in new_assets:
            if len(self.report.created_assets) >= MAX_LISTED:
                break
            self.report.created_assets.append([asset.pk, str(asset)])
        for entry in accepted:
            if entry.target is not None:
                entry.asset.save()
        for asset, certificate in certificates:
            certificate.asset = asset
        if copy_insert.supported():  # COPY / executemany (assets/lib/copy_insert.py): the same rows, much faster
            copy_insert.copy_insert_with_history(Certificate, [c for _a, c in certificates])
        else:
            bulk_create_with_history([c for _a, c in certificates], Certificate, batch_size=500)
        user_id = self.user.pk if self.user is not None else None
        # Each certificate's first stage event, built once the certificates have their ids: plain rows for COPY (no
        # model instance per event), model instances only for bulk_create
        columns = EVENT_COLUMNS
        now = timezone.now()
        events = [(c.pk, "", c.stage, c.stage_since, "", reason, user_id, now) for _a, c in certificates]
        if copy_insert.supported():
            copy_insert.copy_rows(CertificateStageEvent, columns, events)
        else:
            CertificateStageEvent.objects.bulk_create(
                [CertificateStageEvent(**dict(zip(columns, event, strict=True))) for event in events]
            )
        self.report.certificates += len(certificates)

    def _refuse_changed(self, accepted: list[PreparedRow]) -> None:
        """The assets to update are locked; one changed by someone else since the import checked it ends the
        import (nothing written), rather than silently overwriting that change."""
        expected = {p.asset.pk: p.target_version for p in accepted if p.target_version is not None}
        if not expected:
            return
        stored = dict(LandAsset.objects.select_for_update().filter(pk__in=list(expected)).values_list("pk", "version"))
        for pk, version in expected.items():
            if stored.get(pk) != version:
                asset = next(p.asset for p in accepted if p.asset.pk == pk)
                raise RegisterChanged(
                    _("Asset %(asset)s was changed by someone else while the file was being checked; nothing was "
                      "written. Run the import again.") % {"asset": asset}
                )  # fmt: skip

    def _certificate(self, row: Row) -> Certificate:
        """The row's certificate, not yet checked (the batch's certificates are checked together)."""
        data = dict(row.certificate or {})
        stage_since = data.get("tanggal") if data["stage"] == Stage.SERTIFIKAT_TERBIT and data.get("tanggal") else None
        return new_instance(Certificate, {**data, "stage_since": stage_since or self.today})


# A certificate's first stage event, as the import writes it
EVENT_COLUMNS = ["certificate_id", "from_stage", "to_stage", "tanggal", "nomor_dokumen", "catatan", "user_id",
                 "created_at"]  # fmt: skip


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for each message of a model's ValidationError."""
    return [(name, message) for name, messages in error.message_dict.items() for message in messages]


class StagedRows:
    """The checked rows of an import, kept until its one write: in memory, then in a temporary file once the import
    is large (memory stays flat in N). Reading, checking and writing apart means the write transaction is short:
    on SQLite the register's single write lock is held while the rows go in, not while the file is read."""

    def __init__(self, rows_in_memory: int = 20_000):
        self.rows_in_memory = rows_in_memory
        self.batches: list[list[PreparedRow | NewRow]] = []
        self.rows = 0
        self.file: Any = None

    def add(self, batch: list[PreparedRow | NewRow]) -> None:
        if not batch:
            return
        self.rows += len(batch)
        if self.file is None and self.rows <= self.rows_in_memory:
            self.batches.append(batch)
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="sipanah-import-")  # noqa: SIM115 - closed by close()
        pickle.dump(batch, self.file, protocol=pickle.HIGHEST_PROTOCOL)

    def __iter__(self) -> Iterator[list[PreparedRow | NewRow]]:
        yield from self.batches
        if self.file is not None:
            self.file.seek(0)
            while True:
                try:
                    yield pickle.load(self.file)  # noqa: S301 - our own rows, written above in this process
                except EOFError:
                    return

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
