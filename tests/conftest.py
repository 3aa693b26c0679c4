import pytest
from django.conf import settings
from django.utils import translation

# The suite reads from the primary even when read replicas are configured (.ci/run's PostGIS run): a TestCase's
# writes stay in its transaction, which no replica sees. tests/scaling turns replica reads on where it tests them.
settings.SIPANAH_READ_REPLICAS = ()


@pytest.fixture(autouse=True)
def english_messages():
    """Assertions read service and validation messages in English; pages set their own language per request."""
    with translation.override("en"):
        yield
