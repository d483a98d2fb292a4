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
