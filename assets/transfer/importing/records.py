"""The features of a layer as records (column values and geometry): one by one through OGR for every format, or in
batches through GDAL's Arrow stream for a GeoPackage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import shapely
from django.utils.translation import gettext as _
from osgeo import ogr

from assets.transfer.importing.report import ImportFileError, ImportReport, out_of_memory
from assets.transfer.importing.values import ValueRefused

MAX_UNREADABLE_IN_A_ROW = 100  # features GDAL cannot read, one after the other, before the file counts as damaged


BATCH_SIZE = 10_000  # features read, checked and written together (bigger batches: fewer statements per import)


class Record:
    """One feature as the reader sees it: its column values and its geometry.

    ``values`` maps a column's index to its value as OGR's typed getters give it (int, float, str; dates as
    YYYY-MM-DD text), only for the columns the mapping uses. The geometry is either the OGR feature's, or,
    from a batch read through Arrow, ISO WKB with the shapely geometry already parsed when it is a Polygon or
    MultiPolygon (anything else goes through OGR as before).
    """

    __slots__ = ("values", "feature", "wkb", "shape", "error")

    def __init__(self, values: dict[int, Any], *, feature: Any = None, wkb: bytes | None = None,
                 shape: shapely.Geometry | None = None, error: str | None = None):  # fmt: skip
        self.values, self.feature, self.wkb, self.shape = values, feature, wkb, shape
        self.error = error  # GDAL could not read this feature (see ogr_features): its message, maybe ""

    def ogr_geometry(self) -> Any:
        if self.feature is not None:
            return self.feature.GetGeometryRef()
        if self.wkb is None:
            return None
        try:
            return ogr.CreateGeometryFromWkb(self.wkb)
        except RuntimeError as exc:
            raise ValueRefused(_("The geometry cannot be read: %(error)s") % {"error": exc}) from exc


def _ogr_value(feature: Any, where: int) -> Any:
    if not feature.IsFieldSetAndNotNull(where):
        return None
    kind = feature.GetFieldType(where)
    if kind in (ogr.OFTInteger, ogr.OFTInteger64):
        return feature.GetFieldAsInteger64(where)
    if kind == ogr.OFTReal:
        return feature.GetFieldAsDouble(where)
    if kind == ogr.OFTDate:
        y, m, d, *_rest = feature.GetFieldAsDateTime(where)
        return f"{y:04d}-{m:02d}-{d:02d}"
    return feature.GetFieldAsString(where)


def ogr_records(layer: Any, columns: list[int], report: ImportReport) -> Iterator[Record]:
    """The layer's features one by one, as records (the general path, every format)."""
    for feature in ogr_features(layer, report):
        if isinstance(feature, RuntimeError):
            yield Record({}, error=str(feature).strip())
        else:
            yield Record({where: _ogr_value(feature, where) for where in columns}, feature=feature)


# Arrow types whose Python values are those of OGR's typed getters (dates are turned into the same text)
_ARROW_TYPES = ("string", "large_string", "int8", "int16", "int32", "int64", "float", "double", "date32[day]")


