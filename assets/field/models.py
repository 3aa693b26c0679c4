"""Campaigns, teams, the parcels assigned to them, the packages downloaded and the results sent from the field.

Nothing here is deleted: a campaign is closed, a result is reviewed (accepted, kept for follow-up or set aside)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from assets.evidence.models import Document
from assets.register.models import AdministrativeArea, Agency, LandAsset


class Campaign(models.Model):
    """One inventory round: a period and a scope (an agency, a kecamatan, a drawn area, or several of them)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    name = models.CharField(_("name"), max_length=200)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    agency = models.ForeignKey(
        Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kecamatan = models.ForeignKey(
        AdministrativeArea, verbose_name=_("kecamatan"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    area = models.MultiPolygonField(_("drawn area"), srid=4326, null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("inventory campaign")
        verbose_name_plural = _("inventory campaigns")

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    campaign = models.ForeignKey(Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="field_teams")
    # The leader (the first member named when the campaign opened) moves the team's parcels to another team.
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("leader"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip

    class Meta:
        ordering = ["campaign", "name", "id"]
        verbose_name = _("field team")
        verbose_name_plural = _("field teams")

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """One parcel to check, given to one team of a campaign (a parcel once per campaign)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="assignments")
    team = models.ForeignKey(Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="assignments")
    asset = models.ForeignKey(LandAsset, verbose_name=_("asset"), on_delete=models.PROTECT, related_name="+")
    order = models.PositiveIntegerField(default=0)  # the walking order along the space-filling curve

    class Meta:
        ordering = ["team", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "asset"], name="field_assignment_once")]


class AssignmentMove(models.Model):
    """One parcel moved from a team to another (append-only): who moved it and when. A result recorded on a package
    the old team took before the move is still received (the phone could not know)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="moves")
    from_team = models.ForeignKey(Team, verbose_name=_("from"), on_delete=models.PROTECT, related_name="+")
    to_team = models.ForeignKey(Team, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+")
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    moved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["moved_at", "id"]


class Package(models.Model):
    """A download of a team's parcels, bound to the user who took it and valid until ``expires_at``."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="packages")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    parcels = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)


class Found(models.TextChoices):
    FOUND = "found", _("found")
    PARTLY = "partly", _("partly found")
    NOT_FOUND = "not_found", _("not found")


class Condition(models.TextChoices):
    BAIK = "baik", _("good (baik)")
    KURANG_BAIK = "kurang_baik", _("fair (kurang baik)")
    RUSAK = "rusak", _("poor (rusak)")


class Occupation(models.TextChoices):
    SENDIRI = "sendiri", _("used by the agency (dikuasai sendiri)")
    PIHAK_LAIN = "pihak_lain", _("occupied by others (dikuasai pihak lain)")
    SENGKETA = "sengketa", _("in dispute (sengketa)")
    KOSONG = "kosong", _("empty (kosong)")


class Review(models.TextChoices):
    PENDING = "pending", _("to review")
    ACCEPTED = "accepted", _("accepted into the register")
    NOTED = "noted", _("noted, register unchanged")
    FOLLOW_UP = "follow_up", _("not found: follow-up")


class FieldResult(models.Model):
    """What a team saw at one parcel, as sent from the phone (``client_id``: the phone's UUID, so a repeated upload
    writes once)."""

    client_id = models.UUIDField(unique=True)
    assignment = models.ForeignKey(Assignment, on_delete=models.PROTECT, related_name="results")
    package = models.ForeignKey(Package, null=True, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)  # the phone's clock
    found = models.CharField(_("found"), max_length=10, choices=Found.choices)
    condition = models.CharField(_("condition"), max_length=12, choices=Condition.choices, blank=True)
    use = models.CharField(_("use"), max_length=200, blank=True)
    occupation = models.CharField(_("occupation"), max_length=12, choices=Occupation.choices, blank=True)
    patok = models.BooleanField(_("boundary markers (patok) present"), null=True)
    notes = models.TextField(_("notes"), blank=True)
    lon = models.FloatField(_("longitude"), null=True, blank=True)
    lat = models.FloatField(_("latitude"), null=True, blank=True)
    accuracy_m = models.FloatField(_("position accuracy (m)"), null=True, blank=True)
    boundary = models.MultiPolygonField(_("corrected boundary"), srid=4326, null=True, blank=True)
    base_version = models.PositiveIntegerField(_("asset version in the package"))
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, default=Review.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)
    # Edits by the team's members after it was received: the count is the version a form expects (a change made
    # meanwhile by another member refuses the edit), the history keeps every earlier state.
    edits = models.PositiveIntegerField(default=0)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("field result")
        verbose_name_plural = _("field results")


class ResultPhoto(models.Model):
    """A photo of a result, kept as an evidence document (FOTO_LAPANGAN); ``client_id`` makes its upload
    idempotent."""

    client_id = models.UUIDField(unique=True)
    result = models.ForeignKey(FieldResult, on_delete=models.PROTECT, related_name="photos")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="+")
