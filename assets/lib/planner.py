"""PostgreSQL's planner statistics while one transaction fills tables in batches (an import, the demo generator).

The database's statement triggers (history intervals, unrecorded rows, as-of totals, tile cells) run joins against
the tables the write is growing. Their plans follow the statistics, and those describe the tables as they were when
last analyzed: on a new register, empty. A 100,000-parcel import then had each batch's "has this asset a history
row?" planned as a nested loop that scanned the whole history for every new row, batch after batch (10,000-row
batches: 9.5 s for the second batch of a 20,000-parcel import; minutes per batch towards 100,000). ANALYZE inside
the transaction counts its own uncommitted rows, so refreshing the statistics whenever the written rows have doubled
keeps every plan within a factor of two of the tables' real size, for a handful of ANALYZEs per write (each reads a
sample of at most 30,000 rows: a few hundred ms at 100k). SQLite has no such statistics to go stale (its triggers
run per row through the indexes): nothing to do there.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections

FIRST_AFTER_ROWS = 5000  # smaller writes plan well enough on whatever statistics there are


class GrowingTables:
    """Call ``wrote(n)`` after each batch of ``n`` rows; the tables are analyzed once the rows written since the
    write began reach FIRST_AFTER_ROWS, then each time they have doubled since the last ANALYZE."""

    def __init__(self, tables: Sequence[str], *, using: str = "default") -> None:
        self.tables, self.using = tuple(tables), using
        self.written = 0
        self.next_at = FIRST_AFTER_ROWS

    def wrote(self, rows: int) -> None:
        self.written += rows
        if self.written < self.next_at:
            return
        analyze(self.tables, using=self.using)
        self.next_at = 2 * self.written


def analyze(tables: Sequence[str], *, using: str = "default") -> None:
    """ANALYZE ``tables`` (PostgreSQL; nothing on SQLite)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")
