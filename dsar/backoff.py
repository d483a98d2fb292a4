"""How long to wait before the next attempt of anything we retry (emails, fan-out tasks)."""

import datetime as dt
import random


def backoff(attempts: int, *, base: dt.timedelta, jitter: bool = False) -> dt.timedelta:
    """The wait after ``attempts`` failed attempts: ``base``, twice it, four times it, …

    With ``jitter`` the wait is a random share (half to all) of that, so retries that failed
    together (a downstream outage) do not all come back at the same instant.
    """
    ceiling = base * (2 ** max(attempts - 1, 0))
    if not jitter:
        return ceiling
    share = random.uniform(0.5, 1.0)  # noqa: S311 (spreading load, not a secret)
    return dt.timedelta(seconds=share * ceiling.total_seconds())
