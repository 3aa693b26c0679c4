"""Reads of the ledger room: the register as the matcher sees it, a run's lines and counts, two runs compared,
the totals of the berita acara."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from assets.ledger import matching
from assets.ledger.models import Category, Decision, OfficialRow, ReconciliationItem, ReconciliationRun
from assets.lib import formats
from assets.register.models import Agency, Certificate, JenisHak, LandAsset

_ASSET_COLUMNS = ("pk", "nibar", "kode_barang", "nomor_register", "agency_id", "tahun_perolehan", "nilai_perolehan",
                  "luas_kib_m2", "alamat", "tahap_sertifikat")  # fmt: skip


def register_records(pks: Iterable[int | None] | None = None) -> list[matching.Record]:
    """Sipanah's live assets (removed ones left out) with their leading certificate: two queries, whatever N."""
    assets = LandAsset.objects.filter(removed_at__isnull=True)
    certificates = Certificate.objects.all()
    if pks is not None:
        wanted = [pk for pk in pks if pk is not None]
        assets, certificates = assets.filter(pk__in=wanted), certificates.filter(asset_id__in=wanted)
    leading: dict[int, dict[str, tuple[Any, ...]]] = defaultdict(dict)
    for asset_id, stage, jenis_hak, nomor, tanggal in certificates.order_by("asset_id", "id").values_list(
        "asset_id", "stage", "jenis_hak", "nomor", "tanggal"
    ):
        leading[asset_id].setdefault(stage, (jenis_hak, nomor, tanggal))
        leading[asset_id].setdefault("", (jenis_hak, nomor, tanggal))  # the first: when no stage matches
    records = []
    for pk, nibar, kode, reg, agency, tahun, nilai, luas, alamat, tahap in assets.values_list(*_ASSET_COLUMNS):
        by_stage = leading.get(pk, {})
        hak, nomor, tanggal = by_stage.get(tahap) or by_stage.get("") or ("", "", None)
        records.append(matching.Record(
            id=pk, nibar=nibar or "", kode_barang=kode, nomor_register=reg, agency=agency, tahun_perolehan=tahun,
            nilai_perolehan=nilai, luas_kib_m2=luas, alamat=alamat, jenis_hak=hak, nomor_sertifikat=nomor,
            tanggal_sertifikat=tanggal))  # fmt: skip
    return records


CHUNK = 2000


def register_records_chunked(pks: list[int]) -> list[matching.Record]:
    """register_records of many assets, 2,000 at a time (a query's parameters are limited on SQLite)."""
    return [record for at in range(0, len(pks), CHUNK) for record in register_records(pks=pks[at : at + CHUNK])]


def pairs_sql(run: ReconciliationRun, method: str) -> tuple[str, list[Any]]:
    """The join of steps 1 and 2 of the matching: (official row, live asset) by NIBAR, or by kode barang and
    register number (the register's number zero-padded to 4 digits as the official rows are: ``7`` = ``0007``),
    ordered by asset, then row, so that the first row of the official order takes an asset (the caller skips what
    is paired already). Plain SQL that both databases read the same."""
    # table names from the models' meta, nothing from the request: the only parameter is the run's id
    official, asset = OfficialRow._meta.db_table, LandAsset._meta.db_table
    if method == "nibar":
        on, where = "a.nibar = o.nibar", "o.nibar <> ''"
    else:
        padded = ("CASE WHEN LENGTH(a.nomor_register) < 4 THEN SUBSTR('000' || a.nomor_register, "
                  "LENGTH(a.nomor_register), 4) ELSE a.nomor_register END")  # fmt: skip
        on, where = f"a.kode_barang = o.kode_barang AND {padded} = o.nomor_register", "1 = 1"
    # Rows and assets paired by NIBAR come again here: the caller skips them chunk by chunk (one indexed query per
    # chunk), which no planner can turn quadratic, unlike an anti-join against the lines being written.
    sql = (
        f"SELECT o.id, a.id FROM {official} o JOIN {asset} a ON {on} "  # noqa: S608
        f"WHERE o.run_id = %s AND a.removed_at IS NULL AND {where} ORDER BY a.id, o.id"
    )
    return sql, [run.pk]


