import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from assets.public.models import PublicReport
from assets.register import permissions
from assets.work import registry
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def _form(client, kind="okupasi"):
    page = client.get(reverse("public-report", args=[kind])).content.decode()
    token = re.search(r'name="challenge" value="([^"]+)"', page).group(1)
    a, b = map(int, re.search(r"(\d+) (?:plus|ditambah) (\d+)", page).groups())
    return token, a + b


def _post(client, land, kind="okupasi", **overrides):
    token, answer = _form(client, kind)
    lon, lat = land["at"]
    data = {
        "lon": lon,
        "lat": lat,
        "description": "Lahan dipagari warga sejak bulan lalu.",
        "contact_name": "Siti",
        "contact_phone": "0812000000",
        "challenge": token,
        "answer": str(answer),
        **overrides,
    }
    return client.post(reverse("public-report", args=[kind]), data)


def test_a_report_is_received_and_followed_through_its_private_link(client, land):
    response = _post(client, land)
    assert response.status_code == 302
    report = PublicReport.objects.get()
    assert response.url == reverse("public-report-status", args=[report.token])
    assert report.kind == "okupasi" and report.status == PublicReport.Status.RECEIVED
    assert report.location.x == pytest.approx(land["at"][0])
    status_page = client.get(response.url).content.decode()
    assert "Siti" not in status_page  # the link shows the status, not the sender's details


def test_the_challenge_must_be_answered_once(client, land):
    response = _post(client, land, answer="999")
    assert response.status_code == 400 and PublicReport.objects.count() == 0
    token, answer = _form(client)
    lon, lat = land["at"]
    data = {"lon": lon, "lat": lat, "description": "x", "contact_name": "A", "contact_phone": "1",
            "challenge": token, "answer": str(answer)}  # fmt: skip
    assert client.post(reverse("public-report", args=["sewa"]), data).status_code == 302
    assert client.post(reverse("public-report", args=["sewa"]), data).status_code == 400  # replayed
    assert PublicReport.objects.count() == 1


def test_robots_filling_the_hidden_field_are_refused(client, land):
    assert _post(client, land, website="http://spam.example").status_code == 400
    assert PublicReport.objects.count() == 0


def test_a_photo_must_be_an_image(client, land):
    pdf = SimpleUploadedFile("foto.jpg", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    response = _post(client, land, photo=pdf)
    assert response.status_code == 400 and PublicReport.objects.count() == 0
    assert "foto.jpg" in response.content.decode()


def test_bpkad_sees_the_report_in_its_work_queue_and_answers_it(client, land):
    _post(client, land)
    bpkad = make_user("bpkad1", permissions.BPKAD)
    officer = make_user("officer1", permissions.OFFICER, agency=land["shown"].agency)
    items = [i for i in registry.items_for(bpkad) if i.source == "public_reports"]
    assert [i.count for i in items] == [1]
    assert not [i for i in registry.items_for(officer) if i.source == "public_reports"]
    client.force_login(officer)
    assert client.get(items[0].url).status_code == 403
    client.force_login(bpkad)
    assert client.get(items[0].url).status_code == 200
    report = PublicReport.objects.get()
    client.post(reverse("public-report-detail", args=[report.pk]), {"status": "ditinjau", "note": "Tim akan survei."})
    client.logout()
    page = client.get(reverse("public-report-status", args=[report.token])).content.decode()
    assert "Tim akan survei." in page
    assert report.history.count() == 2  # received, then the status change: nothing overwritten silently


@override_settings(SIPANAH_PUBLIC_RATES={"lookup": (3, 60), "upload": (1, 3600), "form": (2, 3600), "tile": (5, 60)})
def test_rate_limits_per_address(client, land):
    lon, lat = land["at"]
    url = reverse("public-point-lookup")
    codes = [client.get(url, {"lon": lon, "lat": lat}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = client.get(url, {"lon": lon, "lat": lat}, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200  # another address has its own count
    assert [_post(client, land).status_code for _ in range(3)] == [302, 302, 429]
