from django.core.management.base import BaseCommand, CommandError

from dsar.audit.models import AuditEvent
from dsar.audit.verification import find_first_break


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exit non-zero naming the first broken event."

    def handle(self, *args, **options):
        broken = find_first_break()
        if broken is not None:
            raise CommandError(f"Audit chain broken at event #{broken.seq}: {broken.reason}.")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {count} events verified."))
