"""``{% if user|may:"metrics" %}``: the role table, asked from a staff template."""

from django import template

from dsar.access import permissions

register = template.Library()


@register.filter
def may(user, action: str) -> bool:
    return permissions.can(user, action)


@register.filter
def is_staff_member(user) -> bool:
    return permissions.is_staff_member(user)
