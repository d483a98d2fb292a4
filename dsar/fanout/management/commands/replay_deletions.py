import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dsar.fanout.ledger import replay_deletions


class Command(BaseCommand):
    help = (
        "After restoring a backup taken on DATE, delete again every subject deleted since then "
        "(from the deletion ledger)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="the backup's date, YYYY-MM-DD")

    def handle(self, *args, since, **options):
        try:
            day = dt.date.fromisoformat(since)
        except ValueError as exc:
            raise CommandError("--since must be a date like 2026-11-01.") from exc
        start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
        try:
            count = replay_deletions(since=start)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Replayed {count} deletions recorded since {day}.")
