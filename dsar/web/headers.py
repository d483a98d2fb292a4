"""Response headers every answer shares: its Content-Security-Policy and its caching.

``ContentSecurityPolicyMiddleware`` is django-csp's, through its documented extension point:
DRF's browsable API, whose templates carry ``style="…"`` attributes and a ``<style>`` of
pygments, may use inline styles (styles only, and only there; its scripts are files).

``NoStoreMiddleware`` marks every answer the application renders ``Cache-Control: no-store``
unless its view chose its own caching: pages and answers carry personal data or a CSRF
token, and no cache on the way, nor the browser's, should keep them. Static files are served
above it by WhiteNoise and keep their long-lived caching.
"""

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if getattr(getattr(response, "accepted_renderer", None), "format", None) == "api":
            parts.update = {**(parts.update or {}), "style-src": [UNSAFE_INLINE]}
        return parts


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
