import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from assets.public import lookup
from assets.public.models import PublicationPolicy, PublicExclusion, PublicLookup
from assets.register import geo
from assets.register.models import CertificateStatus

pytestmark = pytest.mark.django_db


def test_a_click_on_city_land_says_yes_with_kelurahan_and_contact(client, land):
    lon, lat = land["at"]
    data = client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).json()
    assert data["touches"] is True
    assert len(data["parcels"]) == 1
    assert data["kelurahan"]  # the kelurahan of the point
    assert data["contact"] == PublicationPolicy.current().contact
    assert PublicLookup.objects.filter(code=data["code"]).exists()
    # published by default: outlines and kelurahan only
    assert data["parcels"][0]["kode_barang"] is None and data["parcels"][0]["certificate_status"] is None


def test_a_click_beside_city_land_says_no(client, land):
    lon, lat = land["at"]
    data = client.get(reverse("public-point-lookup"), {"lon": lon + 0.01, "lat": lat}).json()
    assert data["touches"] is False and data["parcels"] == []


def test_published_fields_follow_the_policy(client, land):
    policy = PublicationPolicy.current()
    policy.publish_kode_barang = policy.publish_certificate_status = True
    policy.save()
    lon, lat = land["at"]
    parcel = client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).json()["parcels"][0]
    assert parcel["kode_barang"] == land["shown"].kode_barang
    with translation.override("id"):  # the page's language (the default)
        assert parcel["certificate_status"] == str(CertificateStatus.BELUM.label) != "belum"


def test_hidden_assets_and_agencies_never_answer(client, land):
    hlon, hlat = land["hidden_at"]
    assert client.get(reverse("public-point-lookup"), {"lon": hlon, "lat": hlat}).json()["touches"] is False
    lon, lat = land["at"]
    PublicExclusion.objects.create(agency=land["shown"].agency, reason="semua")
    assert client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).json()["touches"] is False


def test_coordinates_in_tm3_find_the_same_parcel(land):
    lon, lat = land["at"]
    x, y = geo.transformer(4326, 23837).transform(lon, lat)
    answer = lookup.answer(lookup.coordinates_question(f"{x:.2f}, {y:.2f}", "23837"))
    assert answer.answer["touches"] is True


@pytest.mark.parametrize(
    ("text", "crs", "message"),
    [
        ("-1.26, 116.83", "4326", "longitude first"),
        ("abc", "4326", "two numbers"),
        ("106.8, -6.2", "4326", "outside Kota Balikpapan"),
        ("116.8, -1.2", "999", "Choose the coordinate system"),
    ],
)
def test_bad_coordinates_are_refused_with_the_reason(db, text, crs, message):
    with pytest.raises(lookup.LookupRefused, match=message):
        lookup.coordinates_question(text, crs)


def _geojson_file(*polygons) -> SimpleUploadedFile:
    features = [{"type": "Feature", "properties": {}, "geometry": json.loads(p.geojson)} for p in polygons]
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return SimpleUploadedFile("bidang.geojson", body, content_type="application/geo+json")


def test_a_parcel_file_reports_the_overlap_area(client, land):
    from tests.factories import square

    lon, lat = land["at"]
    asked = square(lon + 0.0005, lat)  # half over the published parcel
    response = client.post(reverse("public-form-lookup"), {"file": _geojson_file(asked[0])})
    assert response.status_code == 302
    record = PublicLookup.objects.get(code=response.url.rstrip("/").split("/")[-1])
    expected = geo.geodesic_area_m2(land["shown"].geom.intersection(asked))
    assert record.answer["overlap_m2"] == pytest.approx(expected, rel=0.01)
    assert record.answer["asked_area_m2"] == pytest.approx(geo.geodesic_area_m2(asked), rel=0.001)


def test_a_file_of_two_parcels_is_refused(client, land):
    from tests.factories import square

    lon, lat = land["at"]
    response = client.post(
        reverse("public-form-lookup"),
        {"file": _geojson_file(square(lon, lat)[0], square(lon + 0.01, lat)[0])},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "holds 2 outlines" in response.content.decode()


def test_hostile_files_are_refused_by_the_importer_checks(client, land):
    not_a_zip = SimpleUploadedFile("bidang.zip", b"PK\x03\x04 this is not a zip archive at all")
    response = client.post(reverse("public-form-lookup"), {"file": not_a_zip}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "bidang.zip" in response.content.decode()
    big = SimpleUploadedFile("besar.geojson", b" " * (lookup.PUBLIC_FILE_BYTES + 1))
    response = client.post(reverse("public-form-lookup"), {"file": big}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "at most" in response.content.decode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:  # a zip bomb: 200 MB of zeros
        archive.writestr("a.shp", b"\0" * (200 * 1024 * 1024))
    bomb = SimpleUploadedFile("bom.zip", buffer.getvalue())
    response = client.post(reverse("public-form-lookup"), {"file": bomb})
    assert response.status_code == 400


def test_the_answer_pdf_states_code_and_kelurahan(client, land):
    from pypdf import PdfReader

    lon, lat = land["at"]
    code = client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).json()["code"]
    response = client.get(reverse("public-answer-pdf", args=[code]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert code in text
    record = PublicLookup.objects.get(code=code)
    assert record.answer["kelurahan"][0] in text


def test_verification_finds_a_code_and_refuses_a_made_up_one(client, land):
    lon, lat = land["at"]
    code = client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).json()["code"]
    page = client.get(reverse("public-verify"), {"kode": code.lower()}).content.decode()
    assert code in page and "alert--success" in page
    page = client.get(reverse("public-verify"), {"kode": "CT-AAAA-AAAA"}).content.decode()
    assert "alert--error" in page


def test_switched_off_the_public_pages_answer_nothing(client, land):
    PublicationPolicy.objects.update_or_create(pk=1, defaults={"enabled": False})
    assert client.get(reverse("public-home")).status_code == 503
    lon, lat = land["at"]
    assert client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).status_code == 503
    from tests.public.test_public_walk import _tile_of

    x, y = _tile_of(lon, lat, 16)
    tile = client.get(reverse("public-tile", kwargs={"z": 16, "x": x, "y": y}))
    assert tile.status_code == 200 and tile.content == b""  # the same tile holds the parcel when switched on
