"""The ledger's work queues: open lines of open runs and transfers waiting, for BPKAD and admins only."""

from __future__ import annotations

from assets.ledger import services, transfers
from assets.work.registry import items_for
from tests.ledger.ledger_case import PRINTED, LedgerCase


class WorkTests(LedgerCase):
    def test_queues(self):
        run = services.start_run(PRINTED, user=self.bpkad)
        transfers.propose(asset=self.equal, to_agency=self.other, user=self.officer, reason="Puskesmas")
        found = {item.source: item for item in items_for(self.bpkad) if item.source.startswith("ledger")}
        self.assertEqual(found["ledger_open_lines"].count, 4)  # differs, proposed, only Sipanah, only official
        self.assertIn(f"/ledger/runs/{run.pk}/", found["ledger_open_lines"].url)
        self.assertEqual(found["ledger_transfers"].count, 1)
        self.assertFalse([i for i in items_for(self.auditor) if i.source.startswith("ledger")])
        services.close_run(run=run, user=self.bpkad)
        self.assertNotIn("ledger_open_lines", {i.source for i in items_for(self.admin)})
