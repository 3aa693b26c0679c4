import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def english_messages():
    """Assertions read service and validation messages in English; pages set their own language per request."""
    with translation.override("en"):
        yield
