"""consume_and_take: an intake's limits and its address allowance in one round trip, with
the meaning of consume() followed by take()."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from dsar.verification import limits

pytestmark = pytest.mark.usefixtures("fresh_limits")
LOCAL_CACHE = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def counted(limit: limits.Limit) -> int:
    return cache.get(limit.window()[2]) or 0


@pytest.mark.parametrize("backend", ["redis", "local"])
def test_consume_and_take_is_consume_then_take(backend):
    settings = override_settings(CACHES=LOCAL_CACHE) if backend == "local" else None
    if settings:
        settings.enable()
    try:
        spent = limits.Limit("test-ip", "192.0.2.1", "2/hour")
        other = limits.Limit("test-other", "192.0.2.1", "5/hour")
        allowance = limits.Limit("test-address", "hash", "1/hour")
        assert limits.consume_and_take((spent, other), allowance) is True
        assert limits.consume_and_take((spent, other), allowance) is False  # allowance spent
        assert (counted(spent), counted(other), counted(allowance)) == (2, 2, 2)
        with pytest.raises(limits.RateLimited) as refused:
            limits.consume_and_take((spent, other), allowance)
        assert refused.value.retry_after > 0
        # Refused: nothing counted, the allowance included.
        assert (counted(spent), counted(other), counted(allowance)) == (2, 2, 2)
        if backend == "redis":  # each counter expires a minute after its window
            assert cache.ttl(allowance.window()[2]) > allowance.window()[1]
    finally:
        if settings:
            settings.disable()


def test_consume_alone_still_counts_all_or_nothing():
    first = limits.Limit("test-a", "x", "1/minute")
    second = limits.Limit("test-b", "x", "3/minute")
    limits.consume(first, second)
    with pytest.raises(limits.RateLimited):
        limits.consume(first, second)
    assert (counted(first), counted(second)) == (1, 1)
