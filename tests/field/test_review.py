import json
import uuid

from django.urls import reverse

from assets.field.models import FieldResult
from assets.register import services as register
from tests.factories import square


def _send(client, field, **extra):
    client.force_login(field["ani"])
    pkg = json.loads(client.get(reverse("field-api-package", args=[field["a"].pk])).content)
    feature = pkg["parcels"]["features"][0]
    data = {"client_id": str(uuid.uuid4()), "assignment": feature["properties"]["assignment"],
            "base_version": feature["properties"]["version"], "found": "found", "use": "Taman kota",
            **extra}  # fmt: skip
    response = client.post(reverse("field-api-results"), json.dumps(data), content_type="application/json",
                           headers={"X-Package": pkg["package"]})  # fmt: skip
    assert response.status_code == 201, response.content
    return FieldResult.objects.get(client_id=data["client_id"]), response.json()


def _boundary(asset):
    centroid = asset.geom.centroid
    return json.loads(square(centroid.x, centroid.y, 0.0004).geojson)


def test_accept_writes_history_naming_the_campaign(client, field):
    asset = field["a"].assignments.first().asset
    result, answer = _send(client, field, boundary=_boundary(asset))
    assert answer["conflict"] is False
    client.force_login(field["bpkad"])
    page = client.get(reverse("field-campaign", args=[field["campaign"].pk]))
    assert page.status_code == 200 and f"result-{result.pk}" in page.text
    response = client.post(reverse("field-result-review", args=[result.pk]),
                           {"action": "accept", "use": "1", "geometry": "1"})  # fmt: skip
    assert response.status_code == 302
    result.refresh_from_db()
    asset = result.assignment.asset
    asset.refresh_from_db()
    assert result.review == "accepted" and result.reviewed_by == field["bpkad"]
    assert asset.penggunaan == "Taman kota" and asset.version == result.base_version + 1
    assert abs(asset.geom.area - result.boundary.area) < 1e-12
    last = asset.history.order_by("-history_id").first()
    assert "Inventarisasi 2026" in last.history_change_reason and last.history_user == field["bpkad"]


def test_office_edit_meanwhile_is_a_conflict_and_never_overwritten(client, field):
    result, _answer = _send(client, field)
    asset = result.assignment.asset
    register.asset_update(asset=asset, user=field["bpkad"], data={"penggunaan": "Gedung serbaguna"})
    client.force_login(field["bpkad"])
    page = client.get(reverse("field-campaign", args=[field["campaign"].pk]))
    assert "Gedung serbaguna" in page.text and "Taman kota" in page.text  # side by side
    assert 'class="alert alert--error conflict"' in page.text
    client.post(reverse("field-result-review", args=[result.pk]), {"action": "accept", "use": "1"})
    asset.refresh_from_db()
    result.refresh_from_db()
    assert asset.penggunaan == "Gedung serbaguna" and result.review == "pending"


def test_sync_reports_a_conflict(client, field):
    asset = field["a"].assignments.first().asset
    client.force_login(field["ani"])
    pkg = json.loads(client.get(reverse("field-api-package", args=[field["a"].pk])).content)
    register.asset_update(asset=asset, user=None, data={"penggunaan": "Gudang"})
    feature = next(f for f in pkg["parcels"]["features"] if f["id"] == asset.pk)
    data = {"client_id": str(uuid.uuid4()), "assignment": feature["properties"]["assignment"],
            "base_version": feature["properties"]["version"], "found": "partly"}  # fmt: skip
    answer = client.post(reverse("field-api-results"), json.dumps(data), content_type="application/json",
                         headers={"X-Package": pkg["package"]}).json()  # fmt: skip
    assert answer["conflict"] is True


def test_not_found_for_follow_up_leaves_the_register(client, field):
    result, _answer = _send(client, field, found="not_found")
    version = result.assignment.asset.version
    client.force_login(field["bpkad"])
    client.post(reverse("field-result-review", args=[result.pk]), {"action": "follow_up", "note": "Cek ke kelurahan"})
    result.refresh_from_db()
    assert result.review == "follow_up" and result.review_note == "Cek ke kelurahan"
    result.assignment.asset.refresh_from_db()
    assert result.assignment.asset.version == version


def test_officer_manages_only_own_agency(client, field):
    from assets.register.models import Agency

    other = Agency.objects.exclude(pk=field["ani"].agency_id).first()
    client.force_login(field["ani"])
    response = client.post(reverse("field-campaigns"), {
        "name": "Bukan milik", "starts_on": "2026-12-01", "ends_on": "2026-12-05", "agency": other.pk,
        "teams": "Tim X: ani"})  # fmt: skip
    assert response.status_code == 200 and "agency" in response.text
    response = client.post(reverse("field-campaigns"), {
        "name": "Milik sendiri", "starts_on": "2026-12-01", "ends_on": "2026-12-05", "agency": field["ani"].agency_id,
        "teams": "Tim X: ani, budi\nTim Y: budi"})  # fmt: skip
    assert response.status_code == 302
    from assets.field.models import Campaign
    from assets.register import permissions
    from tests.factories import make_user

    made = Campaign.objects.get(name="Milik sendiri")
    assert made.agency_id == field["ani"].agency_id and made.teams.count() == 2
    stranger = make_user("citra", permissions.OFFICER, other)
    client.force_login(stranger)
    assert client.get(reverse("field-campaign", args=[made.pk])).status_code == 403


def test_conflict_written_only_after_comparing(client, field):
    result, _answer = _send(client, field)
    asset = result.assignment.asset
    register.asset_update(asset=asset, user=field["bpkad"], data={"penggunaan": "Gedung serbaguna"})
    asset.refresh_from_db()
    client.force_login(field["bpkad"])
    url = reverse("field-result-review", args=[result.pk])
    client.post(url, {"action": "accept", "use": "1", "over_current": "1", "compared_version": asset.version - 1})
    result.refresh_from_db()
    assert result.review == "pending"  # compared with a version that is not the current one: refused
    client.post(url, {"action": "accept", "use": "1", "over_current": "1", "compared_version": asset.version})
    asset.refresh_from_db()
    result.refresh_from_db()
    assert asset.penggunaan == "Taman kota" and result.review == "accepted"


def test_work_queue_counts_results_to_review(client, field):
    from assets.field.work import field_results

    assert field_results(field["bpkad"]) == []
    _send(client, field)
    items = field_results(field["bpkad"])
    assert [(i.count, i.url) for i in items] == [(1, reverse("field-campaign", args=[field["campaign"].pk]))]
    assert field_results(field["ani"])[0].count == 1  # an officer of the campaign's agency


def test_campaign_pages_render(client, field):
    client.force_login(field["bpkad"])
    page = client.get(reverse("field-campaigns"))
    assert page.status_code == 200 and "Inventarisasi 2026" in page.text and 'id="campaign-area-map"' in page.text
    geojson = client.get(reverse("field-campaign-geojson", args=[field["campaign"].pk])).json()
    assert len(geojson["features"]) == 8 and {f["properties"]["result"] for f in geojson["features"]} == {"none"}
    client.force_login(field["ani"])
    app = client.get(reverse("field-app"))
    assert app.status_code == 200 and reverse("field-manifest") in app.text
    client.logout()
    manifest = client.get(reverse("field-manifest")).json()  # fetched by the browser without cookies
    assert manifest["scope"] == manifest["start_url"] == reverse("field-app")
    sw = client.get(reverse("field-sw"))
    assert sw["Content-Type"].startswith("text/javascript") and b"addEventListener" in b"".join(sw.streaming_content)
