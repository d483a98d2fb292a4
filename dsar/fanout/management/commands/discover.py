"""``python manage.py discover SYSTEM``: read an sql system's schema and propose its map.

Prints each proposed personal column with its evidence and confidence (never a sampled
value) and the references it inferred; the proposals are stored for staff to accept or
reject in the admin or over the staff API. Nothing proposed is used until accepted.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from dsar.fanout import datamaps
from dsar.fanout.models import DownstreamSystem
from dsar.workflow.errors import Unavailable


class Command(BaseCommand):
    help = "Discover where personal data lives in an sql system and propose a data map."

    def add_arguments(self, parser):
        parser.add_argument("system", help="the downstream system's name")
        parser.add_argument("--sample-size", type=int, default=datamaps.SAMPLE_SIZE)

    def handle(self, *args, system, sample_size, **options):
        try:
            target = DownstreamSystem.objects.get(name=system)
        except DownstreamSystem.DoesNotExist:
            raise CommandError(f"No downstream system is named {system}.") from None
        try:
            found = datamaps.run_discovery(user=None, system=target, sample_size=sample_size)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        except Unavailable as error:
            raise CommandError(str(error)) from None
        tables = found.schema["tables"]
        self.stdout.write(f"{target.name}: {len(tables)} tables read.")
        for proposal in found.proposals:
            identity = f" identity={proposal['identity']}" if proposal["identity"] else ""
            self.stdout.write(
                f"  {proposal['table']}.{proposal['column']}: {proposal['category']}{identity}"
                f" (confidence {proposal['confidence']:.2f}; {'; '.join(proposal['evidence'])})"
            )
        for reference in found.references:
            kind = "declared" if reference["declared"] else "inferred"
            self.stdout.write(f"  reference {reference['from']} -> {reference['to']} ({kind})")
        coverage = datamaps.coverage(target, discovery=found)
        self.stdout.write(
            f"{len(found.proposals)} personal columns proposed; "
            f"{len(coverage['uncovered'])} not covered by the running map."
        )
