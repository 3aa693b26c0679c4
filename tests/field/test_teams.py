"""Team work: the team's members edit its results (never over another member's edit), its leader or who manages
the campaign moves parcels to another team; a result recorded on a package taken before the move still arrives."""

import json
import uuid

import pytest
from django.urls import reverse

from assets.field import services
from assets.field.models import Assignment, AssignmentMove, FieldResult
from assets.register import permissions
from tests.factories import make_user


def _package(client, user, team):
    client.force_login(user)
    response = client.get(reverse("field-api-package", args=[team.pk]))
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def _send(client, pkg, feature, **extra):
    data = {"client_id": str(uuid.uuid4()), "assignment": feature["properties"]["assignment"],
            "base_version": feature["properties"]["version"], "found": "found", "use": "Kantor", **extra}  # fmt: skip
    return client.post(reverse("field-api-results"), json.dumps(data), content_type="application/json",
                       headers={"X-Package": pkg["package"]})  # fmt: skip


@pytest.fixture
def cici(field):
    """A second member of team A (ani leads it: she was named first)."""
    user = make_user("cici", permissions.OFFICER, field["assets"][0].agency)
    field["a"].members.add(user)
    return user


def test_first_member_named_leads_the_team(field):
    assert field["a"].leader == field["ani"] and field["b"].leader == field["budi"]


def test_member_edits_a_teammates_result_and_history_keeps_the_first(client, field, cici):
    pkg = _package(client, field["ani"], field["a"])
    assert _send(client, pkg, pkg["parcels"]["features"][0], notes="pagar").status_code == 201
    result = FieldResult.objects.get()
    client.force_login(cici)
    page = client.get(reverse("field-team", args=[field["a"].pk]))
    assert page.status_code == 200 and reverse("field-result-edit", args=[result.pk]) in page.text
    response = client.post(reverse("field-result-edit", args=[result.pk]), {
        "found": "partly", "occupation": "pihak_lain", "use": "Warung", "patok": "false", "notes": "pagar roboh",
        "edits": "0"})  # fmt: skip
    assert response.status_code == 302, response.content
    result.refresh_from_db()
    assert (result.found, result.occupation, result.use, result.patok) == ("partly", "pihak_lain", "Warung", False)
    assert result.edits == 1 and result.edited_by == cici and result.submitted_by == field["ani"]
    states = list(result.history.order_by("history_id").values_list("notes", "history_user__username"))
    assert states == [("pagar", "ani"), ("pagar roboh", "cici")]


def test_edit_over_another_members_edit_is_refused(client, field, cici):
    pkg = _package(client, field["ani"], field["a"])
    _send(client, pkg, pkg["parcels"]["features"][0])
    result = FieldResult.objects.get()
    services.result_edit(user=field["ani"], result=result, data={"found": "not_found"}, expected_edits=0)
    client.force_login(cici)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(reverse("field-result-edit", args=[result.pk]), {"found": "found", "edits": "0"})
    assert response.status_code == 200 and "Another member edited this result meanwhile (by ani)" in response.text
    result.refresh_from_db()
    assert result.found == "not_found" and result.edits == 1


