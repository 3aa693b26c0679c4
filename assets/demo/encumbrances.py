"""Demo dispute/occupation cases and pemanfaatan agreements with payments, on a register the demo just wrote, so
the encumbrance pages, work queues and findings are not empty on ``make run``. Deterministic for a seed, dated
relative to today (alerts and overdue payments need the present). Through assets.encumbrance.services."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.gis.geos import MultiPolygon, Polygon
from django.db import transaction
from django.utils import timezone

from assets.encumbrance import services
from assets.encumbrance.models import CaseKind, CaseStage, UtilisationForm, UtilisationStatus
from assets.register.models import LandAsset

CASE_SHARE = 0.015
UTILISATION_SHARE = 0.03
_PARTIES = ("Ahli waris Alm. H. Abdul Rahman", "Warga RT 12", "PT Karya Borneo", "Koperasi Pedagang Pasar",
            "Sdr. Yohanes", "Kelompok tani Sumber Rejeki")  # fmt: skip
_PARTNERS = ("CV Maju Jaya", "PT Telkom Indonesia (menara)", "Koperasi Pegawai", "Bank Kaltimtara",
             "PT Borneo Energi", "Yayasan Pendidikan Bina Bangsa")  # fmt: skip
_PURPOSES = ("Kios dan warung", "Menara telekomunikasi", "Kantin pegawai", "ATM dan kantor kas", "SPBU mini",
             "Sekolah swasta")  # fmt: skip


def _part(asset: LandAsset, share: float) -> MultiPolygon:
    """A square around a point inside the parcel, ``share`` of its bounding box's width."""
    point = asset.geom.point_on_surface
    xmin, ymin, xmax, ymax = asset.geom.extent
    half = min(xmax - xmin, ymax - ymin) * share / 2
    return MultiPolygon(Polygon.from_bbox((point.x - half, point.y - half, point.x + half, point.y + half)), srid=4326)


@transaction.atomic
def populate_encumbrances(seed: int) -> tuple[int, int, int]:
    """(cases, agreements, payment rows) written."""
    rng = random.Random(seed * 7919 + 15)
    today = timezone.localdate()
    located = list(LandAsset.objects.filter(geom__isnull=False, removed_at__isnull=True).order_by("pk"))
    if not located:
        return 0, 0, 0
    n_cases = max(3, round(len(located) * CASE_SHARE))
    n_agreements = max(5, round(len(located) * UTILISATION_SHARE))
    picked = rng.sample(located, min(len(located), n_cases + n_agreements))
    cases = agreements = payments = 0
    for asset in picked[:n_cases]:
        kind = rng.choice(list(CaseKind))
        opened = today - dt.timedelta(days=rng.randint(20, 900))
        case = services.case_open(
            user=None, assets=[asset], kind=kind, title=f"{kind.label.split(' (')[0]}: {asset.nama_barang}"[:200],
            parties=rng.choice(_PARTIES), opened_on=opened, geom=_part(asset, rng.uniform(0.2, 0.6)),
        )  # fmt: skip
        cases += 1
        day = opened
        for stage in (CaseStage.KLARIFIKASI, CaseStage.GUGATAN, CaseStage.PUTUSAN_PN)[: rng.randint(0, 3)]:
            day = min(today, day + dt.timedelta(days=rng.randint(10, 120)))
            number = f"{rng.randint(1, 150)}/Pdt.G/{day.year}/PN Bpp" if stage == CaseStage.GUGATAN else ""
            services.case_move(case=case, user=None, to_stage=stage, date=day, court_case_number=number)
        if case.stage in (CaseStage.GUGATAN, CaseStage.PUTUSAN_PN) or rng.random() < 0.3:
            services.case_update(case=case, user=None, next_hearing=today + dt.timedelta(days=rng.randint(1, 40)))
        if rng.random() < 0.2:
            day = min(today, day + dt.timedelta(days=rng.randint(5, 60)))
            services.case_move(case=case, user=None, to_stage=CaseStage.SELESAI, date=day, note="Mediasi berhasil")
    for asset in picked[n_cases:]:
        form = rng.choice(list(UtilisationForm))
        years = rng.choice((1, 2, 3, 5))
        start = today - dt.timedelta(days=rng.randint(30, 365 * years + 120))
        end = start + dt.timedelta(days=365 * years - 1)
        yearly = Decimal(rng.randint(6, 120) * 1_000_000)
        agreement = services.utilisation_create(
            user=None, asset=asset, form=form, partner_name=rng.choice(_PARTNERS),
            agreement_number=f"030/{rng.randint(100, 999)}/BPKAD/{start.year}", agreement_date=start,
            start_date=start, end_date=end, purpose=rng.choice(_PURPOSES),
            tariff=Decimal(0) if form == UtilisationForm.PINJAM_PAKAI else yearly, tariff_basis="per tahun",
            geom=_part(asset, rng.uniform(0.3, 0.8)),
        )  # fmt: skip
        agreements += 1
        if form != UtilisationForm.PINJAM_PAKAI:
            for year in range(years):
                due = start + dt.timedelta(days=365 * year)
                row = services.payment_add(utilisation=agreement, user=None, due_date=due, amount_due=yearly)
                payments += 1
                if due <= today and rng.random() < 0.8:
                    paid = yearly if rng.random() < 0.9 else yearly / 2
                    services.payment_record(
                        payment=row, user=None, paid_amount=paid, paid_date=min(today, due + dt.timedelta(days=14)),
                        receipt_number=f"KW-{rng.randint(1000, 9999)}",
                    )  # fmt: skip
        if end < today and rng.random() < 0.6:
            services.utilisation_update(utilisation=agreement, user=None, status=UtilisationStatus.BERAKHIR)
    return cases, agreements, payments
