"""Writes of the ledger room: starting a reconciliation run, deciding on its lines, closing and reopening it.

A run stores the official snapshot in its own tables and never touches the register. Only a decision to accept
an official value writes to it, through assets.register.services (the register's rules, its permission checks,
optimistic version), with a history row whose reason names the run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from assets.ledger import matching, rules, selectors, transfers
from assets.ledger.models import Category, Decision, Method, OfficialRow, ReconciliationItem, ReconciliationRun
from assets.ledger.reading import read_snapshot
from assets.lib import copy_insert
from assets.register import services as register
from assets.register.models import LandAsset, Stage, User

BATCH = 2000


def _require(user: User | None) -> None:
    if user is not None and not rules.can_reconcile(user):
        raise PermissionDenied(_("Only BPKAD and administrators run reconciliations and decide on them."))


require_reconciler = _require


def _require_open(run: ReconciliationRun) -> None:
    if run.status != ReconciliationRun.Status.OPEN:
        raise ValidationError(_("This run is closed: reopen it to decide on its lines."))


def start_run(path: Path, *, user: User | None, name: str = "", system: str = "", snapshot_date: Any = None,
              note: str = "") -> ReconciliationRun:  # fmt: skip
    """Read the official export (ImportFileError when the whole file is refused), store it as the run's snapshot
    and match it against the live register, now (the command line; a web upload goes through
    assets.ledger.jobs and the worker). Nothing of the register is written."""
    _require(user)
    with transaction.atomic():
        run = ReconciliationRun.objects.create(
            source_name=name or path.name, system=system, snapshot_date=snapshot_date, note=note, created_by=user,
            state=ReconciliationRun.State.RUNNING, started_at=timezone.now(),
        )  # fmt: skip
        read_and_match(run, path, name=name or path.name)
    return run


def read_and_match(run: ReconciliationRun, path: Path, *, name: str) -> None:
    """Read the file into the run's snapshot, batch by batch (never the whole file in memory), then match it;
    the run is ready afterwards. Call inside a transaction: a refused file (ImportFileError) leaves nothing."""

    def store(batch: list[dict[str, Any]]) -> None:
        _insert(OfficialRow, [OfficialRow(run=run, **fields) for fields in batch])

    snapshot = read_snapshot(path, name=name, sink=store)
    run.file_format, run.read_report, run.official_rows = snapshot.report.format, snapshot.summary(), snapshot.count
    run.save(update_fields=["file_format", "read_report", "official_rows"])
    match_run(run)
    run.state, run.finished_at = ReconciliationRun.State.READY, timezone.now()
    run.save(update_fields=["state", "finished_at"])


def match_run(run: ReconciliationRun) -> None:
    """Match the run's official rows (stored) against the live register and store one line per pair or lone row.

    Steps 1 and 2 (NIBAR, kode barang + register number) are joins in the database, read through a server-side
    cursor in chunks: each chunk's rows and assets are read, compared and written, then dropped, so memory does
    not grow with the register. Step 3 (likely pairs) works in memory on what is left unpaired only."""
    started = time.monotonic()
    for method in (Method.NIBAR, Method.KODE_REGISTER):
        selectors.analyze()
        sql, params = selectors.pairs_sql(run, method)
        for chunk in selectors.stream(sql, params):
            _write_pairs(run, chunk, method)
    selectors.analyze()  # the lines just written: the anti-joins below are planned for them
    rest = selectors.unpaired_official(run)
    free = selectors.unpaired_assets(run)
    _write_items(run, matching.propose(rest, free))
    run.register_rows = LandAsset.objects.filter(removed_at__isnull=True).count()
    run.match_seconds = round(time.monotonic() - started, 3)
    run.save(update_fields=["register_rows", "match_seconds"])


def _write_pairs(run: ReconciliationRun, chunk: list[tuple[int, int]], method: str) -> None:
    """One chunk of (official row, asset) found by a join: each asset and each row paired once (the first row of
    the official order wins; the query orders by asset, then row)."""
    # rows and assets paired already: by NIBAR before, by an earlier chunk (an asset's rows can straddle two
    # chunks), or when two assets' register numbers read the same ("7" and "0007")
    done = list(ReconciliationItem.objects.filter(  # by the two foreign keys' indexes (a row is of one run)
        Q(official_id__in=[o for o, _a in chunk]) | Q(asset_id__in=[a for _o, a in chunk], run=run)
    ).values_list("official_id", "asset_id"))  # fmt: skip
    rows_taken = {o for o, _a in done}
    assets_taken = {a for _o, a in done}
    wanted: list[tuple[int, int]] = []
    for official_id, asset_id in chunk:
        if official_id in rows_taken or asset_id in assets_taken:
            continue
        rows_taken.add(official_id)
        assets_taken.add(asset_id)
        wanted.append((official_id, asset_id))
    if not wanted:
        return
    rows = {r.id: r for r in selectors.official_records([o for o, _a in wanted])}
    assets = {r.id: r for r in selectors.register_records(pks=[a for _o, a in wanted])}
    pairs = []
    for official_id, asset_id in wanted:
        row, asset = rows[official_id], assets[asset_id]
        pairs.append(matching.Pair(official_id, asset_id, method, None, matching.differences(row, asset),
                                   asset.agency, asset.nilai_perolehan))  # fmt: skip
    _write_items(run, pairs)


def _write_items(run: ReconciliationRun, pairs: list[matching.Pair]) -> None:
    items = [
        ReconciliationItem(
            run=run,
            official_id=p.official,
            asset_id=p.asset,
            method=p.method,
            score=p.score,
            differences=p.differences,
            agency_id=p.agency,
            category=_category(p),
            sipanah_nilai=p.sipanah_nilai,
        )  # fmt: skip
        for p in pairs
    ]
    for line in items:
        line.resolved = line.category == Category.EQUAL
    _insert(ReconciliationItem, items)


def _insert(model: Any, objs: list[Any]) -> None:
    """Many new rows at once: COPY on PostgreSQL, one executemany INSERT on SQLite (assets.lib.copy_insert)."""
    if copy_insert.supported():
        copy_insert.copy_insert(model, objs)
    else:  # pragma: no cover - both supported databases take the path above
        model.objects.bulk_create(objs, batch_size=BATCH)


def _category(pair: matching.Pair) -> str:
    if pair.official is None:
        return Category.ONLY_SIPANAH
    if pair.asset is None:
        return Category.ONLY_OFFICIAL
    if pair.method == Method.PROPOSED:
        return Category.PROPOSED
    return Category.DIFFERS if pair.differences else Category.EQUAL


def history_reason(run: ReconciliationRun, field: str) -> str:
    """The change reason of a history row written by a decision (at most 100 characters)."""
    return (_("Reconciliation run #%(run)s: official %(field)s") % {"run": run.pk, "field": field})[:100]


def _locked_item(item: ReconciliationItem) -> ReconciliationItem:
    locked = (
        ReconciliationItem.objects.select_for_update(of=("self",)).select_related("run", "official").get(pk=item.pk)
    )
    if not locked.active:
        raise ValidationError(_("This line was replaced by another (paired or unpaired); open the new line."))
    _require_open(locked.run)
    return locked


@transaction.atomic
def accept_official(*, item: ReconciliationItem, field: str, user: User | None) -> Decision:
    """Write the official value of ``field`` into Sipanah, through the register's services."""
    _require(user)
    item = _locked_item(item)
    if item.category not in (Category.DIFFERS, Category.EQUAL) or item.asset_id is None or item.official is None:
        raise ValidationError(_("Only a confirmed pair has official values to accept."))
    if field not in item.differences:
        raise ValidationError(_("The field %(field)s does not differ on this line.") % {"field": field})
    row = item.official
    asset = LandAsset.objects.get(pk=item.asset_id)
    before = selectors.sipanah_value(asset, field)
    reason = history_reason(item.run, field)
    if field == "agency":  # an agency changes only through an approved transfer: the decision proposes one
        if row.agency is None:
            raise ValidationError(_("The official register gives no agency: there is nothing to accept."))
        transfer = transfers.propose(asset=asset, to_agency=row.agency, user=user, reason=reason, run=item.run)
        return _decide(
            item,
            field,
            Decision.Action.ACCEPT,
            user=user,
            official=selectors.official_value(row, field),
            sipanah=before,
            reason=_("Transfer #%(n)s proposed for BPKAD's approval") % {"n": transfer.pk},
        )
    if field in matching.CERTIFICATE_FIELDS:
        _accept_certificate(asset, row, field, user, reason)
    else:
        data: dict[str, Any]
        if field == "tahun_perolehan":
            data = {"tahun_perolehan": row.tahun_perolehan}
            if asset.tanggal_perolehan and asset.tanggal_perolehan.year != row.tahun_perolehan:
                if row.tanggal_perolehan is None or row.tanggal_perolehan.year != row.tahun_perolehan:
                    raise ValidationError(_(
                        "Sipanah's acquisition date %(date)s is in another year and the official row gives no date "
                        "in %(year)s: correct the acquisition date on the asset page."
                    ) % {"date": asset.tanggal_perolehan.isoformat(), "year": row.tahun_perolehan})  # fmt: skip
                data["tanggal_perolehan"] = row.tanggal_perolehan
        else:
            data = {field: getattr(row, field)}
        if any(value is None for value in data.values()) and field != "alamat":
            raise ValidationError(_("The official register gives no %(field)s: there is nothing to accept.")
                                  % {"field": field})  # fmt: skip
        if field == "alamat":
            data = {"alamat": row.alamat or ""}
        asset._change_reason = reason
        asset._history_user = user  # type: ignore[attr-defined]
        register.asset_update(asset=asset, user=user, data=data)
    return _decide(item, field, Decision.Action.ACCEPT, user=user, official=selectors.official_value(row, field),
                   sipanah=before)  # fmt: skip


