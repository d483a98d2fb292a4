"""``notify``: tell a third party that received the subject's data to delete it too.

Configuration: ``{"recipient": "privacy@partner.example", "language": "zh-hans",
"reminder_days": 3, "cutoff_days": 14}``. The recipient gets the subject's keys and a signed
link; the task is done when they confirm through it (``dsar.fanout.views.confirm``), reminded
every ``reminder_days``, and failed for staff attention after ``cutoff_days``.
"""

from dsar.fanout.connectors import ACCEPTED, FAILED, Outcome, SubjectKeys


def run(*, config: dict, action: str, keys: SubjectKeys, idempotency_key: str, timeout: int,
        confirm_url: str = ""):  # fmt: skip
    from dsar.notifications.services import queue_email

    if not config.get("recipient"):
        return Outcome(FAILED, "No recipient configured.")
    queue_email(
        to=config["recipient"],
        template="fanout_notify",
        context={
            "action": action,
            "keys": keys.as_params(),
            "confirm_url": confirm_url,
            "reference": idempotency_key,
        },  # fmt: skip
        language=config.get("language", "zh-hans"),
    )
    return Outcome(ACCEPTED, "recipient notified; waiting for confirmation")
