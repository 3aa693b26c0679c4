import datetime as dt
import io
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from assets.field.models import FieldResult, Package, ResultPhoto


def _login(client, user):
    client.force_login(user)
    return client


def _package(client, team):
    response = client.get(reverse("field-api-package", args=[team.pk]))
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def _result(pkg, feature, **extra):
    data = {
        "client_id": str(uuid.uuid4()), "assignment": feature["properties"]["assignment"],
        "base_version": feature["properties"]["version"], "found": "found", "condition": "baik", "use": "Kantor",
        "occupation": "sendiri", "patok": True, "notes": "Pagar utuh", "lon": 116.85, "lat": -1.25, "accuracy": 8.5,
    }  # fmt: skip
    data.update(extra)
    return data


def _post(client, pkg, data):
    return client.post(reverse("field-api-results"), json.dumps(data), content_type="application/json",
                       headers={"X-Package": pkg["package"]})  # fmt: skip


def test_package_holds_only_the_team_parcels(client, field):
    pkg = _package(_login(client, field["ani"]), field["a"])
    ids = {f["id"] for f in pkg["parcels"]["features"]}
    expected = set(field["a"].assignments.values_list("asset_id", flat=True))
    assert ids == expected and len(ids) == 4
    feature = pkg["parcels"]["features"][0]
    labels = [label for label, _value in feature["properties"]["kib"]]
    assert "Kode Barang" in labels and "Luas (M2)" in labels  # labels from assets.register.kib
    ring = feature["geometry"]["coordinates"][0][0]
    assert all(len(str(c).split(".")[1]) <= 6 for point in ring for c in point)  # rounded
    assert pkg["kelurahan"]["features"], "the context boundaries ride along"
    package = Package.objects.get(key=pkg["package"])
    assert package.size_bytes == len(json.dumps(pkg, separators=(",", ":"), ensure_ascii=False).encode())
    assert package.user == field["ani"]


def test_package_refused_to_another_team_and_after_closing(client, field):
    from assets.field import services

    _login(client, field["ani"])
    assert client.get(reverse("field-api-package", args=[field["b"].pk])).status_code == 403
    services.campaign_close(user=field["bpkad"], campaign=field["campaign"])
    assert client.get(reverse("field-api-package", args=[field["a"].pk])).status_code == 403


def test_results_refused_with_an_expired_or_foreign_package(client, field):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the refusals read in English below
    pkg = _package(_login(client, field["ani"]), field["a"])
    feature = pkg["parcels"]["features"][0]
    Package.objects.filter(key=pkg["package"]).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = _post(client, pkg, _result(pkg, feature))
    assert response.status_code == 403 and "expired" in response.json()["error"]
    fresh = _package(client, field["a"])
    client.force_login(field["budi"])  # budi may not use ani's package
    response = _post(client, fresh, _result(fresh, feature))
    assert response.status_code == 403
    assert not FieldResult.objects.exists()


def test_parcel_of_another_team_refused(client, field):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    pkg = _package(_login(client, field["ani"]), field["a"])
    other = field["b"].assignments.first()
    response = _post(client, pkg, _result(pkg, pkg["parcels"]["features"][0], assignment=other.pk))
    assert response.status_code == 400 and "team" in response.json()["error"]


def test_same_upload_twice_writes_once(client, field):
    pkg = _package(_login(client, field["ani"]), field["a"])
    data = _result(pkg, pkg["parcels"]["features"][0])
    first, second = _post(client, pkg, data), _post(client, pkg, data)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert FieldResult.objects.count() == 1
    result = FieldResult.objects.get()
    assert (result.found, result.occupation, result.patok, result.accuracy_m) == ("found", "sendiri", True, 8.5)


def test_bad_values_named(client, field):
    pkg = _package(_login(client, field["ani"]), field["a"])
    feature = pkg["parcels"]["features"][0]
    response = _post(client, pkg, _result(pkg, feature, occupation="dijual"))
    assert response.status_code == 400 and "occupation" in response.json()["error"]
    bowtie = {"type": "Polygon", "coordinates": [[[116.85, -1.25], [116.851, -1.251], [116.851, -1.25],
                                                  [116.85, -1.251], [116.85, -1.25]]]}  # fmt: skip
    response = _post(client, pkg, _result(pkg, feature, boundary=bowtie))
    assert response.status_code == 400 and "boundary" in response.json()["error"]
    assert not FieldResult.objects.exists()


def _jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.usefixtures("media")
def test_photo_upload_idempotent_through_evidence(client, field):
    pkg = _package(_login(client, field["ani"]), field["a"])
    data = _result(pkg, pkg["parcels"]["features"][0])
    _post(client, pkg, data)
    url = reverse("field-api-photo", args=[data["client_id"], str(uuid.uuid4())])
    answers = []
    for _attempt in range(2):
        upload = io.BytesIO(_jpeg())
        upload.name = "foto.jpg"
        answers.append(client.post(url, {"photo": upload}, headers={"X-Package": pkg["package"]}))
    assert [a.status_code for a in answers] == [201, 200]
    photo = ResultPhoto.objects.get()
    assert photo.document.doc_type == "FOTO_LAPANGAN"
    assert photo.document.asset_id == pkg["parcels"]["features"][0]["id"]
    script = io.BytesIO(b"<script>alert(1)</script>")
    script.name = "foto.jpg"
    refused = client.post(reverse("field-api-photo", args=[data["client_id"], str(uuid.uuid4())]), {"photo": script},
                          headers={"X-Package": pkg["package"]})  # fmt: skip
    assert refused.status_code == 400 and ResultPhoto.objects.count() == 1