def _accept_certificate(asset: LandAsset, row: OfficialRow, field: str, user: User | None, reason: str) -> None:
    certificate = selectors.leading_certificate(asset)
    name = {"nomor_sertifikat": "nomor", "tanggal_sertifikat": "tanggal", "jenis_hak": "jenis_hak"}[field]
    value = getattr(row, field)
    if certificate is None:
        if not (row.jenis_hak and row.nomor_sertifikat and row.tanggal_sertifikat):
            raise ValidationError(_(
                "Sipanah has no certificate for this asset and the official row does not give a whole one (type of "
                "right, number and date): add the certificate on the asset page."
            ))  # fmt: skip
        certificate = register.certificate_create(
            asset=asset, user=user, stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=row.tanggal_sertifikat,
            catatan=reason, jenis_hak=row.jenis_hak, nomor=row.nomor_sertifikat, tanggal=row.tanggal_sertifikat,
        )  # fmt: skip
        certificate.history.filter(history_type="+").update(history_change_reason=reason)
        return
    setattr(certificate, name, value if value is not None else (None if name == "tanggal" else ""))
    certificate._change_reason = reason  # type: ignore[attr-defined]
    certificate._history_user = user  # type: ignore[attr-defined]
    register.certificate_save(certificate=certificate, user=user)


