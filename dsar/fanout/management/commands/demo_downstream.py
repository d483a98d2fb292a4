"""Serve the demo CRM (``demo-crm``) on 127.0.0.1 for `make run`; see ``dsar.fanout.demo``."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dsar.fanout import demo


class Command(BaseCommand):
    help = "Serve the demo downstream HTTP service registered by seed_demo (demo only)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001)

    def handle(self, *args, port, **options):
        if not settings.DEBUG:
            raise CommandError("demo_downstream is demo only; it runs with DEBUG=1.")
        server = demo.serve_crm(port=port, var_dir=settings.VAR_DIR)
        self.stdout.write(f"Demo CRM listening on http://127.0.0.1:{port}/")
        try:
            server.serve_forever()
        finally:
            server.server_close()
