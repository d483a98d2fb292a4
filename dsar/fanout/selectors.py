from dsar.fanout.models import FanoutTask, TaskStatus


def tasks_for(request) -> list[FanoutTask]:
    return list(request.fanout_tasks.select_related("system").order_by("created_at"))


def needs_attention(request) -> bool:
    return request.fanout_tasks.filter(status=TaskStatus.FAILED).exists()