def arrow_records(layer: Any, columns: list[int], report: ImportReport) -> Iterator[Record] | None:
    """The layer read in batches through GDAL's Arrow stream (GDAL >= 3.6, with pyarrow), or None when not fit.

    Used for GeoPackage, where GDAL reads the batch natively: all the values of a column come out as one list,
    and the geometries are parsed by shapely in one call, instead of a dozen OGR calls per feature. Only for
    columns of plain types (text, integers, reals, dates), which convert exactly as :func:`_ogr_value` reads them.
    """
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency; without it the general path is used
        return None
    if not report.format.startswith("GeoPackage") or not hasattr(layer, "GetArrowStream"):
        return None
    definition = layer.GetLayerDefn()
    for where in columns:
        if definition.GetFieldDefn(where).GetSubType() == ogr.OFSTBoolean:
            return None
    try:
        layer.ResetReading()
        stream = layer.GetArrowStream([f"MAX_FEATURES_IN_BATCH={BATCH_SIZE}"])
        c_schema = stream.GetSchema()  # kept alive while pyarrow imports it
        schema = pa.Schema._import_from_c(c_schema._getPtr())
    except (RuntimeError, pa.ArrowException) as exc:
        if out_of_memory(exc):
            raise
        return None
    names = [definition.GetFieldDefn(where).GetName() for where in columns]
    geometry_name = layer.GetGeometryColumn() or None
    if any(name not in schema.names or str(schema.field(name).type) not in _ARROW_TYPES for name in names):
        return None
    if geometry_name is not None and geometry_name not in schema.names:
        return None

    def generate() -> Iterator[Record]:
        while True:
            try:
                array = stream.GetNextRecordBatch()
                if array is None:
                    return
                batch = pa.RecordBatch._import_from_c(array._getPtr(), schema)
            except (RuntimeError, pa.ArrowException) as exc:
                raise ImportFileError(
                    _("The file is damaged after feature %(n)s: %(error)s") % {"n": report.features, "error": exc}
                ) from exc
            lists = []
            for name in names:
                values = batch.column(name).to_pylist()
                if str(schema.field(name).type).startswith("date"):
                    values = [None if v is None else f"{v.year:04d}-{v.month:02d}-{v.day:02d}" for v in values]
                lists.append(values)
            wkbs = batch.column(geometry_name).to_pylist() if geometry_name else [None] * batch.num_rows
            # only Polygon/MultiPolygon WKB is parsed here (shapely refuses curves with NotImplementedError, and
            # cannot build a TIN); every other type goes through OGR (importing.geometry)
            shapes = np.full(len(wkbs), None, dtype=object)
            plain = np.array([_polygonal_wkb(wkb) for wkb in wkbs], dtype=bool)
            if plain.any():
                shapes[plain] = shapely.from_wkb(np.array(wkbs, dtype=object)[plain], on_invalid="ignore")
            types = shapely.get_type_id(shapes)
            polygonal = (types == shapely.GeometryType.POLYGON) | (types == shapely.GeometryType.MULTIPOLYGON)
            for i in range(batch.num_rows):
                yield Record({where: values[i] for where, values in zip(columns, lists, strict=True)},
                             wkb=wkbs[i], shape=shapes[i] if polygonal[i] else None)  # fmt: skip

    return generate()


def _polygonal_wkb(wkb: bytes | None) -> bool:
    """ISO WKB of a Polygon or MultiPolygon (2D, Z, M or ZM: codes 3, 6, 1003 … 3006), read from its header."""
    if wkb is None or len(wkb) < 5 or wkb[0] not in (0, 1):
        return False
    code = int.from_bytes(wkb[1:5], "little" if wkb[0] == 1 else "big")
    return code < 4000 and code % 1000 in (3, 6)


def ogr_features(layer: Any, report: ImportReport) -> Iterator[Any]:
    """The layer's OGR features; one GDAL cannot read is yielded as its RuntimeError, to be reported by number.

    GDAL's CSV driver raises (with no message) on a row whose WKT does not parse, then reads on from the next
    row. A driver that cannot go on raises again: after ``MAX_UNREADABLE_IN_A_ROW`` in a row the file is damaged.
    """
    layer.ResetReading()
    failures = 0
    while True:
        try:
            feature = layer.GetNextFeature()
        except RuntimeError as exc:
            if out_of_memory(exc):
                raise
            failures += 1
            if failures >= MAX_UNREADABLE_IN_A_ROW:
                raise ImportFileError(
                    _("The file is damaged after feature %(n)s: %(error)s") % {"n": report.features, "error": exc}
                ) from exc
            yield exc
            continue
        failures = 0
        if feature is None:
            return
        yield feature
