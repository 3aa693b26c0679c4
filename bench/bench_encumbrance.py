"""Encumbrance findings benchmark: the six findings of assets.encumbrance (audit framework, assets.audit.findings)
on a 100k register with 10,000 cases and 10,000 agreements, each against a hand-written SQL statement returning
the same rows in the same run: with the asset's code, register number and name joined, and without that join (the
asset id only: the floor). PostGIS only.

    .venv/bin/python bench/bench_encumbrance.py --template sipanah_bench_100k [--db sip_enc_bench] [--reps 7]
    .venv/bin/python bench/bench_encumbrance.py --template sipanah_grid_100k --db sip_enc_grid

The database is copied from the template (createdb -T; skipped when it exists), then topped up to 10,000 open or
closed cases and 10,000 agreements with their yearly payment rows by ``populate`` below: deterministic for the seed,
the demo generator's shares (assets.demo.encumbrances: kinds, stages, hearings, a fifth settled; forms, 1-5 years,
most paid, expired ones mostly ended) and one agreement in 20 drawn larger than its parcel, written with
bulk_create. The demo generator itself goes through the services per record (history, the dispute flag): on this
shared machine it had not finished 10,000 cases after 20 minutes. The findings read the live tables only.

The findings run on one snapshot of the live register (history.snapshot(), taken once outside the timings, as the
audit pages share one); each finding and its SQL run alternately, after a warm-up, and the median of ``--reps`` is
printed with the ratio. ``--keep`` leaves the copy for another run; otherwise it is dropped.
"""

# ruff: noqa: S603, S607, S608 - a benchmark runs fixed local commands and constant SQL on purpose
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]
TARGET = 10_000

# Each statement twice: {a}: the asset's columns by a join (the finding's rows as a table shows them), and the floor
# without that join (the asset id only, as the finding's own statement reads it; the asset's columns come from the
# snapshot, outside the timings). Over-parcel needs the parcel's area: joined in both.
_WITH_ASSET = {
    "cols": "l.id, l.kode_barang, l.nomor_register, l.nama_barang",
    "join": "JOIN assets_landasset l ON l.id = {fk}",
    "alive": "l.removed_at IS NULL",
}
_IDS_ONLY = {"cols": "{fk}", "join": "", "alive": "TRUE"}
_OPEN_CASES = """
SELECT {cols}, c.id, c.title, c.kind, c.stage, c.opened_on, %(today)s::date - c.opened_on AS age_days
FROM assets_disputecase_assets ca
JOIN assets_disputecase c ON c.id = ca.disputecase_id
{join}
WHERE c.closed_on IS NULL AND {alive}
ORDER BY c.kind, c.opened_on, c.id, ca.landasset_id
"""
_HEARINGS = """
SELECT {cols}, c.id, c.title, c.next_hearing, c.court_case_numbers,
       COALESCE(NULLIF(TRIM(u.first_name || ' ' || u.last_name), ''), u.username) AS officer
FROM assets_disputecase_assets ca
JOIN assets_disputecase c ON c.id = ca.disputecase_id
{join}
LEFT JOIN assets_user u ON u.id = c.officer_id
WHERE c.closed_on IS NULL AND {alive} AND c.next_hearing BETWEEN %(today)s AND %(today)s::date + 14
ORDER BY c.next_hearing, c.kind, c.opened_on, c.id, ca.landasset_id
"""
_EXPIRED = """
SELECT {cols}, u.id, u.form, u.agreement_number, u.partner_name, u.end_date, %(today)s::date - u.end_date AS days
FROM assets_utilisation u {join}
WHERE u.status IN ('AKTIF', 'DIPERPANJANG') AND u.end_date < %(today)s AND {alive}
ORDER BY u.end_date, u.id
"""
_OCCUPIED = """
SELECT {cols}, c.id, c.title, c.opened_on, c.parties
FROM assets_disputecase_assets ca
JOIN assets_disputecase c ON c.id = ca.disputecase_id
{join}
WHERE c.closed_on IS NULL AND c.kind = 'OKUPASI' AND {alive}
  AND NOT EXISTS (SELECT 1 FROM assets_utilisation u WHERE u.asset_id = ca.landasset_id)
ORDER BY c.opened_on, c.id, ca.landasset_id
"""
_OVERDUE = """
SELECT {cols}, u.agreement_number, u.partner_name, p.due_date, p.amount_due, p.amount_due - p.paid_amount,
       %(today)s::date - p.due_date AS days
FROM assets_payment p
JOIN assets_utilisation u ON u.id = p.utilisation_id
{join}
WHERE p.due_date < %(today)s AND p.paid_amount < p.amount_due AND {alive}
ORDER BY p.due_date, p.id
"""
_OVER_PARCEL = """
SELECT {cols}, s.used, COALESCE(l.luas_gis_m2, l.luas_kib_m2) AS parcel,
       s.used - COALESCE(l.luas_gis_m2, l.luas_kib_m2) AS excess
FROM (SELECT asset_id, SUM(area_m2) AS used FROM assets_utilisation
      WHERE status IN ('AKTIF', 'DIPERPANJANG') AND area_m2 IS NOT NULL GROUP BY asset_id) s
JOIN assets_landasset l ON l.id = s.asset_id
WHERE l.removed_at IS NULL
  AND s.used - COALESCE(l.luas_gis_m2, l.luas_kib_m2)
      > GREATEST(COALESCE(l.luas_gis_m2, l.luas_kib_m2) * %(pct)s / 100, %(m2)s)
ORDER BY excess DESC, l.id
"""
_FK = {"open-cases": "ca.landasset_id", "hearings": "ca.landasset_id", "expired-in-use": "u.asset_id",
       "occupied-without-agreement": "ca.landasset_id", "payments-overdue": "u.asset_id",
       "utilised-over-parcel": "s.asset_id"}  # fmt: skip
