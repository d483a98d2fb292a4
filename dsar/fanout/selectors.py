from django.db.models import Exists, OuterRef

from dsar.fanout.models import FanoutTask, TaskStatus


def tasks_for(request) -> list[FanoutTask]:
    return list(request.fanout_tasks.select_related("system").order_by("created_at"))


def failed_task_exists() -> Exists:
    """For a queryset of requests: whether one of the request's tasks failed (any action,
    the dry run included); staff retry it or decide without it."""
    return Exists(FanoutTask.objects.filter(request=OuterRef("pk"), status=TaskStatus.FAILED))
