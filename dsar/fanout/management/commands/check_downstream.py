"""``python manage.py check_downstream SYSTEM [--enable]``: the conformance check of an http
system (``dsar.fanout.conformance``).

Prints what failed and what passed, in plain words; exits non-zero when anything failed. With
``--enable``, a system that passes is enabled. The callback of a ``202`` comes to this
product's public address (``DSAR_PUBLIC_BASE_URL``): run it where the web server answers.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dsar.fanout import conformance
from dsar.fanout.models import DownstreamSystem


class Command(BaseCommand):
    help = "Check that an http downstream system speaks the protocol, with a synthetic subject."

    def add_arguments(self, parser):
        parser.add_argument("system", help="the downstream system's name")
        parser.add_argument("--enable", action="store_true", help="enable it if it passes")
        parser.add_argument(
            "--wait", type=float, default=conformance.CALLBACK_WAIT_SECONDS,
            help="seconds to wait for each callback after a 202",
        )  # fmt: skip

    def handle(self, *args, system, enable, wait, **options):
        try:
            target = DownstreamSystem.objects.get(name=system)
        except DownstreamSystem.DoesNotExist:
            raise CommandError(f"No downstream system is named {system}.") from None
        if not 0 < wait <= 60:
            raise CommandError("Give --wait between 0 and 60 seconds.")
        try:
            report = conformance.run_check(system=target, enable=enable, wait=wait)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        for line in report.lines():
            self.stdout.write(f"  {line}")
        if not report.passed:
            raise CommandError(
                f"{target.name} does not conform to the downstream protocol v1: "
                f"{len(report.failures)} problems."
                + ("" if target.enabled else " It stays disabled.")
            )
        state = "enabled" if target.enabled else "disabled (run with --enable to enable it)"
        self.stdout.write(f"{target.name} conforms to the downstream protocol v1; it is {state}.")
