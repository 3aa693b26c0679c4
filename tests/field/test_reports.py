import io
import json
import os
import uuid
from pathlib import Path

from django.urls import reverse
from openpyxl import load_workbook

from assets.field import reports
from assets.register.models import Signatory
from tests.factories import square


def _send(client, field, feature_index, **extra):
    client.force_login(field["ani"])
    pkg = json.loads(client.get(reverse("field-api-package", args=[field["a"].pk])).content)
    feature = pkg["parcels"]["features"][feature_index]
    data = {"client_id": str(uuid.uuid4()), "assignment": feature["properties"]["assignment"],
            "base_version": feature["properties"]["version"], **extra}  # fmt: skip
    response = client.post(reverse("field-api-results"), json.dumps(data), content_type="application/json",
                           headers={"X-Package": pkg["package"]})  # fmt: skip
    assert response.status_code == 201, response.content
    return feature


def test_summary_counts_what_the_teams_saw(client, field):
    first = _send(client, field, 0, found="found", occupation="pihak_lain")
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    _send(client, field, 1, found="partly", boundary=json.loads(square(lon + 0.0003, lat + 0.0003, 0.0002).geojson))
    _send(client, field, 2, found="not_found")
    totals = reports.summary(reports.rows(field["campaign"]))
    assert (totals["parcels"], totals["visited"], totals["not_visited"]) == (8, 3, 5)
    assert (totals["found"], totals["partly"], totals["not_found"], totals["occupied"]) == (1, 1, 1, 1)
    assert totals["corrected"] == 1 and 1500 < totals["corrected_area_m2"] < 2500  # 44 m x 44 m near the equator


def test_xlsx_and_pdfs(client, field):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the report's words read in English below
    _send(client, field, 0, found="not_found", notes='=HYPERLINK("x")')
    Signatory.objects.create(agency=field["campaign"].agency, role=Signatory.Role.PENGGUNA_BARANG, name="Drs. Kepala")
    client.force_login(field["bpkad"])
    response = client.get(reverse("field-campaign-report-xlsx", args=[field["campaign"].pk]))
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 9 and rows[1][8] == "not found" and rows[2][8] == "not visited"
    assert rows[1][17] == '=HYPERLINK("x")' and sheet.cell(2, 18).data_type == "s"  # text, not a formula
    pdf = client.get(reverse("field-campaign-report-pdf", args=[field["campaign"].pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    ba = client.get(reverse("field-team-berita-acara", args=[field["a"].pk]))
    assert ba.status_code == 200 and ba.content.startswith(b"%PDF")
    if os.environ.get("FIELD_PDF_DIR"):  # to look at them: pdftoppm -png -r 60
        Path(os.environ["FIELD_PDF_DIR"], "report.pdf").write_bytes(pdf.content)
        Path(os.environ["FIELD_PDF_DIR"], "berita_acara.pdf").write_bytes(ba.content)
    client.force_login(field["ani"].__class__.objects.create_user("nobody", password="x"))
    assert client.get(reverse("field-team-berita-acara", args=[field["a"].pk])).status_code == 403


def test_finding_not_inventoried_in_five_years(client, field):
    import datetime as dt

    from assets.audit import findings
    from assets.field.models import FieldResult
    from assets.register.history import snapshot
    from assets.register.models import LandAsset

    LandAsset.objects.filter(pk=field["assets"][1].pk).update(tahun_perolehan=dt.date.today().year - 1)
    _send(client, field, 0, found="found")
    done = FieldResult.objects.get().assignment.asset
    states = snapshot()
    found = {r.asset.id for r in findings.run_finding("not-inventoried", states)}
    # not the one inventoried now, nor the one acquired last year; every other is due
    assert found == {a.pk for a in field["assets"]} - {done.pk, field["assets"][1].pk}
    old = dt.date.today() + dt.timedelta(days=round(365.25 * 5) + 2)  # five years on, the result is too old
    later = {r.asset.id: r for r in findings.run_finding("not-inventoried", states, as_of=old)}
    assert done.pk in later and str(later[done.pk].values["last"]) in later[done.pk].detail