def created_reason(run: ReconciliationRun, row: OfficialRow) -> str:
    """The change reason of the history row of an asset created from an official row (at most 100 characters)."""
    return (_("Reconciliation run #%(run)s: created from official row %(row)s")
            % {"run": run.pk, "row": row.number})[:100]  # fmt: skip


@transaction.atomic
def create_from_official(*, item: ReconciliationItem, user: User | None) -> Decision:
    """Accept a row found only in the official register: the asset is created in Sipanah through the register's
    entry service (its checks and permissions; its history row names the run), with the row's certificate when the
    row gives a whole one. The official export carries no geometry, so the asset is created unlocated (as the
    register allows a new asset), to be drawn on its page. ValidationError says why it cannot be created."""
    _require(user)
    item = _locked_item(item)
    if item.category != Category.ONLY_OFFICIAL or item.official is None:
        raise ValidationError(_("Only a row found only in the official register can be created in Sipanah."))
    if item.decisions.filter(action=Decision.Action.CREATE).exists():
        raise ValidationError(_("The asset was created from this row already."))
    row = item.official
    if row.agency_id is None:
        raise ValidationError(_("The official row names no agency Sipanah knows: the asset cannot be created."))
    reason = created_reason(item.run, row)
    fields = {
        "kode_barang": row.kode_barang, "nomor_register": row.nomor_register, "nibar": row.nibar or None,
        "nama_barang": row.nama_barang, "alamat": row.alamat, "agency_id": row.agency_id,
        "tanggal_perolehan": row.tanggal_perolehan, "tahun_perolehan": row.tahun_perolehan,
        "asal_usul": row.asal_usul, "nilai_perolehan": row.nilai_perolehan, "penggunaan": row.penggunaan,
        "luas_kib_m2": row.luas_kib_m2,
        "keterangan": _("Created from the official register (reconciliation run #%(run)s, row %(row)s); "
                        "no geometry yet.") % {"run": item.run_id, "row": row.number},
    }  # fmt: skip
    try:
        asset = register.asset_create(user=user, geom=None, **fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{selectors.field_label(name)}: {' '.join(messages)}" for name, messages in _error_dict(exc).items()
        )
        raise ValidationError(
            _("The asset cannot be created from this row: %(problems)s. Record a reason instead, or correct the "
              "official register.") % {"problems": problems}
        ) from None  # fmt: skip
    asset.history.filter(history_type="+").update(history_change_reason=reason, history_user=user)
    note = _("Created unlocated: the official register has no geometry.")
    if row.jenis_hak and row.nomor_sertifikat and row.tanggal_sertifikat:
        certificate = register.certificate_create(
            asset=asset, user=user, stage=Stage.SERTIFIKAT_TERBIT, tanggal_tahap=row.tanggal_sertifikat,
            catatan=reason, jenis_hak=row.jenis_hak, nomor=row.nomor_sertifikat, tanggal=row.tanggal_sertifikat,
        )  # fmt: skip
        certificate.history.filter(history_type="+").update(history_change_reason=reason)
    elif row.nomor_sertifikat or row.jenis_hak:
        note += " " + _("The row's certificate is not whole (type of right, number and date): add it on the asset "
                        "page.")  # fmt: skip
    decision = Decision.objects.create(
        run=item.run, item=item, field="", action=Decision.Action.CREATE, user=user, reason=note,
        official_value=f"{row.kode_barang}/{row.nomor_register}", sipanah_value=str(asset), created_asset=asset,
    )  # fmt: skip
    if not item.resolved:
        item.resolved = True
        item.save(update_fields=["resolved"])
    return decision


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for e in errors for m in e.messages] for name, errors in exc.error_dict.items()}
    return {"": [str(m) for m in exc.messages]}


