"""What keeps the public pages usable under abuse: rate limits per address and the forms' own challenge.

Both keep their state in Django's cache. With several processes (gunicorn workers) the cache must be shared
(``SIPANAH_CACHE_URL``, e.g. Redis), otherwise each process counts on its own (docs/public.md).
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest
from django.utils.translation import gettext as _

_SALT = "sipanah.public.challenge"
CHALLENGE_MAX_AGE = 3600  # seconds a form's question stays valid


def client_address(request: HttpRequest) -> str:
    """The address limits count against: REMOTE_ADDR (nginx in deploy/ sets it to the client's real address)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def over_limit(request: HttpRequest, bucket: str) -> bool:
    """Count one request of ``bucket`` ("lookup", "upload", "form", "tile") for the client's address; True when
    it is over ``settings.SIPANAH_PUBLIC_RATES[bucket]`` = (requests, seconds) in the current window."""
    limit, window = settings.SIPANAH_PUBLIC_RATES[bucket]
    slot = int(time.time() // window)
    key = f"sipanah:public:rate:{bucket}:{client_address(request)}:{slot}"
    try:  # the window's counter exists for every request but the first: count on it at once
        count = cache.incr(key)
    except ValueError:  # the window's first request (or the counter expired just now)
        count = 1 if cache.add(key, 1, timeout=window + 1) else cache.incr(key)
    return count > limit


def new_challenge() -> tuple[str, str]:
    """(question, token): a sum of two small numbers, the expected answer signed into the token with a nonce."""
    a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
    token = signing.dumps({"s": a + b, "n": secrets.token_hex(8)}, salt=_SALT, compress=True)
    return _("How much is %(a)s plus %(b)s?") % {"a": a, "b": b}, token


def check_challenge(token: str, reply: str) -> str | None:
    """None when ``reply`` answers the question of ``token`` (each token answers once); else what is wrong."""
    try:
        data = signing.loads(token or "", salt=_SALT, max_age=CHALLENGE_MAX_AGE)
    except signing.SignatureExpired:
        return _("The question has expired: answer the new one.")
    except signing.BadSignature:
        return _("Answer the question below the form.")
    if (reply or "").strip() != str(data["s"]):
        return _("The answer to the question is not right: try again.")
    if not cache.add(f"sipanah:public:challenge:{data['n']}", 1, timeout=CHALLENGE_MAX_AGE + 60):
        return _("This form was already sent: answer the new question.")
    return None
