"""Who may do what: the one table of staff actions and the roles allowed to take them.

Every staff page, API action and service that acts for a staff member checks this table
(`require`). Roles are Django groups (see ``roles.py``); a superuser holds every role. The
Django admin's own model permissions are derived from this table (``ADMIN_SITE``).
"""

from django.core.exceptions import PermissionDenied

from dsar.access.roles import Role

A, L, S, M = Role.AGENT, Role.LEGAL, Role.SUPERVISOR, Role.ADMIN
EVERYONE = frozenset({A, L, S, M})

ACTIONS: dict[str, frozenset[str]] = {
    "view": EVERYONE,  # queue, request page, timeline
    "reveal": frozenset({A, L, S}),  # unmask the subject's identity (audited)
    "claim": frozenset({A, L, S}),
    "assign": frozenset({S, M}),
    "verify": frozenset({A, S}),  # staff review of identity evidence
    "file_request": frozenset({A, S}),  # file a request for a caller (hotline, email, letter)
    "approve": frozenset({A, S}),
    "recheck": frozenset({A, S}),  # ask downstream systems for a fresh dry run (check)
    "request_info": frozenset({A, L, S}),
    "resume": frozenset({A, L, S}),
    "deny": frozenset({L, S}),  # refusals need a legal basis: legal reviewers and supervisors
    "extend": frozenset({A, L, S}),
    "note": EVERYONE,
    "message": frozenset({A, L, S}),
    "answer": frozenset({A, L, S}),  # answer an inquiry or complaint (closes it)
    "propose_fee": frozenset({A, L, S}),  # a cost fee for a repeated request (pauses it)
    "record_fee_payment": frozenset({A, S}),  # the subject paid an accepted fee (resumes it)
    "record_agent": frozenset({A, L, S}),  # a request filed by an authorised agent
    # A deceased subject's relative (PIPL Art. 49): open the evidence, approve or refuse.
    "review_relative": frozenset({L}),
    "arrangements": frozenset({L, M}),  # what deceased users arranged for their data (admin)
    "retry": frozenset({A, S, M}),
    "override": frozenset({L}),  # override a blocking legal finding
    "hold": frozenset({L}),  # place or lift a legal hold
    "metrics": frozenset({L, S, M}),
    "systems": frozenset({M}),  # register and change downstream systems
    "retention": frozenset({L, M}),  # retention rules and their deferred deletions
    "policies": frozenset({L, M}),  # response policies: by when each kind of request is due
    "operations": frozenset({M}),  # calendar overrides, the email outbox, fan-out tasks (admin)
    "audit_trail": frozenset({L, S, M}),  # read the whole audit trail in the admin
    "review_export": frozenset({L, S}),  # inspect an access package, withhold, release it
    "branding": frozenset({M}),  # the company's name, logo, links and contacts (admin)
}

# The Django admin's model permissions, each held by the roles of one action above (given to
# the role groups after every migrate, see ``groups.py``). None on users or groups: whoever
# could edit those could take any role; staff accounts are a superuser's (the operator's) job.
ADMIN_SITE: dict[str, str] = {
    "fanout.view_downstreamsystem": "systems",
    "fanout.add_downstreamsystem": "systems",
    "fanout.change_downstreamsystem": "systems",
    "fanout.view_fanouttask": "operations",
    "sla.view_calendaroverride": "operations",
    "sla.add_calendaroverride": "operations",
    "sla.change_calendaroverride": "operations",
    "sla.delete_calendaroverride": "operations",
    "sla.view_responsepolicy": "policies",
    "sla.add_responsepolicy": "policies",
    "sla.change_responsepolicy": "policies",
    "sla.delete_responsepolicy": "policies",
    "notifications.view_outboundemail": "operations",
    "legal.view_deferreddeletion": "retention",
    "legal.view_deceasedarrangement": "arrangements",
    "legal.add_deceasedarrangement": "arrangements",
    "legal.change_deceasedarrangement": "arrangements",
    "audit.view_auditevent": "audit_trail",
    "branding.view_branding": "branding",
    "branding.add_branding": "branding",
    "branding.change_branding": "branding",
}


def roles_of(user) -> frozenset[str]:
    """The roles a user holds (cached on the user object for the request)."""
    if not (user and user.is_authenticated and user.is_active):
        return frozenset()
    if not hasattr(user, "_dsar_roles"):
        if user.is_superuser:
            user._dsar_roles = EVERYONE
        else:
            names = set(user.groups.values_list("name", flat=True))
            user._dsar_roles = frozenset(names & set(EVERYONE))
    return user._dsar_roles


def can(user, action: str) -> bool:
    return bool(roles_of(user) & ACTIONS[action])


def require(user, action: str) -> None:
    """Raise ``PermissionDenied`` unless ``user`` holds a role allowed to take ``action``."""
    if not can(user, action):
        raise PermissionDenied(f"Your role does not allow this action ({action}).")


def is_staff_member(user) -> bool:
    return bool(roles_of(user))
