"""Models of the transfer room: the import jobs of web uploads (assets.transfer.jobs)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from assets.register.models import Agency, User


class ImportJob(models.Model):
    """One uploaded file and what became of it: preview (dry run), then the import, run by ``manage.py run_worker``."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        PREVIEWED = "previewed", _("Checked, waiting for confirmation")
        DONE = "done", _("Imported")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(User, verbose_name=_("user"), on_delete=models.PROTECT, related_name="import_jobs")
    original_name = models.CharField(_("file name"), max_length=255)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=500)
    layer = models.CharField(_("layer"), max_length=200, blank=True)
    srid = models.CharField(_("source CRS"), max_length=2000, blank=True)
    repair = models.BooleanField(_("repair invalid geometry"), default=False)
    # the column mapping (a mapping file's JSON: fields, constants, defaults; {}: the known spellings only)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    strict = models.BooleanField(_("overlaps are errors"), default=False)
    update_mode = models.CharField(_("an update may overwrite"), max_length=16, default="all")
    commit = models.BooleanField(_("import (not only check)"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.IntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(_("report"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"


class AgencyMapping(models.Model):
    """An agency's saved column mapping (a mapping file's JSON), offered for its next uploads."""

    agency = models.OneToOneField(Agency, verbose_name=_("agency"), on_delete=models.CASCADE,
                                  related_name="import_mapping")  # fmt: skip
    mapping = models.JSONField(_("column mapping"), default=dict)
    updated_by = models.ForeignKey(User, verbose_name=_("saved by"), on_delete=models.SET_NULL, null=True,
                                   related_name="+")  # fmt: skip
    updated_at = models.DateTimeField(_("saved at"), auto_now=True)

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")

    def __str__(self) -> str:
        return str(self.agency)


class PrintJob(models.Model):
    """A printed output too long to render while the browser waits (the city's KIB A, a whole-city audit report),
    rendered by the worker (assets.transfer.print_jobs): its kind, the page's parameters and language, the file."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Being printed")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=32)  # a printer registered in assets.transfer.print_jobs
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    params = models.TextField(_("parameters"), blank=True)  # the page's query string
    language = models.CharField(max_length=8, default="id")
    pages = models.PositiveIntegerField(_("pages (estimated)"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to="prints/%Y/%m", blank=True)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("print job")
        verbose_name_plural = _("print jobs")

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} {self.status}"
