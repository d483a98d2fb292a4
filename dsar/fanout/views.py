"""The page a third-party recipient uses to confirm they deleted the subject's data."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from dsar.fanout import recipients, services
from dsar.fanout.models import TaskStatus


@require_http_methods(["GET", "POST"])
def confirm(request, token):
    task = recipients.task_for_confirm_token(token)
    if task is None or task.system.kind != "notify":
        raise Http404("This link is not valid.")
    confirmed = task.status == TaskStatus.DONE
    if request.method == "POST" and task.status == TaskStatus.WAITING:
        confirmed = services.accept_callback(task=task, ok=True, detail="recipient confirmed") == (
            TaskStatus.DONE
        )
    # Opening the link shows a button; only pressing it confirms (mail scanners open links).
    return render(
        request,
        "fanout/confirm.html",
        {"task": task, "confirmed": confirmed, "closed": task.status == TaskStatus.FAILED},
    )
