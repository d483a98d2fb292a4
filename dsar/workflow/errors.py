"""The domain's one conflict error: what was asked does not fit the state things are in.

Every part raises it (or a subclass such as ``TransitionError``) for a state conflict; the API
maps it to 409 in one place (``dsar/api/errors.py``).
"""


class Conflict(Exception):
    """Not allowed in the current state; nothing was changed."""


class Unavailable(Exception):
    """Something this needs (a downstream database, the broker) cannot be reached now; nothing
    was changed, and asking again later may succeed."""