@transaction.atomic
def keep_sipanah(*, item: ReconciliationItem, field: str, user: User | None, reason: str) -> Decision:
    """Keep Sipanah's value of ``field`` ("" = the whole line: a row on one side only), with the reason to send
    back to the BMD administrator."""
    _require(user)
    item = _locked_item(item)
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why Sipanah's value is kept (it goes to the BMD administrator).")]})
    if field and field not in item.differences:
        raise ValidationError(_("The field %(field)s does not differ on this line.") % {"field": field})
    if item.category == Category.PROPOSED:
        raise ValidationError(_("Confirm or reject the proposed pair first."))
    asset = LandAsset.objects.filter(pk=item.asset_id).first()
    return _decide(item, field, Decision.Action.KEEP, user=user, reason=reason.strip(),
                   official=selectors.official_value(item.official, field) if item.official and field else "",
                   sipanah=selectors.sipanah_value(asset, field) if asset and field else "")  # fmt: skip


@transaction.atomic
def confirm_pair(*, item: ReconciliationItem, user: User | None) -> Decision:
    _require(user)
    item = _locked_item(item)
    if item.category != Category.PROPOSED:
        raise ValidationError(_("This line is not a proposed pair."))
    item.category = Category.DIFFERS if item.differences else Category.EQUAL
    item.save(update_fields=["category"])
    return _decide(item, "", Decision.Action.CONFIRM, user=user)


