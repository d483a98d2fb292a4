"""Show a deadline the way people read one: the last day, until 24:00 local time."""

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def deadline(value):
    if not value:
        return "—"
    local = timezone.localtime(value)
    if local.time() == dt.time.min:  # the end of the previous day
        return (local - dt.timedelta(days=1)).strftime("%Y-%m-%d 24:00")
    return local.strftime("%Y-%m-%d %H:%M")
