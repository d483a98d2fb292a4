"""``{{ due_at|deadline }}``: a deadline shown the one way the product shows it.

Pages and emails in any part load it (it calls ``clock.format_deadline``); it renders in the
active language, which for an email is the recipient's.
"""

from django import template

from dsar.sla import clock

register = template.Library()


@register.filter
def deadline(value):
    return clock.format_deadline(value or None)


@register.filter
def response_policy(request):
    """``{{ req|response_policy }}``: the policy fixed at intake, in one line, with where the
    subject lives."""
    return clock.describe_policy(request, with_jurisdiction=True)


@register.filter
def ack_deadline(request):
    """``{{ req|ack_deadline }}``: by when receipt must be acknowledged ("" if the policy sets
    no such deadline)."""
    due = clock.ack_due_at(request)
    return clock.format_deadline(due) if due else ""