@transaction.atomic
def reject_pair(*, item: ReconciliationItem, user: User | None, reason: str = "") -> Decision:
    """The proposed pair is not one: the line is replaced by the two lone rows (it stays, inactive)."""
    _require(user)
    item = _locked_item(item)
    if item.category != Category.PROPOSED:
        raise ValidationError(_("This line is not a proposed pair."))
    decision = _decide(item, "", Decision.Action.REJECT, user=user, reason=reason)
    agency_id = item.official.agency_id if item.official else None
    official = ReconciliationItem.objects.create(
        run=item.run, official=item.official, category=Category.ONLY_OFFICIAL, agency_id=agency_id
    )
    ReconciliationItem.objects.create(run=item.run, asset_id=item.asset_id, category=Category.ONLY_SIPANAH,
                                      agency_id=item.agency_id, sipanah_nilai=item.sipanah_nilai)  # fmt: skip
    item.active, item.replaced_by = False, official
    item.save(update_fields=["active", "replaced_by"])
    return decision


@transaction.atomic
def pair_by_hand(*, official_item: ReconciliationItem, asset_item: ReconciliationItem, user: User | None,
                 reason: str = "") -> ReconciliationItem:  # fmt: skip
    """Pair an official row found only in the official register with an asset found only in Sipanah: one new line
    (its differences computed), the two lone lines kept inactive."""
    _require(user)
    official_item, asset_item = _locked_item(official_item), _locked_item(asset_item)
    if official_item.category != Category.ONLY_OFFICIAL or asset_item.category != Category.ONLY_SIPANAH:
        raise ValidationError(_("Pair a row found only in the official register with an asset found only in "
                                "Sipanah."))  # fmt: skip
    if official_item.run_id != asset_item.run_id:
        raise ValidationError(_("Both lines must belong to the same run."))
    row = official_item.official
    assert row is not None  # noqa: S101 - an only-official line has its row
    (asset_record,) = selectors.register_records(pks=[asset_item.asset_id])
    diffs = matching.differences(selectors.official_record(row), asset_record)
    paired = ReconciliationItem.objects.create(
        run=official_item.run, official=row, asset_id=asset_item.asset_id, method=Method.MANUAL,
        score=matching.score(selectors.official_record(row), asset_record), differences=diffs,
        category=Category.DIFFERS if diffs else Category.EQUAL, agency_id=asset_item.agency_id,
        sipanah_nilai=asset_item.sipanah_nilai,
    )  # fmt: skip
    for lone in (official_item, asset_item):
        lone.active, lone.replaced_by = False, paired
        lone.save(update_fields=["active", "replaced_by"])
    _decide(paired, "", Decision.Action.PAIR, user=user, reason=reason)
    return paired


def _decide(item: ReconciliationItem, field: str, action: str, *, user: User | None, reason: str = "",
            official: str = "", sipanah: str = "") -> Decision:  # fmt: skip
    decision = Decision.objects.create(run=item.run, item=item, field=field, action=action, reason=reason,
                                       official_value=official, sipanah_value=sipanah, user=user)  # fmt: skip
    resolved = selectors.is_resolved(item)
    if resolved != item.resolved:
        item.resolved = resolved
        item.save(update_fields=["resolved"])
    return decision


@transaction.atomic
def close_run(*, run: ReconciliationRun, user: User | None) -> ReconciliationRun:
    _require(user)
    run = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
    _require_open(run)
    run.status, run.closed_at = ReconciliationRun.Status.CLOSED, timezone.now()
    run.save(update_fields=["status", "closed_at"])
    return run


@transaction.atomic
def reopen_run(*, run: ReconciliationRun, user: User | None) -> ReconciliationRun:
    """A closed run opens again with every decision kept: work goes on where it stopped."""
    _require(user)
    run = ReconciliationRun.objects.select_for_update().get(pk=run.pk)
    if run.status == ReconciliationRun.Status.OPEN:
        raise ValidationError(_("This run is open already."))
    run.status, run.closed_at = ReconciliationRun.Status.OPEN, None
    run.save(update_fields=["status", "closed_at"])
    return run