def analyze() -> None:
    """Fresh statistics of the snapshot and lines tables (PostgreSQL), so that the joins are planned for the rows
    just stored rather than for an empty table."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (OfficialRow, ReconciliationItem):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def stream(sql: str, params: list[Any], *, size: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
    """A query's rows in chunks, through a server-side cursor on PostgreSQL (SQLite's cursor reads as it goes):
    the whole result is never held. Inside a transaction (a named cursor lives in one)."""
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size or CHUNK):
            yield [tuple(row) for row in rows]


def unpaired_official(run: ReconciliationRun) -> list[matching.Record]:
    """The run's official rows that no line holds yet (what steps 1 and 2 left)."""
    paired = ReconciliationItem.objects.filter(official_id=OuterRef("pk"))  # a row's lines are all of its run
    return [official_record(r) for r in run.rows.filter(~Exists(paired)).order_by("id")]


def unpaired_assets(run: ReconciliationRun) -> list[matching.Record]:
    """The live assets that no line of the run holds yet."""
    paired = ReconciliationItem.objects.filter(run=run, asset_id=OuterRef("pk"))
    pks = list(LandAsset.objects.filter(removed_at__isnull=True).filter(~Exists(paired)).order_by("pk")
               .values_list("pk", flat=True))  # fmt: skip
    return register_records_chunked(pks)


_OFFICIAL_COLUMNS = ("pk", "nibar", "kode_barang", "nomor_register", "agency_id", "tahun_perolehan", "nilai_perolehan",
                     "luas_kib_m2", "alamat", "jenis_hak", "nomor_sertifikat", "tanggal_sertifikat")  # fmt: skip


def official_records(pks: list[int]) -> list[matching.Record]:
    """Official rows as the matcher sees them, read as plain values (no model instances: the matching's chunks)."""
    return [matching.Record(id=pk, nibar=nibar, kode_barang=kode, nomor_register=reg, agency=agency,
                            tahun_perolehan=tahun, nilai_perolehan=nilai, luas_kib_m2=luas, alamat=alamat,
                            jenis_hak=hak, nomor_sertifikat=nomor, tanggal_sertifikat=tanggal)
            for pk, nibar, kode, reg, agency, tahun, nilai, luas, alamat, hak, nomor, tanggal
            in OfficialRow.objects.filter(pk__in=pks).values_list(*_OFFICIAL_COLUMNS)]  # fmt: skip


def official_record(row: OfficialRow) -> matching.Record:
    return matching.Record(
        id=row.pk, nibar=row.nibar, kode_barang=row.kode_barang, nomor_register=row.nomor_register,
        agency=row.agency_id, tahun_perolehan=row.tahun_perolehan, nilai_perolehan=row.nilai_perolehan,
        luas_kib_m2=row.luas_kib_m2, alamat=row.alamat, jenis_hak=row.jenis_hak,
        nomor_sertifikat=row.nomor_sertifikat, tanggal_sertifikat=row.tanggal_sertifikat,
    )  # fmt: skip


def leading_certificate(asset: LandAsset) -> Certificate | None:
    """The certificate whose stage the asset shows (as the exports and the matcher read it)."""
    certificates = list(asset.certificates.order_by("id"))
    for certificate in certificates:
        if certificate.stage == asset.tahap_sertifikat:
            return certificate
    return certificates[0] if certificates else None


