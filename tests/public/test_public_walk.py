"""Every public URL, requested anonymously, shows no private field and no id; the tiles carry geometry only."""

import io

import mapbox_vector_tile
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, reverse

from assets.maps import tiles
from assets.models import Certificate, JenisHak
from assets.public import urls as public_urls
from assets.public.models import PublicReport
from tests.public.conftest import HIDDEN_NAME, SECRET_ADDRESS, SECRET_NAME, SECRET_VALUE

pytestmark = pytest.mark.django_db

CERTIFICATE_NUMBER = "00777-RAHASIA"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _urls_for(land, client) -> dict[str, list[str]]:
    lon, lat = land["at"]
    code = client.get(reverse("public-point-lookup"), {"lon": lon, "lat": lat}).json()["code"]
    report = PublicReport.objects.create(
        kind="okupasi", location="SRID=4326;POINT(116.8 -1.2)", description="x", contact_name="Budi"
    )
    hlon, hlat = land["hidden_at"]
    tile_urls = []
    for where in ((lon, lat), (hlon, hlat)):
        for z in (10, 13, 14, 15, 17):
            x, y = _tile_of(*where, z)
            tile_urls.append(reverse("public-tile", kwargs={"z": z, "x": x, "y": y}))
    return {
        "public-home": [reverse("public-home")],
        "public-point-lookup": [
            reverse("public-point-lookup") + f"?lon={lon}&lat={lat}",
            reverse("public-point-lookup") + f"?lon={hlon}&lat={hlat}",
        ],
        "public-form-lookup": [],  # POST only: test_lookup posts to it
        "public-kelurahan": [reverse("public-kelurahan") + "?kelurahan=64.71.01.1001"],
        "public-answer": [reverse("public-answer", args=[code])],
        "public-answer-pdf": [reverse("public-answer-pdf", args=[code])],
        "public-verify": [reverse("public-verify") + f"?kode={code}"],
        "public-tile": tile_urls,
        "public-report": [reverse("public-report", args=["okupasi"]), reverse("public-report", args=["sewa"])],
        "public-report-status": [reverse("public-report-status", args=[report.token])],
    }


def _text(response) -> str:
    if response["Content-Type"] == "application/pdf":
        from pypdf import PdfReader

        return "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    return response.content.decode("utf-8", errors="replace")


def test_every_public_url_is_walked_and_shows_nothing_private(client, land):
    Certificate.objects.create(asset=land["shown"], jenis_hak=JenisHak.HP, nomor=CERTIFICATE_NUMBER)
    urls = _urls_for(land, client)
    names = {p.name for p in public_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == set(urls), "a public URL is not walked by this test"
    agency = land["shown"].agency.name
    private = [SECRET_NAME, SECRET_ADDRESS, SECRET_VALUE, HIDDEN_NAME, CERTIFICATE_NUMBER, agency]
    for targets in urls.values():
        for url in targets:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if response["Content-Type"] == tiles.MEDIA_TYPE:
                continue  # decoded below
            text = _text(response)
            for secret in private:
                assert secret not in text, (url, secret)
            for asset in (land["shown"], land["second"], land["hidden"]):
                assert f'"id": {asset.pk}' not in text and f"/assets/{asset.pk}/" not in text, url


def test_tiles_carry_geometry_only_and_never_a_hidden_parcel(client, land):
    lon, lat = land["at"]
    hlon, hlat = land["hidden_at"]
    for z in (10, 13, 14, 15, 17):
        x, y = _tile_of(lon, lat, z)
        data = client.get(reverse("public-tile", kwargs={"z": z, "x": x, "y": y})).content
        layers = mapbox_vector_tile.decode(data)
        assert set(layers) == {tiles.OUTLINE_LAYER}, z
        features = layers[tiles.OUTLINE_LAYER]["features"]
        assert features, z
        for feature in features:
            assert set(feature["properties"]) <= {"n"}, (z, feature["properties"])
            assert feature.get("id") in (None, 0), z
        if z < tiles.POINT_ZOOM:
            assert sum(f["properties"]["n"] for f in features) >= 1
        hx, hy = _tile_of(hlon, hlat, z)
        if (hx, hy) != (x, y):
            hidden = client.get(reverse("public-tile", kwargs={"z": z, "x": hx, "y": hy})).content
            assert hidden == b"" or not mapbox_vector_tile.decode(hidden).get(tiles.OUTLINE_LAYER, {}).get("features")


def test_a_public_upload_name_is_not_echoed_as_html(client, land):
    evil = SimpleUploadedFile('<img src=x onerror="alert(1)">.geojson', b"{not json")
    response = client.post(reverse("public-form-lookup"), {"file": evil})
    assert response.status_code == 400
    assert 'onerror="alert(1)"' not in response.content.decode()


def test_hiding_a_parcel_changes_the_tile_at_once_even_when_cached(client, land):
    from assets.public.models import PublicExclusion

    PublicExclusion.objects.update(withdrawn_at="2026-01-01T00:00:00Z")  # publish everything: the cells path
    lon, lat = land["at"]
    x, y = _tile_of(lon, lat, 10)
    url = reverse("public-tile", kwargs={"z": 10, "x": x, "y": y})
    first = client.get(url)

    def total(response):
        return sum(f["properties"]["n"] for f in mapbox_vector_tile.decode(response.content)["land"]["features"])

    assert total(first) == 3  # all three parcels lie in one z10 tile
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    PublicExclusion.objects.create(asset=land["second"], reason="dijual")
    second = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    assert total(second) == 2


def test_a_public_tile_is_one_statement_on_postgis_and_the_hidden_parcel_stays_out(client, land):
    # With nothing hidden the tile is built in the publication state's own statement; with an exclusion in force
    # that statement's tile is not used: the filtered tile is built, without the hidden parcel.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assets.public.models import PublicExclusion

    hlon, hlat = land["hidden_at"]
    x, y = _tile_of(hlon, hlat, 17)
    url = reverse("public-tile", kwargs={"z": 17, "x": x, "y": y})

    def features(response):
        return mapbox_vector_tile.decode(response.content).get(tiles.OUTLINE_LAYER, {}).get("features", [])

    with CaptureQueriesContext(connection) as queries:
        assert features(client.get(url)) == []  # hidden
    statements = [q["sql"] for q in queries if "ST_AsMVT" in q["sql"] or "publicexclusion" in q["sql"]]
    if connection.vendor == "postgresql":
        # the state (its tile unused), then the filtered tile (after asking whether anything is hidden)
        assert len(statements) > 1 and "ST_AsMVT" in statements[0] and "ST_AsMVT" in statements[-1], statements
    PublicExclusion.objects.update(withdrawn_at="2026-01-01T00:00:00Z")  # published again
    with CaptureQueriesContext(connection) as queries:
        assert len(features(client.get(url))) == 1
    statements = [q["sql"] for q in queries if "ST_AsMVT" in q["sql"] or "publicexclusion" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(statements) == 1 and "ST_AsMVT" in statements[0], statements
