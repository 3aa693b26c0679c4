"""The daily digest through Django's real SMTP backend to a local SMTP server (aiosmtpd), read as it arrives."""

from __future__ import annotations

import email
import email.policy
import socket

from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from assets.models import User
from assets.work import digest
from tests.factories import load_reference, make_user, temp_media_root
from tests.work.fixtures import TODAY, build_register

SITE = "https://sipanah.example.go.id"
REFUSED = "nobody@refused.example"


class Sink:
    """aiosmtpd handler: keeps every message; refuses the REFUSED mailbox."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        if address == REFUSED:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpCase(TestCase):
    def setUp(self):
        cache.clear()  # the findings' counts are cached per data version
        self.sink = Sink()
        port = free_port()
        self.smtp = Controller(self.sink, hostname="127.0.0.1", port=port)
        self.smtp.start()
        self.addCleanup(self.smtp.stop)
        mail = override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend", EMAIL_HOST="127.0.0.1", EMAIL_PORT=port,
            EMAIL_USE_TLS=False, EMAIL_HOST_USER="", EMAIL_HOST_PASSWORD="", SIPANAH_SITE_URL=SITE,
            DEFAULT_FROM_EMAIL="Sipanah <sipanah@bpkad.example.go.id>",
        )  # fmt: skip
        mail.enable()
        self.addCleanup(mail.disable)


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


class DigestOverSmtpTest(SmtpCase):
    @classmethod
    def setUpTestData(cls):
        temp_media_root(cls.addClassCleanup)
        data = build_register()
        cls.users, cls.a, cls.b = data["users"], data["a"], data["b"]
        # made first, so the failure comes before the others are sent
        cls.refused = make_user("refused", "bpkad")
        User.objects.filter(pk=cls.refused.pk).update(email=REFUSED)
        emails = {
            "officer_a": ("officer.a@balikpapan.example", ""),  # the default language: Indonesian
            "bpkad": ("bpkad@balikpapan.example", "en"),
            "auditor": ("auditor@balikpapan.example", ""),
            "planner": ("planner@balikpapan.example", ""),  # nothing waits for a planner
            "officer_b": ("", ""),  # no address: never mailed
        }
        for name, (address, language) in emails.items():
            User.objects.filter(pk=cls.users[name].pk).update(email=address, language=language)
        User.objects.filter(pk=cls.users["auditor"].pk).update(digest_opt_out=True)
        User.objects.filter(pk=cls.users["admin"].pk).update(email="admin@balikpapan.example", is_active=False)

    def test_digest_arrives_for_those_with_work_in_their_language(self):
        with self.assertLogs("assets.work.digest", "ERROR") as logs:
            run = digest.send_digests()
        self.assertIn("refused", logs.output[0])
        self.assertEqual(run.failed, ["refused"])
        self.assertEqual(sorted(run.sent), ["bpkad", "officer_a"])
        self.assertEqual(run.nothing, ["planner"])
        received = sorted(m["X-Envelope-To"] for m in self.sink.messages)
        self.assertEqual(received, ["bpkad@balikpapan.example", "officer.a@balikpapan.example"])

        (officer,) = self.sink.to("officer.a@balikpapan.example")
        self.assertEqual(officer["To"], "officer.a@balikpapan.example")
        self.assertIn("sipanah@bpkad.example.go.id", officer["From"])
        self.assertIn("Desember", officer["Subject"])  # Indonesian date: the user's default language
        text, html = parts(officer)
        self.assertIn('<html lang="id">', html)
        for link in (
            f"{SITE}/audit/findings/stuck/?agency={self.a.code}",
            f"{SITE}/assets/?plotting=unknown&agency={self.a.code}",
            f"{SITE}/audit/findings/area-mismatch/?agency={self.a.code}",
            f"{SITE}/imports/?waiting=1",
            f"{SITE}/settings/",
        ):
            self.assertIn(link, text)
            self.assertIn(link.replace("&", "&amp;"), html)
        self.assertNotIn(self.b.code, text + html)  # nothing of another agency
        self.assertNotIn("/evidence/loans/", text)

        (bpkad,) = self.sink.to("bpkad@balikpapan.example")
        self.assertIn("December", bpkad["Subject"])
        text, html = parts(bpkad)
        self.assertIn('<html lang="en">', html)
        self.assertIn("Hello", text)
        self.assertIn(f"{SITE}/evidence/loans/", text)
        self.assertIn(f"{self.b.name}: 2", text)  # the per-agency counts
        self.assertIn(f"{SITE}/assets/?plotting=unknown&amp;agency={self.b.code}", html)

        marked = dict(User.objects.filter(digest_sent_on=TODAY).values_list("username", "email"))
        self.assertEqual(set(marked), {"bpkad", "officer_a"})

    def test_second_run_same_day_mails_only_who_was_missed(self):
        with self.assertLogs("assets.work.digest", "ERROR"):
            digest.send_digests()
        self.sink.messages.clear()
        User.objects.filter(pk=self.refused.pk).update(email="refused@balikpapan.example")  # the address fixed
        digest.send_digests()
        self.assertEqual([m["X-Envelope-To"] for m in self.sink.messages], ["refused@balikpapan.example"])
        self.sink.messages.clear()
        digest.send_digests(force=True, usernames=["officer_a"])
        self.assertEqual([m["X-Envelope-To"] for m in self.sink.messages], ["officer.a@balikpapan.example"])

    def test_opt_out_respected_and_command_reports_failure(self):
        User.objects.filter(pk=self.users["bpkad"].pk).update(digest_opt_out=True)
        with self.assertLogs("assets.work.digest", "ERROR"), self.assertRaisesMessage(CommandError, "refused"):
            call_command("send_work_digest", stdout=open("/dev/null", "w"))  # noqa: SIM115
        self.assertEqual([m["X-Envelope-To"] for m in self.sink.messages], ["officer.a@balikpapan.example"])

    def test_dry_run_sends_nothing(self):
        run = digest.send_digests(dry_run=True)
        self.assertEqual(sorted(run.sent), ["bpkad", "officer_a", "refused"])
        self.assertEqual(self.sink.messages, [])
        self.assertFalse(User.objects.filter(digest_sent_on__isnull=False).exists())


class NothingWaitingTest(SmtpCase):
    def test_nobody_is_mailed_when_nothing_waits(self):
        load_reference()
        for name, role in (("bpkad", "bpkad"), ("auditor", "auditor"), ("admin", "admin")):
            user = make_user(name, role)
            User.objects.filter(pk=user.pk).update(email=f"{name}@balikpapan.example")
        run = digest.send_digests()
        self.assertEqual(run.sent, [])
        self.assertEqual(sorted(run.nothing), ["admin", "auditor", "bpkad"])
        self.assertEqual(self.sink.messages, [])