_TEMPLATES = {
    "open-cases": _OPEN_CASES,
    "hearings": _HEARINGS,
    "expired-in-use": _EXPIRED,
    "occupied-without-agreement": _OCCUPIED,
    "payments-overdue": _OVERDUE,
    "utilised-over-parcel": _OVER_PARCEL,
}


def _sql(slug: str, parts: dict[str, str]) -> str:
    fk = _FK[slug]
    if slug == "utilised-over-parcel":  # the parcel's area is joined in any case
        parts = {**parts, "cols": parts["cols"] if parts["join"] else "l.id", "join": "", "alive": "TRUE"}
    return _TEMPLATES[slug].format(**{k: v.format(fk=fk) for k, v in parts.items()})


SQL = {slug: (_sql(slug, _WITH_ASSET), _sql(slug, _IDS_ONLY)) for slug in _TEMPLATES}


def populate(seed: int, n_cases: int, n_agreements: int) -> None:
    """Cases, their asset links and stage events, agreements and payment rows, in bulk (see the module's text)."""
    import datetime as dt
    import random
    from decimal import Decimal

    import shapely
    from django.contrib.gis.geos import GEOSGeometry
    from django.db import connection, transaction
    from django.utils import timezone

    from assets.demo.encumbrances import _PARTIES, _PARTNERS, _PURPOSES
    from assets.encumbrance.models import (
        CaseKind,
        CaseStage,
        CaseStageEvent,
        DisputeCase,
        Payment,
        Utilisation,
        UtilisationForm,
    )
    from assets.register.geo import geodesic_areas_m2

    rng = random.Random(seed * 7919 + 15)
    today = timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ST_X(p), ST_Y(p), LEAST(ST_XMax(geom) - ST_XMin(geom), ST_YMax(geom) - ST_YMin(geom)) "
            "FROM (SELECT id, geom, ST_PointOnSurface(geom) AS p FROM assets_landasset "
            "WHERE geom IS NOT NULL AND removed_at IS NULL) s ORDER BY id"
        )
        located = cursor.fetchall()
    picked = rng.sample(located, min(len(located), n_cases + n_agreements))

    def part(row: tuple, share: float) -> tuple[GEOSGeometry, Decimal]:
        _id, x, y, width = row
        half = width * share / 2
        box = shapely.MultiPolygon([shapely.box(x - half, y - half, x + half, y + half)])
        return GEOSGeometry(memoryview(shapely.to_wkb(box)), srid=4326), Decimal(str(geodesic_areas_m2([box])[0]))

    with transaction.atomic():
        cases, links, events = [], [], []
        for row in picked[:n_cases]:
            kind = rng.choice(list(CaseKind))
            opened = today - dt.timedelta(days=rng.randint(20, 900))
            stage = (CaseStage.IDENTIFIKASI, CaseStage.KLARIFIKASI, CaseStage.GUGATAN,
                     CaseStage.PUTUSAN_PN)[rng.randint(0, 3)]  # fmt: skip
            since = min(today, opened + dt.timedelta(days=rng.randint(0, 300)))
            hearing = today + dt.timedelta(days=rng.randint(1, 40)) if stage != CaseStage.IDENTIFIKASI else None
            closed = min(today, since + dt.timedelta(days=rng.randint(5, 60))) if rng.random() < 0.2 else None
            geom, area = part(row, rng.uniform(0.2, 0.6))
            cases.append(DisputeCase(
                kind=kind, title=f"{kind.label.split(' (')[0]} #{row[0]}"[:200], parties=rng.choice(_PARTIES),
                geom=geom, area_m2=area, stage=CaseStage.SELESAI if closed else stage,
                stage_since=closed or since, opened_on=opened, next_hearing=None if closed else hearing,
                court_case_numbers=f"{rng.randint(1, 150)}/Pdt.G/{since.year}/PN Bpp" if hearing else "",
                closed_on=closed, close_reason="Mediasi berhasil" if closed else "",
            ))  # fmt: skip
        DisputeCase.objects.bulk_create(cases, batch_size=2000)
        for case, row in zip(cases, picked[:n_cases], strict=True):
            links.append(DisputeCase.assets.through(disputecase_id=case.pk, landasset_id=row[0]))
            events.append(CaseStageEvent(case=case, to_stage=CaseStage.IDENTIFIKASI, date=case.opened_on))
            if case.closed_on:
                events.append(CaseStageEvent(case=case, from_stage=CaseStage.IDENTIFIKASI,
                                             to_stage=CaseStage.SELESAI, date=case.closed_on))  # fmt: skip
        DisputeCase.assets.through.objects.bulk_create(links, batch_size=5000)
        CaseStageEvent.objects.bulk_create(events, batch_size=5000)
        agreements, schedules = [], []
        for row in picked[n_cases:]:
            form = rng.choice(list(UtilisationForm))
            years = rng.choice((1, 2, 3, 5))
            start = today - dt.timedelta(days=rng.randint(30, 365 * years + 120))
            end = start + dt.timedelta(days=365 * years - 1)
            yearly = Decimal(0) if form == UtilisationForm.PINJAM_PAKAI else Decimal(rng.randint(6, 120) * 1_000_000)
            geom, area = part(row, rng.uniform(1.1, 1.4) if rng.random() < 0.05 else rng.uniform(0.3, 0.8))
            status = "BERAKHIR" if end < today and rng.random() < 0.6 else "AKTIF"
            agreements.append(Utilisation(
                asset_id=row[0], form=form, partner_name=rng.choice(_PARTNERS),
                agreement_number=f"030/{rng.randint(100, 999)}/BPKAD/{start.year}", agreement_date=start,
                start_date=start, end_date=end, geom=geom, area_m2=area, purpose=rng.choice(_PURPOSES),
                tariff=yearly, tariff_basis="per tahun", status=status,
            ))  # fmt: skip
            schedule = []
            if yearly:
                for year in range(years):
                    due = start + dt.timedelta(days=365 * year)
                    paid, paid_on = Decimal(0), None
                    if due <= today and rng.random() < 0.8:
                        paid = yearly if rng.random() < 0.9 else yearly / 2
                        paid_on = min(today, due + dt.timedelta(days=14))
                    schedule.append((due, yearly, paid, paid_on))
            schedules.append(schedule)
        Utilisation.objects.bulk_create(agreements, batch_size=2000)
        payments = [
            Payment(utilisation=u, due_date=due, amount_due=amount, paid_amount=paid, paid_date=paid_on)
            for u, schedule in zip(agreements, schedules, strict=True)
            for due, amount, paid, paid_on in schedule
        ]
        Payment.objects.bulk_create(payments, batch_size=5000)


