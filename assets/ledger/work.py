"""Work waiting in the ledger room: reconciliation lines left open in open runs, and transfers waiting for BPKAD's
approval (both for BPKAD and administrators)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from assets.ledger import (
    opening,  # noqa: F401 - registers the opening balance's note on empty as-of dates
    rules,
    subunits,  # noqa: F401 - registers the sub-unit limit of officers
)
from assets.ledger.models import AgencyTransfer, Category, ReconciliationRun
from assets.register.models import User
from assets.work.registry import WorkItem, work_source


@work_source("ledger_open_lines", order=60)
def open_lines(user: User) -> list[WorkItem]:
    if not rules.can_reconcile(user):
        return []
    runs = ReconciliationRun.objects.filter(status=ReconciliationRun.Status.OPEN).annotate(
        left=Count("items", filter=Q(items__active=True, items__resolved=False) & ~Q(items__category=Category.EQUAL))
    )
    return [
        WorkItem("ledger_open_lines", _("Reconciliation run #%(run)s: lines to decide") % {"run": run.pk}, run.left,
                 reverse("ledger-run", args=[run.pk]) + "?open=1", "warning", run.source_name)
        for run in runs[:5]
    ]  # fmt: skip


@work_source("ledger_transfers", order=61)
def transfers_waiting(user: User) -> list[WorkItem]:
    if not rules.can_reconcile(user):
        return []
    count = AgencyTransfer.objects.filter(status=AgencyTransfer.Status.PROPOSED).count()
    return [WorkItem("ledger_transfers", _("Transfers waiting for approval"), count, reverse("ledger-transfers"))]