def _show(field: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field == "nilai_perolehan":
        return formats.rupiah(value)
    if field == "luas_kib_m2":
        return formats.m2(value)
    if field == "jenis_hak" and value in JenisHak.values:
        return str(JenisHak(value).label)
    if field == "agency":
        agency = Agency.objects.filter(pk=value).first()
        return str(agency) if agency else str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_value(record: matching.Record, field: str) -> str:
    """A compared field's value as shown on a page (in the active language's formats)."""
    return _show(field, getattr(record, field))


def plain_value(record: matching.Record, field: str) -> str:
    """A compared field's value as a decision stores it: plain text, the same in every language."""
    value = getattr(record, field)
    if value is None:
        return ""
    if field == "agency":
        return Agency.objects.filter(pk=value).values_list("code", flat=True).first() or str(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def official_value(row: OfficialRow | None, field: str) -> str:
    return plain_value(official_record(row), field) if row is not None else ""


def sipanah_value(asset: LandAsset | None, field: str) -> str:
    if asset is None:
        return ""
    records = register_records(pks=[asset.pk])
    return plain_value(records[0], field) if records else ""


def latest_decisions(item: ReconciliationItem) -> dict[str, Decision]:
    """The decision that counts per field ("" = the whole line): the latest."""
    return {d.field: d for d in item.decisions.order_by("id").select_related("user")}


def is_resolved(item: ReconciliationItem) -> bool:
    if item.category == Category.PROPOSED:
        return False
    decided = set(item.decisions.values_list("field", flat=True))
    if item.category in (Category.ONLY_OFFICIAL, Category.ONLY_SIPANAH):
        return "" in decided
    return set(item.differences) <= decided


def runs() -> QuerySet[ReconciliationRun]:
    return ReconciliationRun.objects.select_related("created_by")


def items(run: ReconciliationRun, category: str | None = None) -> QuerySet[ReconciliationItem]:
    qs = run.items.filter(active=True).select_related("official", "official__agency", "asset", "agency")
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("id")


@dataclass(frozen=True)
class CategoryCount:
    category: str
    label: str
    count: int
    open: int


def counts(run: ReconciliationRun) -> list[CategoryCount]:
    """Per category: how many active lines, and how many still wait for a decision."""
    found = {row["category"]: row for row in run.items.filter(active=True).values("category").annotate(
        n=Count("id"), open=Count("id", filter=Q(resolved=False)))}  # fmt: skip
    return [CategoryCount(c.value, str(c.label), found.get(c.value, {}).get("n", 0),
                          found.get(c.value, {}).get("open", 0)) for c in Category]  # fmt: skip


def _key(official_id: int | None, asset_id: int | None, nibar: str | None, kode: str | None, reg: str | None) -> str:
    if asset_id:
        return f"asset:{asset_id}"
    return f"nibar:{nibar}" if nibar else f"kode:{kode}/{reg}"


def _categories(run: ReconciliationRun) -> dict[str, str]:
    rows = run.items.filter(active=True).values_list(
        "official_id", "asset_id", "official__nibar", "official__kode_barang", "official__nomor_register", "category"
    )
    return {_key(*row[:5]): row[5] for row in rows}


@dataclass(frozen=True)
class Comparison:
    first: ReconciliationRun
    second: ReconciliationRun
    counts: list[tuple[str, int, int]]  # (label, first, second)
    moves: list[tuple[str, str, int]]  # (from label, to label, how many lines)
    changed: list[tuple[str, str, str]]  # (key, from label, to label), at most ``limit``
    changed_total: int


def compare(first: ReconciliationRun, second: ReconciliationRun, *, limit: int = 500) -> Comparison:
    """Two runs side by side: counts per category, and the lines (by asset, else NIBAR or kode/register) whose
    category changed from the first to the second ("absent" when a line is in one run only)."""
    a, b = _categories(first), _categories(second)
    labels = {c.value: str(c.label) for c in Category} | {"": "—"}
    count_a, count_b = Counter(a.values()), Counter(b.values())
    changed = [(key, a.get(key, ""), b.get(key, "")) for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]
    moves = Counter((old, new) for _key, old, new in changed)
    return Comparison(
        first, second,
        counts=[(str(c.label), count_a.get(c.value, 0), count_b.get(c.value, 0)) for c in Category],
        moves=[(labels[old], labels[new], n) for (old, new), n in moves.most_common()],
        changed=[(key, labels[old], labels[new]) for key, old, new in changed[:limit]],
        changed_total=len(changed),
    )  # fmt: skip


@dataclass
class AgencyTotals:
    agency: str
    official_count: int = 0
    official_value: Decimal = Decimal(0)
    sipanah_count: int = 0
    sipanah_value: Decimal = Decimal(0)

    @property
    def count_difference(self) -> int:
        return self.sipanah_count - self.official_count

    @property
    def value_difference(self) -> Decimal:
        return self.sipanah_value - self.official_value


def totals_by_agency(run: ReconciliationRun) -> list[AgencyTotals]:
    """Per agency, each side's count and value: the official rows, and the Sipanah assets the run matched
    (their value then)."""
    names = dict(Agency.objects.values_list("pk", "name"))
    table: dict[Any, AgencyTotals] = {}

    def row(agency_id: Any) -> AgencyTotals:
        return table.setdefault(agency_id, AgencyTotals(names.get(agency_id, "—")))

    for agency_id, n, total in run.rows.values_list("agency_id").annotate(n=Count("id"), v=Sum("nilai_perolehan")):
        row(agency_id).official_count += n
        row(agency_id).official_value += total or 0
    sipanah = run.items.filter(active=True, asset__isnull=False).values_list("agency_id").annotate(
        n=Count("id"), v=Sum("sipanah_nilai"))  # fmt: skip
    for agency_id, n, total in sipanah:
        row(agency_id).sipanah_count += n
        row(agency_id).sipanah_value += total or 0
    return sorted(table.values(), key=lambda t: t.agency)


def decisions(run: ReconciliationRun) -> QuerySet[Decision]:
    return run.decisions.select_related("item", "item__official", "item__asset", "user").order_by("id")


def open_items(run: ReconciliationRun) -> QuerySet[ReconciliationItem]:
    return items(run).filter(resolved=False).exclude(category=Category.EQUAL)


FIELD_LABELS: dict[str, Any] = {
    "nilai_perolehan": _("acquisition value (Rp)"),
    "luas_kib_m2": _("KIB area (m²)"),
    "tahun_perolehan": _("acquisition year"),
    "nomor_sertifikat": _("certificate number"),
    "tanggal_sertifikat": _("certificate date"),
    "agency": _("agency"),
    "alamat": _("address"),
    "jenis_hak": _("type of right"),
}


def field_label(name: str) -> str:
    """A register field's label for a message ("" for the whole asset)."""
    if not name or name == "__all__":
        return str(_("asset"))
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    try:
        return str(LandAsset._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


@dataclass(frozen=True)
class LineField:
    field: str
    label: str
    official: str
    sipanah: str
    differs: bool
    decision: Decision | None


def line_fields(item: ReconciliationItem) -> list[LineField]:
    """The compared fields of a line: the official value, Sipanah's live value, whether they differed when the
    run matched them, and the decision that counts."""
    official = official_record(item.official) if item.official else None
    records = register_records(pks=[item.asset_id]) if item.asset_id else []
    asset = records[0] if records else None
    decided = latest_decisions(item)
    return [
        LineField(name, str(FIELD_LABELS[name]), record_value(official, name) if official else "—",
                  record_value(asset, name) if asset else "—", name in item.differences, decided.get(name))
        for name in matching.FIELDS
    ]  # fmt: skip


@dataclass(frozen=True)
class Candidate:
    item: ReconciliationItem
    score: int
    label: str


def pair_candidates(item: ReconciliationItem, *, limit: int = 10, pool: int = 500) -> list[Candidate]:
    """For a line on one side only: the lone lines of the other side in the same agency, best score first."""
    if item.category == Category.ONLY_OFFICIAL and item.official:
        others = items(item.run, Category.ONLY_SIPANAH).filter(agency_id=item.official.agency_id)[:pool]
        mine = official_record(item.official)
        assets = {r.id: r for r in register_records(pks=[o.asset_id for o in others])}
        scored = [(matching.score(mine, assets[o.asset_id]), o) for o in others if o.asset_id in assets]
        labelled = [(s, o, str(o.asset)) for s, o in scored]
    elif item.category == Category.ONLY_SIPANAH and item.asset_id:
        others = items(item.run, Category.ONLY_OFFICIAL).filter(official__agency_id=item.agency_id)[:pool]
        records = register_records(pks=[item.asset_id])
        if not records:
            return []
        labelled = [(matching.score(official_record(o.official), records[0]), o, str(o.official))
                    for o in others if o.official]  # fmt: skip
    else:
        return []
    labelled.sort(key=lambda c: (-c[0], c[1].pk))
    return [Candidate(o, s, label) for s, o, label in labelled[:limit]]
