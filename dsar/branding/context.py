"""Template context: ``brand``, the company in the page's language, read only when a page
uses it (the portal's header and footer do, the staff pages do not)."""

from django.utils.functional import SimpleLazyObject

from dsar.branding.services import brand


def branding(request):
    return {"brand": SimpleLazyObject(brand)}
