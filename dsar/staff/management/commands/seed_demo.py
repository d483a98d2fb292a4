"""Demo data: a staff user per role and a few requests in several states. Safe to re-run."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dsar.access.roles import Role
from dsar.audit.services import Actor
from dsar.fanout import demo
from dsar.workflow.identity import email_hash
from dsar.workflow.models import Outcome, RequestType, RightsRequest, Status
from dsar.workflow.services import create_request
from dsar.workflow.transitions import transition

S = Status
# (email, type, the path of statuses it is walked through after intake)
DEMO_REQUESTS = [
    ("li.lei@example.com", RequestType.ACCESS, []),
    ("han.meimei@example.com", RequestType.DELETION, [S.IN_REVIEW]),
    ("wang.fang@example.com", RequestType.CORRECTION, [S.IN_REVIEW, S.AWAITING_SUBJECT]),
    ("zhang.wei@example.com", RequestType.CANCELLATION, [S.IN_REVIEW, S.COOLING_OFF]),
    ("chen.jing@example.com", RequestType.DELETION, [S.IN_REVIEW, S.PROCESSING]),
    ("liu.yang@example.com", RequestType.ACCESS, [S.IN_REVIEW, S.PROCESSING, S.COMPLETED]),
    ("zhao.lei@example.com", RequestType.DELETION, [S.IN_REVIEW, S.DENIED]),
    ("sun.li@example.com", RequestType.ACCESS, [S.WITHDRAWN]),
]
# Which kind of actor takes each step in the demo.
STEP_ACTOR = {
    S.IN_REVIEW: Actor.subject(),
    S.AWAITING_SUBJECT: None,  # staff
    S.COOLING_OFF: None,
    S.PROCESSING: None,
    S.DENIED: None,
    S.COMPLETED: Actor.system("demo"),
    S.WITHDRAWN: Actor.subject(),
}


class Command(BaseCommand):
    help = "Create demo staff users (one per role, new passwords printed) and demo requests."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off. Never on a real deployment.",
        )
        parser.add_argument(
            "--downstream-port",
            type=int,
            default=None,
            help="Also register the demo downstream systems, the HTTP one on this port "
            "(served by `manage.py demo_downstream --port N`).",
        )

    def handle(self, *args, allow_production, downstream_port, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("seed_demo creates known logins; it runs only with DEBUG=1.")
        if downstream_port is not None:
            names = demo.register(var_dir=settings.VAR_DIR, crm_port=downstream_port)
            self.stdout.write(f"Demo downstream systems: {', '.join(names)}.")
            for line in demo.shop_map_summary():
                self.stdout.write(line)
        logins = self._seed_staff()
        created = self._seed_requests(agent=get_user_model().objects.get(username="agent"))
        self.stdout.write(f"Demo requests: {created} created, {len(DEMO_REQUESTS) - created} kept.")
        self.stdout.write("Demo logins (passwords are new on every run):")
        for username, password in logins:
            self.stdout.write(f"  {username:<11} {password}")

    @transaction.atomic
    def _seed_staff(self) -> list[tuple[str, str]]:
        User = get_user_model()
        logins = []
        for role in Role:
            user, _ = User.objects.get_or_create(
                username=role.value, defaults={"email": f"{role.value}@example.com"}
            )
            # Staff (the admin site's gate), never superusers: a superuser holds every role,
            # and what each role reaches in /admin/ comes from the role table (access/groups.py).
            user.is_staff, user.is_superuser = True, False
            password = secrets.token_urlsafe(9)
            user.set_password(password)
            user.save()
            user.groups.add(Group.objects.get_or_create(name=role.value)[0])
            logins.append((role.value, password))
        return logins

    def _seed_requests(self, *, agent) -> int:
        created = 0
        for email, type_, path in DEMO_REQUESTS:
            if RightsRequest.objects.filter(email_hash=email_hash(email), type=type_).exists():
                continue
            with transaction.atomic():
                request = create_request(type=type_, email=email, description="Demo request")
                for to in path:
                    transition(
                        request,
                        to=to,
                        actor=STEP_ACTOR[to] or Actor.staff(agent),
                        outcome=Outcome.FULL if to == S.COMPLETED else "",
                        reason="demo",
                    )
            created += 1
        return created
