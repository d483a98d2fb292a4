from django.core.management.base import BaseCommand, CommandError

from dsar.audit.sequencer import sequence_events
from dsar.audit.verification import check_trail


class Command(BaseCommand):
    help = (
        "Sequence the committed audit events that await their place, then verify the whole "
        "trail; exit non-zero naming the first broken event."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-sequence",
            action="store_true",
            help="Verify without sequencing first: the database stays as it is (after a break).",
        )

    def handle(self, *args, **options):
        if not options["no_sequence"]:
            sequence_events()
        report = check_trail()
        problems = []
        if report.broken is not None:
            problems.append(
                f"Audit chain broken at event #{report.broken.seq}: {report.broken.reason}."
            )
        for event_id in report.edited_awaiting:
            problems.append(
                f"Audit event id {event_id}, not yet sequenced: its contents were changed "
                "after it was written."
            )
        if problems:
            raise CommandError(" ".join(problems))
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.sequenced} events verified, "
                f"{report.awaiting} awaiting sequencing."
            )
        )
