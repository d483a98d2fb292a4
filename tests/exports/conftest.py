import pytest


@pytest.fixture(autouse=True)
def _fresh_limits(fresh_limits):
    """Each test files as the same subject; intake limits must not carry over between tests."""
