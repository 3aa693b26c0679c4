"""Rows checked against the register and written in batches, inside the import's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from assets.lib import copy_insert
from assets.register import rules, services
from assets.register.geo import STORAGE_SRID, GeometryError
from assets.register.models import (
    Certificate,
    CertificateStageEvent,
    LandAsset,
    Stage,
    User,
)
from assets.transfer.importing.reader import Row
from assets.transfer.importing.report import ImportReport


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


class Writer:
    """Checks rows against the register and writes them in batches (inside the caller's transaction)."""

    def __init__(self, *, user: User | None, report: ImportReport, write: bool):
        self.user, self.report, self.write = user, report, write
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

    def batch(self, rows: list[Row]) -> None:
        rows = self._without_in_file_duplicates(rows)
        if not rows:
            return
        pairs = {(r.asset_fields["kode_barang"], str(r.asset_fields["nomor_register"]).zfill(4)) for r in rows}
        nibars = {r.asset_fields["nibar"] for r in rows if r.asset_fields["nibar"]}
        by_key = {}
        # Two queries, each on its own unique index (an OR of both made PostgreSQL scan the table: ~1.6 s per
        # 10,000 features on a growing register)
        for a in _existing_assets(("kode_barang", "nomor_register"), pairs):
            by_key[(a.kode_barang, a.nomor_register)] = a
        for a in _existing_assets(("nibar",), [(nibar,) for nibar in nibars]):
            by_key.setdefault((a.kode_barang, a.nomor_register), a)
        by_nibar = {a.nibar: a for a in by_key.values() if a.nibar}
        # The geometry rules, GIS area and kelurahan for the whole batch at once (vectorised, assets.geo)
        located = [i for i, r in enumerate(rows) if r.geom is not None]
        prepared_geoms: dict[int, Any] = {}
        if located:
            prepared, messages = services.prepare_parcels(
                [rows[i].geom for i in located], srid=STORAGE_SRID, index=self.index
            )
            for i, parcel, message in zip(located, prepared, messages, strict=True):
                prepared_geoms[i] = parcel if message is None else GeometryError(message)
        # First every row's asset is built (conflicts, agency, geometry); then the field checks run for the whole
        # batch at once (services.clean_assets, then the certificates'), and the rows are reported in file order.
        prepared: list[tuple[Row, LandAsset | None, LandAsset | None, list[tuple[str, str]]]] = []
        for position, row in enumerate(rows):
            fields = dict(row.asset_fields)
            key = (fields["kode_barang"], str(fields["nomor_register"]).zfill(4))
            match_key, match_nibar = by_key.get(key), by_nibar.get(fields["nibar"]) if fields["nibar"] else None
            if match_key and match_nibar and match_key.pk != match_nibar.pk:
                prepared.append((row, None, None, [("nibar",
                    _("Conflict: kode barang/register match asset %(a)s but NIBAR %(nibar)s belongs to asset %(b)s.")
                    % {"a": match_key, "nibar": fields["nibar"], "b": match_nibar})]))  # fmt: skip
                continue
            target = match_key or match_nibar
            if target is not None and target.nibar and fields["nibar"] is None:
                fields["nibar"] = target.nibar  # an empty NIBAR in the file does not erase the register's
            if target is not None and not match_key and key in by_key:
                prepared.append((row, None, None, [("nomor_register",
                    _("Conflict: NIBAR %(nibar)s is asset %(a)s, but kode barang/register %(k)s/%(r)s is another "
                      "asset.")
                    % {"nibar": fields["nibar"], "a": target, "k": key[0], "r": key[1]})]))  # fmt: skip
                continue
            geom: Any = prepared_geoms.get(position)
            if target is not None and not row.has_geometry:
                geom = ...  # never replace a located geometry with an empty one
                if target.geom is not None:
                    self.report.warnings.append(
                        _("%(place)s has no geometry: asset %(a)s keeps its located geometry.")
                        % {"place": self.report.place(row.number), "a": target}
                    )
            try:
                asset = services.asset_prepare(user=self.user, instance=target, geom=geom, srid=STORAGE_SRID,
                                               index=self.index, clean=False, **fields)  # fmt: skip
            except PermissionDenied as exc:
                prepared.append((row, None, None, [("agency", str(exc))]))
                continue
            except ValidationError as exc:
                prepared.append((row, None, None, _messages(exc)))
                continue
            prepared.append((row, asset, target, []))
        checked = [entry for entry in prepared if entry[1] is not None]
        for entry, error in zip(checked, services.clean_assets([e[1] for e in checked], cache=self.clean_cache),
                                strict=True):  # fmt: skip
            if error is not None:
                entry[3].extend(_messages(error))
        wanted = [entry for entry in checked if not entry[3] and entry[0].certificate
                  and (entry[2] is None or not entry[2].certificates.exists())]  # fmt: skip
        built = {id(entry): self._certificate(entry[0]) for entry in wanted}
        cert_errors = services.clean_instances(list(built.values()), exclude=frozenset({"asset"}),
                                               cache=self.clean_cache)  # fmt: skip
        for entry, error in zip(wanted, cert_errors, strict=True):
            if error is not None:
                entry[3].extend((f"certificate.{name}", message) for name, message in _messages(error))
        new_assets: list[tuple[LandAsset, Row]] = []
        updates: list[tuple[LandAsset, Row]] = []
        for entry in prepared:
            row, asset, target, failures = entry
            for name, message in failures:
                self.report.add_error(row.number, name, message)
            if failures:
                continue
            certificate = built.get(id(entry))
            if target is None:
                new_assets.append((asset, row))
            else:
                updates.append((asset, row))
            if certificate is not None:
                status = rules.derive_certificate_status([(certificate.stage, bool(certificate.nomor))])
                asset.status_sertifikat, asset.tahap_sertifikat, asset.bermasalah = status
                row.certificate = {"object": certificate}
            else:
                row.certificate = None
            has_geom = asset.__dict__.get("geom") is not None  # the stored value: no GEOS object built per asset
            if not has_geom:
                self.report.without_geometry += 1
            if len(self.report.preview) < 500 and has_geom:
                self.report.preview.append(
                    {"n": row.number, "label": str(asset), "geometry": json.loads(asset.geom.json)}
                )
        self.report.created += len(new_assets)
        self.report.updated += len(updates)
        if not self.write or self.report.error_count:
            return  # nothing more will be written: the transaction is rolled back anyway
        reason = _("Imported from %(file)s") % {"file": self.report.source}
        certificates = [(a, r.certificate["object"]) for a, r in new_assets + updates if r.certificate]
        for obj in [a for a, _row in new_assets + updates] + [c for _a, c in certificates]:
            obj._history_user, obj._change_reason = self.user, reason  # read by simple_history and copy_insert
        if new_assets and copy_insert.supported():
            copy_insert.copy_insert_with_history(LandAsset, [a for a, _row in new_assets])
        elif new_assets:
            bulk_create_with_history([a for a, _row in new_assets], LandAsset, batch_size=500)
        for asset, _row in updates:
            asset.save()
        for asset, certificate in certificates:
            certificate.asset = asset
        if copy_insert.supported():  # PostgreSQL: COPY (assets/copy_insert.py); the same rows, much faster
            copy_insert.copy_insert_with_history(Certificate, [c for _a, c in certificates])
        else:
            bulk_create_with_history([c for _a, c in certificates], Certificate, batch_size=500)
        user_id = self.user.pk if self.user is not None else None
        # Each certificate's first stage event, built once the certificates have their ids: plain rows for COPY (no
        # model instance per event), model instances only for bulk_create
        columns = ["certificate_id", "from_stage", "to_stage", "tanggal", "nomor_dokumen", "catatan", "user_id",
                   "created_at"]  # fmt: skip
        now = timezone.now()
        events = [(c.pk, "", c.stage, c.stage_since, "", reason, user_id, now) for _a, c in certificates]
        if copy_insert.supported():
            copy_insert.copy_rows(CertificateStageEvent, columns, events)
        else:
            CertificateStageEvent.objects.bulk_create(
                [CertificateStageEvent(**dict(zip(columns, event, strict=True))) for event in events]
            )
        self.report.certificates += len(certificates)

    def _certificate(self, row: Row) -> Certificate:
        """The row's certificate, not yet checked (the batch's certificates are checked together)."""
        data = dict(row.certificate or {})
        stage_since = data.get("tanggal") if data["stage"] == Stage.SERTIFIKAT_TERBIT and data.get("tanggal") else None
        return Certificate(stage_since=stage_since or self.today, **data)


def _messages(error: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for each message of a model's ValidationError."""
    return [(name, message) for name, messages in error.message_dict.items() for message in messages]
