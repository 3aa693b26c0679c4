"""The KIB A columns (Kartu Inventaris Barang A – Tanah): the one table every surface derives its columns from.

Each :class:`Column` says, once, what a column is called where: its name in exports, the REST API and OGC API;
its label as a printed KIB A writes it (SIMDA BMD / e-BMD wording) and its number among the classic 14 columns;
its Shapefile name (a DBF field name has at most 10 characters); its OGR type; where its value is read (a path on
the asset, or on the asset's leading certificate); and how the importer knows it: its field (the key of mapping
files), the other spellings met in files, and whether an import needs it.

Derived from it: the export columns and the XLSX header (assets.transfer.exports), the importer's synonyms,
required and derived columns (assets.transfer.importing), the printed sheets' header labels, and the property lists
of the REST API and OGC API. An export's column names are among the names the importer recognises by
construction, so the export → import round trip holds (tests/transfer check it for every format).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# A column read from the asset's leading certificate has a source starting with this.
CERT = "certificate."


def normalise_name(name: str) -> str:
    """A column name as the importer compares it: ASCII, lower case, runs of other characters as one ``_``."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass(frozen=True)
class Column:
    name: str  # in exports, the API and OGC
    label: str  # as printed on a KIB A
    ogr: str  # OGR field type: String, Date, Integer, Integer64, Real
    short: str = ""  # Shapefile (DBF) name, at most 10 characters; default: the name
    source: str = ""  # attribute path on the asset ("agency.code") or CERT + attribute; default: the name
    field: str | None = None  # the importer's field (mapping files' key); default: the name; "": not imported
    synonyms: tuple[str, ...] = ()  # other spellings met in SIMDA BMD / e-BMD exports and survey files
    required: bool = False  # an import needs it (given by a column, a constant or a default)
    kib_no: int | None = None  # its number on the printed 14-column KIB A (Permendagri 17/2007 layout)
    api: bool = False  # a property of the REST API's features
    ogc: bool = False  # a property of the OGC API's assets collection
    export: bool = True  # a column of the exports

    def __post_init__(self) -> None:
        if len(self.shapefile_name) > 10:
            raise ValueError(f"{self.name}: a Shapefile field name has at most 10 characters")

    @property
    def shapefile_name(self) -> str:
        return self.short or self.name

    @property
    def import_field(self) -> str:
        return self.name if self.field is None else self.field

    @property
    def from_certificate(self) -> bool:
        return (self.source or self.name).startswith(CERT)

    @property
    def path(self) -> str:
        """The queryset path of the value (``agency__code``); certificate columns have none."""
        return (self.source or self.name).replace(".", "__")

    def spellings(self) -> tuple[str, ...]:
        """Every normalised name a file may give this column, the likeliest first: its name, field, Shapefile name,
        printed label, then the other spellings (the importer takes the first one a file has)."""
        names = (self.name, self.import_field, self.shapefile_name, self.label, *self.synonyms)
        return tuple(dict.fromkeys(normalise_name(n) for n in names if n))

    def value(self, asset: Any, certificate: Any) -> Any:
        """The column's value for an asset (or a record that reads like one) and its leading certificate."""
        source = self.source or self.name
        obj = asset
        if source.startswith(CERT):
            obj, source = certificate, source[len(CERT) :]
        for part in source.split("."):
            if obj is None:
                return None
            obj = getattr(obj, part, None)
        return obj


