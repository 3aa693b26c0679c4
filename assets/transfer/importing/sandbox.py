"""Reading an import file in a child process, under a budget it cannot escape.

GDAL parses every format, and a hostile or unlucky file can make it loop for ever (a GeoPackage layer that is a
recursive view), grow without end (DXF blocks inserting blocks, an XLSX or KML that expands a thousandfold) or
fetch a URL (a GeoJSON ``crs`` link). So everything that parses the file — opening it, finding a printed sheet's
table, deciding its CRS, every feature with its geometry in lon/lat — runs in a child process forked for the
import, and the parent gets plain values:

- time: the parent waits for each message only until the wall-clock budget is spent, then kills the child;
  RLIMIT_CPU stops a child whose parent was killed first;
- memory: RLIMIT_AS at what the process already maps plus the memory budget;
- network: GDAL's HTTP client is pointed at a closed local port, so reading makes no outbound request;
- features: more than the limit ends the reading; text values longer than the limit are refused.

The child never touches the database (its connections belong to the parent, and an in-memory test database
would not even be the same database there): the parent checks the rows against the register and writes them.
A file that exceeds a budget is refused with the budget named (BudgetExceeded); the job that read it ends
REFUSED and is not run again. Limits: settings.SIPANAH_IMPORT_LIMITS (assets.transfer.importing.limits).
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import multiprocessing
import os
import resource
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import shapely
from django.db import connections
from django.utils import translation
from django.utils.translation import gettext as _
from osgeo import gdal

from assets.register.geo import GeometryError
from assets.transfer.importing import records, survey
from assets.transfer.importing.crs import resolve_crs
from assets.transfer.importing.geometry import CURVE_DEVIATION, CURVE_STEP_DEGREES, GeometryPlan, read_geometry
from assets.transfer.importing.limits import ImportLimits
from assets.transfer.importing.mapping import FieldMapping
from assets.transfer.importing.report import ImportFileError, ImportReport, out_of_memory
from assets.transfer.importing.source import open_printed_table, open_source
from assets.transfer.importing.values import ValueRefused

ROWS_PER_MESSAGE = 1000
# The report's fields the reading fills (and sends back): what file, layer and CRS, a printed sheet's layout.
READ_FIELDS = ("format", "layer", "crs", "layout", "numbering", "warnings")
# GDAL's HTTP client (and curl's own proxy variables) pointed at a port nothing listens on: no outbound request.
_NO_NETWORK = "127.0.0.1:9"


class BudgetExceeded(ImportFileError):
    """The file needed more time or memory than an import may take."""


@dataclass
class Header:
    report: dict[str, Any]  # READ_FIELDS of the reading's report
    columns: list[str]
    title: list[tuple[int, str]] | None  # a printed sheet's title lines (row, text); None for a plain table
    crs_declared: bool  # the file (or the user) gave a CRS; else a WKT column's CRS is decided by the parent
    total: int  # the layer's feature count (-1: unknown)


@dataclass(slots=True)
class RawRow:
    """One feature as read: its column values (by column index), its geometry in lon/lat, and what was refused."""

    number: int  # the feature's number, or a printed sheet's row
    values: dict[int, Any]
    geom: shapely.Geometry | None = None
    has_geometry: bool = False
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field or column, message)
    repaired: str | None = None  # MakeValid's reason when the geometry was repaired


class FileSource:
    """The file, read by a child process: ``header`` once open, then ``rows(...)`` batch by batch.

    A context manager: leaving it stops the child (killed if it is still running)."""

    def __init__(self, path: Path, *, layer: str | None, srid: str | None, mapping: FieldMapping, limits: ImportLimits):
        self.path, self.layer, self.srid, self.mapping, self.limits = path, layer, srid, mapping, limits
        self.deadline = 0.0
        self.process: Any = None
        self.conn: Any = None
        self.header: Header | None = None
        self.final: dict[str, Any] = {}

    def __enter__(self) -> FileSource:
        context = multiprocessing.get_context("fork")  # fast, and the child needs nothing the parent lacks
        self.conn, child_conn = context.Pipe()
        self.deadline = time.monotonic() + self.limits.wall_seconds
        language = translation.get_language()  # the child words its messages in the import's language
        self.process = context.Process(target=self._target(), args=(child_conn, *self._args(language)), daemon=True)
        self.process.start()
        child_conn.close()
        kind, payload = self._receive()
        if kind != "header":
            raise RuntimeError(f"unexpected message {kind!r} from the reading process")  # a bug, not the file
        self.header = payload
        return self

    def _target(self) -> Callable[..., None]:
        return _read_in_child

    def _args(self, language: str) -> tuple[Any, ...]:
        return (self.path, self.layer, self.srid, self.mapping, self.limits, language)

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.kill()
        if self.process is not None:
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()

    def rows(
        self, used: list[int], plan: GeometryPlan, beat: Callable[[], None] | None = None
    ) -> Iterator[list[RawRow]]:
        """Batches of rows with the values of the columns ``used``; at the end ``final`` holds the reading's last
        report fields. ``beat`` is called while waiting (the worker's heartbeat)."""
        self.conn.send(("plan", used, plan))
        while True:
            kind, payload = self._receive(beat)
            if kind == "rows":
                yield payload
            elif kind == "done":
                self.final = payload
                return
            else:
                raise RuntimeError(f"unexpected message {kind!r} from the reading process")

    def _receive(self, beat: Callable[[], None] | None = None) -> tuple[str, Any]:
        """The child's next message; a refusal raises ImportFileError, the spent budget or the child's death
        BudgetExceeded (after killing it)."""
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.process.kill()
                raise BudgetExceeded(
                    _("Reading the file took longer than an import may take (%(seconds)s s); nothing was written. "
                      "The file may be damaged or built to stall the reader: check it, or ask the administrator "
                      "to raise the limit.") % {"seconds": self.limits.wall_seconds}
                )  # fmt: skip
            try:
                ready = self.conn.poll(min(remaining, 5.0))  # wake up now and then for the heartbeat
            except (EOFError, OSError):
                ready = True
            if not ready:
                if beat is not None:
                    beat()
                continue
            try:
                kind, payload = self.conn.recv()
            except (EOFError, OSError):
                raise self._died() from None
            if kind == "refused":
                error_class = BudgetExceeded if payload[0] else ImportFileError
                raise error_class(payload[1])
            return kind, payload

    def _died(self) -> BudgetExceeded:
        self.process.join(5)
        code = self.process.exitcode
        return BudgetExceeded(
            _("The reading of the file stopped (exit %(code)s), most likely for want of memory: the file needs more "
              "than an import may use (%(megabytes)s MB). Nothing was written.")
            % {"code": code, "megabytes": self.limits.memory_bytes // (1024 * 1024)}
        )  # fmt: skip


class OutlineSource(FileSource):
    """A survey file read for its parcel outlines (assets.transfer.importing.survey) in the same sandboxed child, under
    the same budget: ``header`` is (outlines, how many the file holds)."""

    def __init__(self, path: Path, *, srid: str | None, limits: ImportLimits):
        super().__init__(path, layer=None, srid=srid, mapping=FieldMapping(), limits=limits)

    def _target(self) -> Callable[..., None]:
        return _outlines_in_child

    def _args(self, language: str) -> tuple[Any, ...]:
        return (self.path, self.srid, self.limits, language)


def apply_report(report: ImportReport, values: dict[str, Any]) -> None:
    """Copy the reading's report fields into the import's report."""
    for name, value in values.items():
        if name == "warnings":
            report.warnings.extend(value)
        else:
            setattr(report, name, value)


# --- the child process ------------------------------------------------------------------------------------------


def _detach() -> None:
    """Make the child a reader only: it dies with its parent (a worker killed mid-import must not leave it holding
    the pipe), and it lets go of the database connections it inherited without a word to the server (closing
    them through the driver would end the parent's session; keeping them would keep a killed parent's
    transaction open on the server for as long as the child lives)."""
    faulthandler.disable()  # a child stopped by its memory cap is an answer (the parent words it), not a crash
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: SIGKILL when the parent process ends (Linux)
    except (OSError, AttributeError):  # not Linux: the wall-clock and CPU limits still end the child
        pass
    for alias in connections:
        handle = getattr(connections[alias], "connection", None)
        fd = _socket_of(handle)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
        connections[alias].connection = None  # forgotten here only; never used in the child


def _socket_of(handle: Any) -> int | None:
    """The file descriptor of a driver connection (psycopg 3), or None (SQLite keeps no server socket)."""
    pgconn = getattr(handle, "pgconn", None)
    return getattr(pgconn, "socket", None) if pgconn is not None else None


def _confine(limits: ImportLimits) -> None:
    """The child's budget: address space and CPU time capped, GDAL's network access closed."""
    mapped = _mapped_bytes()
    space = mapped + limits.memory_bytes
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        space = min(space, hard)
    resource.setrlimit(resource.RLIMIT_AS, (space, space if hard == resource.RLIM_INFINITY else hard))
    cpu = limits.wall_seconds + 5
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    for key in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        os.environ[key] = f"http://{_NO_NETWORK}"
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = ""
    for key, value in {"GDAL_HTTP_PROXY": _NO_NETWORK, "GDAL_HTTPS_PROXY": _NO_NETWORK, "GDAL_HTTP_TIMEOUT": "1",
                       "GDAL_HTTP_CONNECTTIMEOUT": "1", "GDAL_HTTP_MAX_RETRY": "0"}.items():  # fmt: skip
        gdal.SetConfigOption(key, value)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _mapped_bytes() -> int:
    """The process's address space now (VmSize), which the fork copied from the parent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:  # not Linux: no /proc; the budget then counts from zero
        pass
    return 0


def _read_in_child(
    conn: Any, path: Path, layer: str | None, srid: str | None, mapping: FieldMapping, limits: ImportLimits,
    language: str,
) -> None:  # fmt: skip
    _detach()
    _confine(limits)
    translation.activate(language)
    report = ImportReport(source=path.name)
    try:
        with _refusals(conn, path, limits):
            dataset, source_layer = open_source(path, layer_name=layer, report=report, limits=limits, user_crs=srid)
            printed = None
            if report.format == "XLSX":
                printed = open_printed_table(path, source_layer, mapping=mapping, report=report)
            if printed is not None:  # the sheet read again, every row a feature; the columns named by its header
                dataset, source_layer = printed.dataset, printed.layer
            crs = resolve_crs(source_layer, srid, report)
            definition = source_layer.GetLayerDefn()
            columns = [definition.GetFieldDefn(i).GetName() for i in range(definition.GetFieldCount())]
            if printed is not None:  # GDAL names these columns Field1, Field2 …: their labels come from the header
                columns = printed.columns
            total = source_layer.GetFeatureCount()
            title = printed.title if printed else None
            header = Header(_read_fields(report, path), columns, title, crs.srs is not None, total)
            report.warnings = []  # sent: only new ones go with the end of the reading
            conn.send(("header", header))
            message = conn.recv()
            if message[0] != "plan":
                return
            _kind, used, plan = message
            if crs.srs is not None:  # the file's (or the user's) CRS; the parent decides only a WKT column's
                wkt = crs.srs.ExportToWkt(["FORMAT=WKT2_2019"]) if crs.epsg != 4326 else None
                plan = GeometryPlan(plan.wkt_column, wkt, crs.label, plan.repair)
            if printed is not None:  # (spreadsheet row, record) for the rows of the table only
                numbered = printed.records(records.ogr_features(source_layer, report), used, report)
            else:
                stream = records.arrow_records(source_layer, used, report)
                numbered = enumerate(stream or records.ogr_records(source_layer, used, report), start=1)
            batch: list[RawRow] = []
            count = 0
            curves: Counter[str] = Counter()  # features whose curves were made of straight segments, by type
            for count, (number, record) in enumerate(numbered, start=1):
                if count > limits.max_features:
                    raise BudgetExceeded(
                        _("The file holds more than %(max)s features, more than an import may take; send it in parts.")
                        % {"max": limits.max_features}
                    )
                report.features = count
                batch.append(_raw_row(number, record, plan, columns, limits, path, curves))
                if len(batch) >= ROWS_PER_MESSAGE:
                    conn.send(("rows", batch))
                    batch = []
            if batch:
                conn.send(("rows", batch))
            if curves:
                report.warnings.append(
                    _("%(count)s feature(s) with curved edges (%(types)s) were made of straight segments, each "
                      "spanning at most %(step)s° of its arc (within %(percent)s %% of the arc's radius: %(mm)s mm on "
                      "a 50 m arc).")
                    % {"count": sum(curves.values()), "step": f"{CURVE_STEP_DEGREES:g}",
                       "percent": f"{CURVE_DEVIATION * 100:.2g}", "mm": f"{CURVE_DEVIATION * 50_000:.2g}",
                       "types": ", ".join(f"{name} {n}" for name, n in sorted(curves.items()))}
                )  # fmt: skip
            conn.send(("done", {**_read_fields(report, path), "features": count}))
            dataset = None  # noqa: F841 - closes the file
    finally:
        conn.close()


def _outlines_in_child(conn: Any, path: Path, srid: str | None, limits: ImportLimits, language: str) -> None:
    _detach()
    _confine(limits)
    translation.activate(language)
    try:
        with _refusals(conn, path, limits):
            outlines, found = survey.read_outlines(path, srid=srid, limits=limits)
            conn.send(("header", (outlines, found)))
    finally:
        conn.close()


@contextlib.contextmanager
def _refusals(conn: Any, path: Path, limits: ImportLimits) -> Iterator[None]:
    """What the reading refused, sent to the parent as a message in the user's words (never a traceback)."""
    try:
        yield
    except BudgetExceeded as exc:
        conn.send(("refused", (True, _public(str(exc), path))))
    except (ImportFileError, MemoryError, RuntimeError) as exc:
        if out_of_memory(exc):  # a step that words GDAL's errors may have worded this one: it is the budget's
            conn.send(("refused", (True, _memory_message(limits))))
        elif isinstance(exc, ImportFileError):
            conn.send(("refused", (False, _public(str(exc), path))))
        elif type(exc) is RuntimeError:  # a GDAL error the steps did not word (a damaged XLSX: "XML parsing of ...")
            message = _("The file could not be read: %(error)s") % {"error": _public(str(exc).strip(), path)}
            conn.send(("refused", (False, message)))
        else:  # GDAL raises plain RuntimeError; its subclasses are Python's own bugs
            raise


def _memory_message(limits: ImportLimits) -> str:
    return _(
        "The file needs more memory than an import may use (%(megabytes)s MB) to be read; nothing was written. "
        "Send it in parts, or in a format read feature by feature (GeoPackage, Shapefile)."
    ) % {"megabytes": limits.memory_bytes // (1024 * 1024)}


def _read_fields(report: ImportReport, path: Path) -> dict[str, Any]:
    names = {f.name for f in fields(report)}
    values = {name: getattr(report, name) for name in READ_FIELDS if name in names}
    values["warnings"] = [_public(w, path) for w in values["warnings"]]
    return values


def _public(text: str, path: Path) -> str:
    """A message as the uploader may see it: GDAL names files by their full path (the server's storage, an archive
    opened through /vsizip/); only the file's own name stays."""
    for folder in {str(path.parent), str(path.resolve().parent)}:
        text = text.replace(folder + os.sep, "")
    return text.replace("/vsizip/", "")


def _raw_row(
    number: int, record: records.Record, plan: GeometryPlan, columns: list[str], limits: ImportLimits, path: Path,
    curves: Counter[str] | None = None,
) -> RawRow:  # fmt: skip
    if record.error is not None:
        reason = _public(record.error, path) or _("GDAL gives no reason (in a CSV, check the row's WKT geometry).")
        return RawRow(number, {}, errors=[("", _("This feature cannot be read: %(error)s") % {"error": reason})])
    row = RawRow(number, record.values)
    for where, value in list(row.values.items()):
        if isinstance(value, str) and len(value) > limits.max_text_length:
            row.values[where] = None
            message = _("The text is %(length)s characters long; at most %(max)s are accepted.")
            row.errors.append((columns[where], message % {"length": len(value), "max": limits.max_text_length}))
    try:
        read = read_geometry(record, plan)
    except (ValueRefused, GeometryError) as exc:
        if out_of_memory(exc):  # the reading's budget, not this geometry's fault: the whole file is refused
            raise
        row.errors.append(("geom", str(exc)))
    except (RuntimeError, shapely.errors.GEOSException) as exc:  # GDAL's or GEOS's own refusal of this geometry
        if out_of_memory(exc):
            raise
        message = _("The geometry cannot be read: %(error)s") % {"error": _public(str(exc).strip(), path)}
        row.errors.append(("geom", message))
    except NotImplementedError as exc:  # shapely's refusal of a type importing.geometry did not turn into polygons
        row.errors.append(("geom", _("The geometry's type cannot be read: %(error)s") % {"error": exc}))
    else:
        row.geom, row.has_geometry, row.repaired = read.geom, read.present, read.repaired
        if read.curve and curves is not None:
            curves[read.curve] += 1
    return row
