"""What the import's overlap check costs (assets/transfer/importing/overlaps.py) for a large file.

    DATABASE_URL=spatialite:////tmp/overlaps.sqlite3 SIPANAH_DEBUG=1 .venv/bin/python bench/bench_import_overlaps.py
    DATABASE_URL=postgis://postgres@127.0.0.1:5432/DB SIPANAH_DEBUG=1 .venv/bin/python bench/bench_import_overlaps.py

A THROWAWAY database: it is migrated, its register emptied and filled with ``--register`` 30 m parcels on a grid
(bulk_create, the spatial index filled by its triggers / GiST). The file is ``--features`` 45 m parcels on the same
grid, each shifted 10 m east: every one lies over two register parcels (600 and 450 m²) and over its neighbours in
the file (east and north), a worst case for the number of pairs. Timed: ``OverlapCheck.add`` per batch of 10,000
(the indexed lookup of the register and the exact areas) and ``finish`` (the STRtree of the whole file), as the
import calls them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sipanah.settings")
django.setup()

import numpy as np  # noqa: E402
import shapely  # noqa: E402
import shapely.affinity  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from assets.register import geo  # noqa: E402
from assets.register.models import Agency, AsalUsul, LandAsset  # noqa: E402
from assets.transfer.importing.overlaps import OverlapCheck  # noqa: E402
from assets.transfer.importing.report import ImportReport  # noqa: E402

SIDE, STEP, SHIFT = 30.0, 40.0, 10.0
LONLAT = (116.87, -1.22)  # Balikpapan


def grid(n: int, shift: float, side: float = SIDE) -> np.ndarray:
    origin = geo.to_metric(shapely.Point(*LONLAT))
    columns = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x = origin.x + (i % columns) * STEP + shift
    y = origin.y + (i // columns) * STEP
    boxes = shapely.box(x, y, x + side, y + side)
    return np.array([shapely.multipolygons([g]) for g in geo.from_metric(boxes)], dtype=object)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--register", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--side", type=float, default=45.0, help="the file's parcels' side (m); 30: no overlaps")
    parser.add_argument("--shift", type=float, default=SHIFT, help="east shift of the file's grid (m)")
    parser.add_argument("--north", type=float, default=0.0, help="north shift of the file's grid (m)")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    agency, _ = Agency.objects.get_or_create(code="9.99.99", defaults={"name": "Bench"})
    LandAsset.objects.all().delete()
    started = time.perf_counter()
    register = grid(args.register, 0.0)
    hexes = shapely.to_wkb(shapely.set_srid(register, 4326), hex=True, include_srid=True)
    LandAsset.objects.bulk_create(
        [LandAsset(kode_barang="1.3.1.01.01.01.001", nomor_register=f"{i:06d}", nama_barang="Bench",
                   agency=agency, tahun_perolehan=2010, asal_usul=AsalUsul.PEMBELIAN, nilai_perolehan=1,
                   luas_kib_m2=1, geom=h) for i, h in enumerate(hexes)],
        batch_size=5000,
    )  # fmt: skip
    print(
        f"{connection.vendor}: register of {args.register:,} parcels written in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    features = grid(args.features, args.shift, side=args.side)
    if args.north:
        features = np.array([shapely.affinity.translate(f, 0, args.north / 111_000) for f in features], dtype=object)
    report = ImportReport()
    check = OverlapCheck(report)
    started = time.perf_counter()
    for start in range(0, args.features, args.batch):
        batch = features[start : start + args.batch]
        check.add([(start + k + 1, "parcel", g, None) for k, g in enumerate(batch)])
    added = time.perf_counter() - started
    started = time.perf_counter()
    check.finish()
    finished = time.perf_counter() - started
    print(f"{args.features:,} features: register lookups and areas {added:.1f} s "
          f"({added / (args.features / args.batch):.2f} s per batch of {args.batch:,}), within-file STRtree "
          f"{finished:.1f} s; {report.overlap_count:,} overlaps", flush=True)  # fmt: skip
    # the register is left as it is (a throwaway database; emptying 100,000 assets with their triggers takes minutes)


if __name__ == "__main__":
    main()
