"""Rate limits on intake and code resends, counted in the shared cache (Redis in production).

Fixed windows keyed by the scope and a keyed hash of what is counted (an IP address, an
identity, a request id), so the cache never holds personal data in the clear. Windows follow
``timezone.now()``, so frozen time in tests moves them exactly.
"""

import contextlib
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _

from dsar.crypto.keys import keyed_hash

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}


class RateLimited(Exception):
    """Too many attempts; ``retry_after`` says in how many seconds the window reopens."""

    def __init__(self, retry_after: int):
        super().__init__(
            _("Too many attempts. Try again in %(seconds)d seconds.") % {"seconds": retry_after}
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    scope: str
    subject: str
    rate: str  # "<count>/<minute|hour|day>", validated in settings

    def window(self) -> tuple[int, int, str]:
        count, _, period = self.rate.partition("/")
        seconds = PERIODS[period]
        now = int(timezone.now().timestamp())
        start = now - now % seconds
        key = f"dsar:rl:{self.scope}:{keyed_hash(self.scope + ':' + self.subject)}:{start}"
        return int(count), start + seconds - now, key


# One round trip for consume() and consume_and_take(): the limits to consume are checked and,
# when none is used up, each is counted with its expiry, and so is the one to take (the last
# key, when ARGV[1] is '1'), atomically (a script runs alone in Redis). Returns the positions
# (from 1) of the used-up limits, none when it counted, and the count of the last key counted.
CONSUME = """
local consumed = #KEYS - tonumber(ARGV[1])
local full = {}
for i = 1, consumed do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2 * i]) then
    full[#full + 1] = i
  end
end
local used = 0
if #full == 0 then
  for i, key in ipairs(KEYS) do
    redis.call('SET', key, 0, 'EX', ARGV[2 * i + 1], 'NX')
    used = redis.call('INCR', key)
  end
end
return {full, used}
"""
_scripts: dict = {}


def _redis():
    """The Redis client behind the cache, or None for another backend (the embedded default
    keeps its cache in the database)."""
    client = getattr(cache, "client", None)
    return client.get_client(write=True) if hasattr(client, "get_client") else None


def check(*limits: Limit) -> None:
    """Raise ``RateLimited`` if any of ``limits`` is used up; count nothing."""
    windows = [limit.window() for limit in limits]
    counts = cache.get_many([key for _, _, key in windows])  # one round trip
    waits = [
        max(remaining, 1)
        for allowed, remaining, key in windows
        if (counts.get(key) or 0) >= allowed
    ]
    if waits:
        raise RateLimited(max(waits))


def hit(*limits: Limit) -> None:
    """Count one use against each of ``limits``."""
    for limit in limits:
        _count(limit)


def _count(limit: Limit) -> tuple[bool, int]:
    """Count one use of ``limit`` (atomic: Redis ``INCR``); whether it was within the limit,
    and the seconds left in its window."""
    allowed, remaining, key = limit.window()
    client = _redis()
    if client is not None:  # the counter made with its expiry and counted in one round trip
        pipe = client.pipeline(transaction=True)
        pipe.set(cache.make_key(key), 0, ex=remaining + 60, nx=True)
        pipe.incr(cache.make_key(key))
        used = pipe.execute()[1]
        return used <= allowed, remaining
    # add() creates the counter with its expiry; incr() is atomic in Redis.
    cache.add(key, 0, timeout=remaining + 60)
    try:
        used = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=remaining + 60)
        used = 1
    return used <= allowed, remaining


def take(limit: Limit) -> bool:
    """Count one use of ``limit`` and say whether it was within the limit: two callers racing
    for the last use never both get it."""
    return _count(limit)[0]


def consume(*limits: Limit) -> None:
    """Check every limit, then count one use against each: all or nothing."""
    if _redis() is None:
        check(*limits)
        hit(*limits)
        return
    _consume([limit.window() for limit in limits], take=False)


def consume_and_take(consumed: tuple[Limit, ...], taken: Limit) -> bool:
    """``consume(*consumed)``, then ``take(taken)``, in one round trip: ``RateLimited`` with
    nothing counted if any of ``consumed`` is used up; else whether the use of ``taken`` was
    within its limit."""
    if _redis() is None:
        consume(*consumed)
        return take(taken)
    windows = [limit.window() for limit in (*consumed, taken)]
    return _consume(windows, take=True) <= windows[-1][0]


def _consume(windows: list[tuple[int, int, str]], *, take: bool) -> int:
    """Run ``CONSUME`` on these windows (the last one to take, if ``take``); the count of the
    last window after this use."""
    client = _redis()
    if "consume" not in _scripts:
        _scripts["consume"] = client.register_script(CONSUME)
    full, used = _scripts["consume"](
        keys=[cache.make_key(key) for _, _, key in windows],
        args=[int(take)]
        + [value for allowed, remaining, _ in windows for value in (allowed, remaining + 60)],
        client=client,
    )
    if full:
        raise RateLimited(max(max(windows[i - 1][1], 1) for i in full))
    return used


def take_or_refuse(*limits: Limit) -> None:
    """Count one attempt against each of ``limits``, then raise ``RateLimited`` if any is over.

    For attempts whose work is costly or must not be repeated (a password check): the attempt
    is counted before the work, so concurrent attempts cannot all pass a check that none of
    them has counted yet. An attempt refused here is counted too; its window still ends on
    time, because windows are fixed.
    """
    waits = [max(remaining, 1) for within, remaining in map(_count, limits) if not within]
    if waits:
        raise RateLimited(max(waits))


def give_back(*limits: Limit) -> None:
    """Uncount one attempt ``take_or_refuse`` counted against each of ``limits`` (it went well)."""
    for limit in limits:
        _, _, key = limit.window()
        # ValueError: the window has ended meanwhile, and there is nothing to give back.
        with contextlib.suppress(ValueError):
            cache.decr(key)


def reset(*limits: Limit) -> None:
    """Forget every attempt counted against ``limits`` in their current window."""
    cache.delete_many([limit.window()[2] for limit in limits])
