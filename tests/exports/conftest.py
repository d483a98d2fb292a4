import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Each test files as the same subject; intake limits must not carry over between tests."""
    cache.clear()
