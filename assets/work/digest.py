"""The daily e-mail digest: to each active user with an e-mail address who has not opted out, one message (plain
text and HTML, in the user's language, Indonesian by default) listing what waits for them (``items_for``) with
absolute links (``SIPANAH_SITE_URL``). Nobody is mailed when nothing waits for them. Sent through Django's e-mail
(``EMAIL_*`` settings) over one connection; a failing address is logged and the others still get theirs.

``User.digest_sent_on`` records the day a user's digest went out, so a second run on the same day (a cron retry
after a failure) mails only those not yet mailed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from assets.work.registry import WorkItem, items_for

log = logging.getLogger(__name__)


@dataclass
class DigestRun:
    sent: list[str] = field(default_factory=list)  # user names mailed
    nothing: list[str] = field(default_factory=list)  # nothing waiting: not mailed
    failed: list[str] = field(default_factory=list)  # the send failed (logged)


def absolute(url: str) -> str:
    """``url`` (a path) on the site users open (SIPANAH_SITE_URL)."""
    if "://" in url:
        return url
    return settings.SIPANAH_SITE_URL.rstrip("/") + "/" + url.lstrip("/")


def language_of(user: Any) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    chosen = getattr(user, "language", "")
    return chosen if chosen in languages else settings.LANGUAGE_CODE


def recipients(today: dt.date, *, force: bool = False, usernames: Iterable[str] = ()) -> Any:
    """Active users with an e-mail address who have not opted out (and, unless ``force``, not mailed ``today``)."""
    qs = get_user_model().objects.filter(is_active=True, digest_opt_out=False).exclude(email="").order_by("pk")
    if not force:
        qs = qs.exclude(digest_sent_on=today)
    names = list(usernames)
    if names:
        qs = qs.filter(username__in=names)
    return qs.select_related("agency")


def message_for(user: Any, items: list[WorkItem], today: dt.date) -> EmailMultiAlternatives:
    """The digest of ``items`` for ``user``, in their language."""
    with translation.override(language_of(user)):
        context = {
            "user": user,
            "items": [_absolute_item(item) for item in items],
            "today": today,
            "home": absolute("/"),
            "settings_url": absolute(reverse("my-settings")),
            "site": settings.SIPANAH_SITE_URL,
        }
        subject = " ".join(render_to_string("work/digest_subject.txt", context).split())
        text = render_to_string("work/digest.txt", context)
        html = render_to_string("work/digest.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(html, "text/html")
    return message


def send_digests(
    *, today: dt.date | None = None, force: bool = False, usernames: Iterable[str] = (), dry_run: bool = False
) -> DigestRun:
    """Mail every recipient their digest; see the module's docstring."""
    today = today or timezone.localdate()
    run = DigestRun()
    connection = None if dry_run else get_connection()
    try:
        for user in recipients(today, force=force, usernames=usernames):
            with translation.override(language_of(user)):
                items = items_for(user)
            if not items:
                run.nothing.append(user.username)
                continue
            if dry_run:
                run.sent.append(user.username)
                continue
            try:
                connection.send_messages([message_for(user, items, today)])  # type: ignore[union-attr]
            except Exception:  # one bad address or a refused message must not stop the others
                log.exception("work digest to %s <%s> failed", user.username, user.email)
                run.failed.append(user.username)
                with contextlib.suppress(Exception):  # broken already: the next send opens a fresh connection
                    connection.close()  # type: ignore[union-attr]
                continue
            get_user_model().objects.filter(pk=user.pk).update(digest_sent_on=today)
            run.sent.append(user.username)
    finally:
        if connection is not None:
            connection.close()
    return run


def _absolute_item(item: WorkItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "count": item.count,
        "url": absolute(item.url),
        "detail": item.detail,
        "severity": item.severity,
        "breakdown": [{"name": b.name, "count": b.count, "url": absolute(b.url)} for b in item.breakdown],
    }