def prepare(template: str, db: str, seed: int) -> None:
    exists = subprocess.run(["psql", *PG, "-lqt"], capture_output=True, text=True, check=True).stdout
    if db not in {line.split("|")[0].strip() for line in exists.splitlines()}:
        subprocess.run(["createdb", *PG, "-T", template, db], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--template", default="sipanah_bench_100k")
    parser.add_argument("--db", default="sip_enc_bench")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"postgis://postgres@127.0.0.1:5432/{args.db}"
    os.environ.setdefault("SIPANAH_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
    prepare(args.template, args.db, args.seed)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from assets.audit import findings
    from assets.encumbrance.models import DisputeCase, Payment, Utilisation
    from assets.register import history

    cases, agreements = DisputeCase.objects.count(), Utilisation.objects.count()
    if cases < TARGET or agreements < TARGET:
        start = time.perf_counter()
        populate(args.seed, max(0, TARGET - cases), max(0, TARGET - agreements))
        print(f"populated in {time.perf_counter() - start:.0f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    options = findings.FindingOptions()
    params = {"today": timezone.localdate(), "pct": options.tolerance_pct, "m2": options.tolerance_m2}
    snap_start = time.perf_counter()
    assets = history.snapshot()
    snap = time.perf_counter() - snap_start
    load = os.getloadavg()
    print(
        f"{args.template}: {len(assets):,} assets, {DisputeCase.objects.count():,} cases "
        f"({DisputeCase.objects.filter(closed_on__isnull=True).count():,} open), "
        f"{Utilisation.objects.count():,} agreements, {Payment.objects.count():,} payment rows; "
        f"snapshot {snap:.2f} s (not in the timings); load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )

    def raw(sql: str) -> list[tuple]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    print(f"{'finding':<28}{'rows':>7}{'finding ms':>12}{'SQL+asset':>11}{'SQL ids':>9}{'ratio':>7}{'ratio ids':>10}")
    for slug, (sql, floor_sql) in SQL.items():
        got, joined, floor = findings.run_finding(slug, assets, options=options), raw(sql), raw(floor_sql)  # warm-up
        for name, theirs_rows in (("joined", joined), ("ids", floor)):
            if [r.asset.id for r in got] != [r[0] for r in theirs_rows]:
                same = sorted(r.asset.id for r in got) == sorted(r[0] for r in theirs_rows)
                print(f"  {slug}: {len(got)} rows vs {len(theirs_rows)} by SQL ({name}): "
                      f"{'same assets, other order' if same else 'DIFFERENT ROWS'}")  # fmt: skip
        t_find, t_sql, t_ids = [], [], []
        for _ in range(args.reps):
            start = time.perf_counter()
            findings.run_finding(slug, assets, options=options)
            t_find.append(time.perf_counter() - start)
            start = time.perf_counter()
            raw(sql)
            t_sql.append(time.perf_counter() - start)
            start = time.perf_counter()
            raw(floor_sql)
            t_ids.append(time.perf_counter() - start)
        f_ms, s_ms, i_ms = (statistics.median(t) * 1000 for t in (t_find, t_sql, t_ids))
        print(f"{slug:<28}{len(got):>7,}{f_ms:>12.1f}{s_ms:>11.1f}{i_ms:>9.1f}{f_ms / s_ms:>7.2f}{f_ms / i_ms:>10.2f}")
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    connection.close()
    if not args.keep:
        subprocess.run(["dropdb", *PG, args.db], check=True)


if __name__ == "__main__":
    main()
