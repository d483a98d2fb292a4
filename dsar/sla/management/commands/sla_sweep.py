from django.core.management.base import BaseCommand

from dsar.sla import services


class Command(BaseCommand):
    help = "Send the SLA due-soon warnings and breach emails that are due (each once)."

    def add_arguments(self, parser):
        parser.add_argument("--digest", action="store_true", help="also send today's digest")

    def handle(self, *args, digest=False, **options):
        sent = services.sweep()
        self.stdout.write(f"SLA sweep: {sent['warning']} warnings, {sent['breach']} breaches.")
        if digest:
            listed = services.send_daily_digest()
            self.stdout.write(
                "Digest already sent today." if listed is None else f"Digest: {listed} listed."
            )
