"""From a field result the office opens a dispute case or a pemanfaatan check, prefilled from the result (asset,
occupation, notes) with its photos linked as documents (assets.followup, above both field and encumbrance)."""

import datetime as dt
import io
import json
import uuid

import pytest
from django.urls import reverse
from PIL import Image

from assets.encumbrance.models import DisputeCase, Utilisation
from assets.field.models import FieldResult, ResultPhoto
from assets.register import permissions
from tests.factories import make_user

pytestmark = pytest.mark.usefixtures("media")


def _jpeg():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 140, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


def _result_with_photos(client, field, photos=2, **extra):
    client.force_login(field["ani"])
    pkg = json.loads(client.get(reverse("field-api-package", args=[field["a"].pk])).content)
    feature = pkg["parcels"]["features"][0]
    data = {"client_id": str(uuid.uuid4()), "assignment": feature["properties"]["assignment"],
            "base_version": feature["properties"]["version"], "found": "found", "occupation": "pihak_lain",
            "use": "Warung makan", "notes": "Dipakai warga tanpa izin", "lon": 116.85, "lat": -1.25, "accuracy": 7,
            **extra}  # fmt: skip
    assert client.post(reverse("field-api-results"), json.dumps(data), content_type="application/json",
                       headers={"X-Package": pkg["package"]}).status_code == 201  # fmt: skip
    for _n in range(photos):
        upload = io.BytesIO(_jpeg())
        upload.name = "foto.jpg"
        url = reverse("field-api-photo", args=[data["client_id"], str(uuid.uuid4())])
        assert client.post(url, {"photo": upload}, headers={"X-Package": pkg["package"]}).status_code == 201
    return FieldResult.objects.get(client_id=data["client_id"])


def test_case_form_prefilled_from_the_result(client, field):
    result = _result_with_photos(client, field)
    client.force_login(field["bpkad"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    campaign_page = client.get(reverse("field-campaign", args=[field["campaign"].pk]))
    assert reverse("field-result-case", args=[result.pk]) in campaign_page.text
    assert reverse("field-result-utilisation", args=[result.pk]) in campaign_page.text
    page = client.get(reverse("field-result-case", args=[result.pk]))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["kind"] == "OKUPASI"  # occupied by others
    assert "Inventarisasi 2026" in form.initial["title"]
    for seen in ("Dipakai warga tanpa izin", "Warung makan", "Tim A", "occupied by others", "-1.250000, 116.850000"):
        assert seen in form.initial["description"], seen
    photo_docs = sorted(ResultPhoto.objects.values_list("document_id", flat=True))
    assert sorted(page.context["photos"].fields["documents"].initial) == photo_docs  # every photo ticked


def test_dispute_in_the_field_gives_a_claim_case(client, field):
    result = _result_with_photos(client, field, photos=0, occupation="sengketa")
    client.force_login(field["bpkad"])
    assert client.get(reverse("field-result-case", args=[result.pk])).context["form"].initial["kind"] == "KLAIM"


def test_open_case_links_the_photos_and_flags_the_asset(client, field):
    result = _result_with_photos(client, field)
    asset = result.assignment.asset
    photo_docs = list(ResultPhoto.objects.order_by("pk").values_list("document_id", flat=True))
    client.force_login(field["bpkad"])
    page = client.get(reverse("field-result-case", args=[result.pk]))
    initial = page.context["form"].initial
    response = client.post(reverse("field-result-case", args=[result.pk]), {
        "kind": initial["kind"], "title": initial["title"], "description": initial["description"],
        "parties": "Warga RT 04", "documents": photo_docs[:1]})  # fmt: skip
    case = DisputeCase.objects.get()
    assert response.status_code == 302 and response.url == reverse("encumbrance-case", args=[case.pk])
    assert list(case.assets.all()) == [asset] and case.kind == "OKUPASI" and case.created_by == field["bpkad"]
    assert "Dipakai warga tanpa izin" in case.description
    assert list(case.documents.values_list("pk", flat=True)) == photo_docs[:1]  # only the ticked photo
    asset.refresh_from_db()
    assert asset.bermasalah  # an open case flags the asset, as any case does


def test_pemanfaatan_check_shows_agreements_and_records_one(client, field):
    result = _result_with_photos(client, field, photos=1)
    client.force_login(field["bpkad"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("field-result-utilisation", args=[result.pk])
    page = client.get(url)
    assert page.status_code == 200 and "No agreement recorded." in page.text  # the asset's agreements, none yet
    assert page.context["form"].initial["purpose"] == "Warung makan"
    assert reverse("field-result-case", args=[result.pk]) + "?kind=OKUPASI" in page.text
    response = client.post(url, {
        "form": "SEWA", "partner_name": "Pak Amir", "agreement_number": "030/12/2026", "agreement_date": "2026-01-05",
        "start_date": "2026-01-05", "end_date": "2027-01-04", "purpose": "Warung makan", "tariff": "1200000",
        "documents": list(ResultPhoto.objects.values_list("document_id", flat=True))})  # fmt: skip
    utilisation = Utilisation.objects.get()
    assert response.status_code == 302 and utilisation.asset == result.assignment.asset
    assert utilisation.start_date == dt.date(2026, 1, 5) and utilisation.documents.count() == 1
    assert "030/12/2026" in client.get(url).text  # the check now shows it


def test_bad_input_named_and_nothing_written(client, field):
    result = _result_with_photos(client, field, photos=0)
    client.force_login(field["bpkad"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(reverse("field-result-utilisation", args=[result.pk]), {
        "form": "SEWA", "partner_name": "Pak Amir", "agreement_number": "1", "agreement_date": "2026-01-05",
        "start_date": "2026-02-01", "end_date": "2026-01-01", "purpose": "x", "tariff": "0"})  # fmt: skip
    assert response.status_code == 200 and "The end lies before the start." in response.text
    assert not Utilisation.objects.exists()


def test_only_who_manages_the_campaign_and_may_change_the_asset(client, field):
    result = _result_with_photos(client, field, photos=0)
    field["campaign"].agency = None  # city-wide: the agency's officers do not manage it
    field["campaign"].save()
    other = make_user("lain", permissions.OFFICER)  # another agency
    auditor = make_user("audit", permissions.AUDITOR)
    for user in (field["ani"], other, auditor):
        client.force_login(user)
        for name in ("field-result-case", "field-result-utilisation"):
            assert client.get(reverse(name, args=[result.pk])).status_code == 403, (user, name)
        assert client.post(reverse("field-result-case", args=[result.pk]), {"kind": "OKUPASI", "title": "x"}
                           ).status_code == 403  # fmt: skip
    assert not DisputeCase.objects.exists()
