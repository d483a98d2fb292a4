"""The page a third-party recipient uses to confirm they deleted the subject's data.

The emailed link (``/fanout/confirm/#t=<token>``) keeps its token in the fragment; the page's
script puts it in the form and pressing the button POSTs it (mail scanners open links, so
opening one confirms nothing). No address ever names the token.
"""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from dsar.fanout import outcomes, recipients
from dsar.fanout.models import TaskStatus
from dsar.notifications.links import fragment_of, secret_from


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request):
    if request.method == "GET":
        return render(request, "fanout/confirm.html", {"ask": True})
    task = recipients.task_for_confirm_token(secret_from(request.POST.get("t"), "t"))
    if task is None or task.system.kind != "notify":
        return render(request, "fanout/confirm.html", {"ask": True, "invalid": True}, status=404)
    confirmed = task.status == TaskStatus.DONE
    if task.status == TaskStatus.WAITING:
        confirmed = outcomes.accept_callback(task=task, ok=True, detail="recipient confirmed") == (
            TaskStatus.DONE
        )
    return render(
        request,
        "fanout/confirm.html",
        {"confirmed": confirmed, "closed": task.status == TaskStatus.FAILED},
    )


@never_cache
@require_GET
def old_link(request, token):
    """A link mailed before tokens moved to the fragment: the same page, token in the fragment."""
    return redirect(fragment_of(reverse("fanout-confirm"), t=token.rstrip("/")))
