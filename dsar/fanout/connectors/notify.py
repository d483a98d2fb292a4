"""``notify``: tell a third party that received the subject's data to delete it too.

Configuration: ``{"recipient": "privacy@partner.example", "language": "zh-hans",
"reminder_days": 3, "cutoff_days": 14}``. The recipient gets the subject's keys and a signed
link; the task is done when they confirm through it (``dsar.fanout.views.confirm``), reminded
every ``reminder_days``, and failed for staff attention after ``cutoff_days``.
"""

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from dsar.fanout.connectors.base import (
    ACCEPTED,
    CONFIRMATION,
    FAILED,
    Call,
    Connector,
    Outcome,
    SubjectKeys,
)
from dsar.notifications.services import queue_email


class Notify(Connector):
    kind, label = "notify", "Third-party recipient (email)"
    actions = frozenset({"delete", "anonymise", "correct"})  # a partner is only told
    guarded = ("recipient",)
    finishes_later = CONFIRMATION

    def config_errors(self, config: dict) -> list[str]:
        try:
            EmailValidator()(config.get("recipient") or "")
        except ValidationError:
            return ['Give "recipient", the email address of the partner to tell.']
        return []

    def describe(self, config: dict) -> str:
        return "email to @" + str(config.get("recipient") or "").rpartition("@")[2]

    def run(self, call: Call) -> Outcome:
        return run(
            config=call.config, action=call.action, keys=call.keys,
            idempotency_key=call.idempotency_key, timeout=call.timeout,
            confirm_url=call.confirm_url,
        )  # fmt: skip


def run(*, config: dict, action: str, keys: SubjectKeys, idempotency_key: str, timeout: int,
        confirm_url: str = ""):  # fmt: skip
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