def test_other_team_office_and_reviewed_results_are_not_edited(client, field):
    pkg = _package(client, field["ani"], field["a"])
    _send(client, pkg, pkg["parcels"]["features"][0])
    result = FieldResult.objects.get()
    for user in (field["budi"], field["bpkad"]):  # another team; the office reviews, it does not edit
        client.force_login(user)
        assert client.post(reverse("field-result-edit", args=[result.pk]), {"found": "partly", "edits": "0"}
                           ).status_code == 403  # fmt: skip
    services.review_note(user=field["bpkad"], result=result, note="")
    client.force_login(field["ani"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(reverse("field-result-edit", args=[result.pk]), {"found": "partly", "edits": "0"})
    assert "already reviewed" in response.text
    result.refresh_from_db()
    assert result.found == "found"


def test_leader_moves_parcels_to_another_team(client, field, cici):
    field["campaign"].agency = None  # city-wide: ani moves as the leader, not as her agency's officer
    field["campaign"].save()
    team_a, team_b = field["a"], field["b"]
    moved = list(team_a.assignments.order_by("order")[:2])
    before_b = team_b.assignments.count()
    client.force_login(field["ani"])
    response = client.post(reverse("field-team-move", args=[team_a.pk]),
                           {"assignments": [a.pk for a in moved], "to_team": team_b.pk})  # fmt: skip
    assert response.status_code == 302
    assert team_b.assignments.count() == before_b + 2 and set(team_b.assignments.values_list("pk", flat=True)) >= {
        a.pk for a in moved}  # fmt: skip
    orders = sorted(Assignment.objects.filter(pk__in=[a.pk for a in moved]).values_list("order", flat=True))
    assert orders == [before_b, before_b + 1]  # at the end of the other team's walk
    assert AssignmentMove.objects.filter(from_team=team_a, to_team=team_b, moved_by=field["ani"]).count() == 2


@pytest.mark.parametrize("who", ["cici", "budi", "auditor"])
def test_only_the_leader_or_the_campaign_manager_moves(client, field, cici, who):
    # A city-wide campaign: the agency's officers do not manage it (in an agency's campaign they do, and move).
    field["campaign"].agency = None
    field["campaign"].save()
    users = {"cici": cici, "budi": field["budi"], "auditor": make_user("audit", permissions.AUDITOR)}
    client.force_login(users[who])
    first = field["a"].assignments.first()
    response = client.post(reverse("field-team-move", args=[field["a"].pk]),
                           {"assignments": [first.pk], "to_team": field["b"].pk})  # fmt: skip
    assert response.status_code == 403
    assert not AssignmentMove.objects.exists()
    first.refresh_from_db()
    assert first.team == field["a"]


def test_bpkad_moves_and_the_old_package_still_delivers(client, field):
    pkg = _package(client, field["ani"], field["a"])  # taken before the move
    feature = pkg["parcels"]["features"][0]
    services.assignments_move(user=field["bpkad"], from_team=field["a"], assignments=[feature["properties"][
        "assignment"]], to_team=field["b"])  # fmt: skip
    client.force_login(field["ani"])
    assert _send(client, pkg, feature).status_code == 201  # recorded on the package she had
    fresh = _package(client, field["ani"], field["a"])
    assert feature["id"] not in [f["id"] for f in fresh["parcels"]["features"]]
    refused = _send(client, fresh, feature)  # a package taken after the move: no longer hers
    assert refused.status_code == 400 and "assignment" in refused.json()["error"]
    budi_pkg = _package(client, field["budi"], field["b"])
    assert feature["id"] in [f["id"] for f in budi_pkg["parcels"]["features"]]


def test_move_refuses_parcels_of_another_team(client, field):
    other = field["b"].assignments.first()
    with pytest.raises(Exception, match="Choose parcels of this team"):
        services.assignments_move(user=field["bpkad"], from_team=field["a"], assignments=[other.pk], to_team=field["b"])
    client.force_login(field["bpkad"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.post(reverse("field-team-move", args=[field["a"].pk]),
                       {"assignments": [other.pk], "to_team": field["b"].pk}, follow=True)  # fmt: skip
    assert "is not one of the available choices" in page.text
    other.refresh_from_db()
    assert other.team == field["b"]


def test_team_page_for_members_and_managers_only(client, field):
    field["campaign"].agency = None  # city-wide: budi, officer of the same agency, does not manage it
    field["campaign"].save()
    url = reverse("field-team", args=[field["a"].pk])
    for user, status in ((field["ani"], 200), (field["bpkad"], 200), (field["budi"], 403)):
        client.force_login(user)
        assert client.get(url).status_code == status
    client.force_login(field["bpkad"])
    assert 'name="to_team"' in client.get(url).text
