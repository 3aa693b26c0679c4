import datetime as dt

import pytest
from django.utils import translation

from assets.lib.printing import pdf_from_template
from assets.register import place
from assets.register.models import Agency, Signatory
from assets.register.signatories import signature_block

pytestmark = pytest.mark.django_db


def test_block_takes_agency_roles_from_the_agency_and_city_roles_from_the_city():
    agency = Agency.objects.create(code="9.99.01", name="Dinas Uji")
    other = Agency.objects.create(code="9.99.02", name="Dinas Lain")
    Signatory.objects.create(agency=agency, role=Signatory.Role.PENGGUNA_BARANG, name="Ani", nip="1", title="Kepala")
    Signatory.objects.create(agency=other, role=Signatory.Role.PENGURUS_BARANG, name="Budi", nip="2")
    Signatory.objects.create(agency=None, role=Signatory.Role.KEPALA_BPKAD, name="Citra", nip="3")
    with translation.override("id"):
        block = signature_block(
            [Signatory.Role.PENGGUNA_BARANG, Signatory.Role.PENGURUS_BARANG, Signatory.Role.KEPALA_BPKAD],
            agency=agency,
            on=dt.date(2026, 12, 6),
        )
    assert [s.name for s in block.slots] == ["Ani", "", "Citra"]  # Budi is another agency's pengurus
    assert block.place_and_date == f"{place.city().signing_place}, 6 Desember 2026"


def test_signatures_print_with_a_letterhead():
    pypdf = pytest.importorskip("pypdf")
    import io

    Signatory.objects.create(agency=None, role=Signatory.Role.KEPALA_BPKAD, name="Citra Lestari", nip="1975")
    block = signature_block([Signatory.Role.KEPALA_BPKAD])
    pdf = pdf_from_template("print/_sample.html", {"city": place.city(), "signatures": block})
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Citra Lestari" in text
    assert place.city().government.upper() in text
