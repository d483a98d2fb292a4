"""``django_view(handler, secret)``: the protocol as a Django view (Django is needed only
here). Route it in ``urls.py``: ``path("dsar/", django_view(MyHandler(), secret))``."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from dsar_downstream.endpoint import Endpoint
from dsar_downstream.handler import Handler
from dsar_downstream.signatures import Secrets


def django_view(handler: Handler, secret: Secrets, **options):
    """A view answering POSTs (signed, not CSRF-protected: the signature is the proof);
    ``options`` go to ``Endpoint`` (``store``, ``max_skew``, ``lease``)."""
    endpoint = Endpoint(handler, secret, **options)

    @csrf_exempt
    def view(request):
        if request.method != "POST":
            response = JsonResponse({"error": "POST only."}, status=405)
            response["Allow"] = "POST"
            return response
        status, answer = endpoint.respond(dict(request.headers), request.body)
        return JsonResponse(answer, status=status)

    view.endpoint = endpoint
    return view