COLUMNS: tuple[Column, ...] = (
    Column("kode_barang", "Kode Barang", "String", short="kode_brg", kib_no=3, required=True, api=True, ogc=True,
           synonyms=("kd_barang", "kodebarang", "kode", "kd_brg", "nomor_kode_barang")),
    Column("nomor_register", "Nomor Register", "String", short="no_reg", kib_no=4, required=True, api=True,
           ogc=True, synonyms=("no_register", "noreg", "register", "nomor_reg", "nomor_regi", "reg")),
    Column("nibar", "NIBAR", "String", api=True, synonyms=("nomor_induk_barang",)),
    Column("nama_barang", "Nama Barang / Jenis Barang", "String", short="nama", kib_no=2, required=True, api=True,
           ogc=True, synonyms=("jenis_barang", "nama_brg", "jenis_nama_barang", "jenis_barang_nama_barang")),
    Column("alamat", "Letak / Alamat", "String", kib_no=7, api=True, synonyms=("letak", "lokasi", "letak_lokasi")),
    Column("agency_code", "Kode OPD", "String", short="opd", source="agency.code", field="agency", required=True,
           api=True, ogc=True, synonyms=("kode_opd", "skpd", "kode_skpd", "unit", "pengguna_barang")),
    Column("agency_name", "Nama OPD", "String", short="opd_nama", source="agency.name", field="", api=True,
           export=False),
    Column("tanggal_perolehan", "Tanggal Perolehan", "Date", short="tgl_oleh", api=True, ogc=True,
           synonyms=("tgl_perolehan", "tanggal_pengadaan", "tgl_pengadaan")),
    Column("tahun_perolehan", "Tahun Pengadaan", "Integer", short="thn_oleh", kib_no=6, required=True, api=True,
           ogc=True, synonyms=("thn_perolehan", "tahun", "thn_pengadaan")),
    Column("asal_usul", "Asal Usul", "String", kib_no=12, required=True, api=True,
           synonyms=("asal_usul_perolehan", "asal")),
    Column("nilai_perolehan", "Harga (Rp)", "Integer64", short="nilai", kib_no=13, required=True, api=True,
           ogc=True, synonyms=("harga", "nilai_rp", "nilai_oleh", "harga_perolehan")),
    Column("penggunaan", "Penggunaan", "String", short="guna", kib_no=11, api=True, synonyms=("peruntukan",)),
    Column("luas_kib_m2", "Luas (M2)", "Real", short="luas_kib", kib_no=5, required=True, api=True, ogc=True,
           synonyms=("luas", "luas_tanah", "luas_tanah_m2", "luas_m")),
    Column("keterangan", "Keterangan", "String", short="ket", kib_no=14, synonyms=("catatan",)),
    Column("plotting_status", "Status Plotting", "String", short="plotting", api=True, ogc=True),
    Column("luas_gis_m2", "Luas GIS (M2)", "Real", short="luas_gis", field="", api=True, ogc=True),
    Column("kelurahan", "Kelurahan", "String", source="kelurahan.name", field=""),
    Column("kecamatan", "Kecamatan", "String", source="kecamatan.name", field=""),
    Column("kelurahan_code", "Kode Kelurahan", "String", short="kd_kel", source="kelurahan.code", field="",
           api=True, ogc=True, export=False),
    Column("kecamatan_code", "Kode Kecamatan", "String", short="kd_kec", source="kecamatan.code", field="",
           api=True, ogc=True, export=False),
    Column("status_sertifikat", "Status Sertifikat", "String", short="status_srt", field="", api=True, ogc=True),
    Column("tahap_sertifikat", "Tahap Sertifikat Aset", "String", short="tahap_aset", field="", api=True,
           ogc=True, export=False),
    Column("bermasalah", "Bermasalah", "Integer", field="", api=True, ogc=True, export=False),
    Column("removed_at", "Tanggal Penghapusan", "Date", field="", api=True, export=False),
    Column("jenis_hak", "Status Tanah: Hak", "String", short="hak", source=CERT + "jenis_hak", kib_no=8,
           synonyms=("status_hak",)),
    Column("nomor_sertifikat", "Sertifikat Nomor", "String", short="no_sert", source=CERT + "nomor", kib_no=10,
           synonyms=("no_sertifikat", "nomor_sert", "sertifikat_no")),
    Column("tanggal_sertifikat", "Sertifikat Tanggal", "Date", short="tgl_sert", source=CERT + "tanggal", kib_no=9,
           synonyms=("tgl_sertifikat", "sertifikat_tgl")),
    Column("nib", "NIB", "String", source=CERT + "nib", synonyms=("nomor_identifikasi_bidang",)),
    Column("atas_nama", "Atas Nama", "String", source=CERT + "atas_nama", synonyms=("pemegang_hak",)),
    Column("luas_sertifikat_m2", "Luas Sertifikat (M2)", "Real", short="luas_sert",
           source=CERT + "luas_sertifikat_m2", synonyms=("luas_sertifikat",)),
    Column("stage", "Tahap Sertifikat", "String", short="tahap", source=CERT + "stage",
           synonyms=("tahap_sertipikat",)),
    # The geometry as WKT text (CSV and XLSX; exports name it wkt_epsg_<srid> / "Geometri WKT (EPSG:<srid>)").
    Column("wkt", "Geometri WKT", "String", field="wkt", export=False,
           synonyms=("geometri_wkt", "geometry_wkt", "geometri", "geometry", "geom", "the_geom")),
)  # fmt: skip

BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
EXPORTED: tuple[Column, ...] = tuple(c for c in COLUMNS if c.export)
IMPORTED: tuple[Column, ...] = tuple(c for c in COLUMNS if c.import_field)
DERIVED: tuple[Column, ...] = tuple(c for c in COLUMNS if not c.import_field)
# The printed KIB A: its 14 columns (No. is the running number) in their order.
PRINTED: tuple[Column, ...] = tuple(sorted((c for c in COLUMNS if c.kib_no), key=lambda c: c.kib_no or 0))
# The printed KIB A's header over its columns (SIMDA BMD / e-BMD print): a column's labels from the top row down,
# a label shared by neighbours being one merged cell ("Status Tanah" over Hak | Sertifikat, "Sertifikat" over
# Tanggal | Nomor). A column not named here has its label alone, merged over the header's rows. The importer reads
# the levels back into the same fields (assets.transfer.importing.printed).
PRINTED_HEADER: dict[str, tuple[str, ...]] = {
    "kode_barang": ("Nomor", "Kode Barang"),
    "nomor_register": ("Nomor", "Register"),
    "jenis_hak": ("Status Tanah", "Hak"),
    "tanggal_sertifikat": ("Status Tanah", "Sertifikat", "Tanggal"),
    "nomor_sertifikat": ("Status Tanah", "Sertifikat", "Nomor"),
}
RUNNING_NUMBER = ("no", "nomor", "no_urut")  # the "No." column of a KIB: a row number, never imported
DBF_NAME_LENGTH = 10  # a DBF (Shapefile) field name has at most 10 characters: GIS tools cut longer names


@dataclass(frozen=True)
class ImportTable:
    """What the importer knows of column names: per field its spellings, what an import needs, and the spellings
    of columns Sipanah derives itself (recognised, never reported as unknown)."""

    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    derived: frozenset[str] = frozenset()
    # A longer spelling cut to DBF_NAME_LENGTH characters (as GDAL, QGIS and ArcGIS write a Shapefile) -> the
    # names of the columns it may be (derived ones included); cuts that are a spelling in full are left out.
    cut: dict[str, frozenset[str]] = field(default_factory=dict)


def import_table() -> ImportTable:
    synonyms: dict[str, list[str]] = {}
    for column in IMPORTED:
        names = synonyms.setdefault(column.import_field, [])
        names += [name for name in column.spellings() if name not in names]
    derived = {name for column in DERIVED for name in column.spellings()} | set(RUNNING_NUMBER)
    spelled = {s for names in synonyms.values() for s in names} | derived
    cut: dict[str, set[str]] = {}
    for column in COLUMNS:
        if column.import_field == "wkt":  # a Shapefile has its own geometry (and a DBF text holds 254 characters)
            continue
        for name in column.spellings():
            short = normalise_name(name[:DBF_NAME_LENGTH])  # "asal_usul_perolehan" -> "asal_usul_" -> "asal_usul"
            if len(name) > DBF_NAME_LENGTH and short not in spelled:
                cut.setdefault(short, set()).add(column.name)
    return ImportTable(
        synonyms={k: tuple(v) for k, v in synonyms.items()},
        required=tuple(c.import_field for c in IMPORTED if c.required),
        derived=frozenset(derived - {s for names in synonyms.values() for s in names}),
        cut={short: frozenset(names) for short, names in cut.items()},
    )


def properties(surface: str) -> tuple[tuple[str, str], ...]:
    """(property name, queryset path) of the API's (``"api"``) or OGC's (``"ogc"``) features, in table order."""
    return tuple((c.name, c.path) for c in COLUMNS if getattr(c, surface))


def xlsx_columns() -> tuple[Column, ...]:
    """The XLSX export's columns: the printed KIB A's in their order, then every other exported column."""
    return PRINTED + tuple(c for c in EXPORTED if c not in PRINTED)


def printed_header(column: Column) -> tuple[str, ...]:
    """The labels over ``column`` in the printed KIB A's header, from the top row down."""
    return PRINTED_HEADER.get(column.name, (column.label,))
