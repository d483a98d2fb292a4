"""What each move of a request sets off, in one readable list above the core.

``dsar.workflow`` knows nothing of the parts: ``transition()`` runs the guards, entries and
reactions registered here (see ``dsar.workflow.hooks``), and record retention runs the
anonymisers. Each line names the part that reacts; order matters where a comment says so.
"""

_connected = False


def connect() -> None:
    """Register every part's hooks once (called from this app's ``ready()``)."""
    global _connected
    if _connected:
        return
    _connected = True
    # Imported here, not at the top: this package is imported while the app registry loads,
    # before any model may be.
    from dsar.corrections import services as corrections
    from dsar.exports import services as exports
    from dsar.fanout import cancellation, completion, ledger, optout, plan
    from dsar.fanout import services as fanout
    from dsar.legal import decisions, engine, fees, relatives, representation
    from dsar.legal import retention as legal_retention
    from dsar.notifications import services as notifications
    from dsar.portal import services as portal
    from dsar.sla import lifecycle as sla
    from dsar.staff import services as staff
    from dsar.verification import retention as verification
    from dsar.workflow import hooks
    from dsar.workflow.models import Outcome, RequestType, Status

    S, T = Status, RequestType

    # Guards: a blocking legal finding refuses the work (SPEC §5); corrections wait for every
    # proposed change to be decided.
    hooks.guard(engine.refuse_while_blocked, to=[S.COOLING_OFF, S.PROCESSING])
    hooks.guard(corrections.require_all_decided, to=[S.PROCESSING], types=[T.CORRECTION])
    # A cost fee: nothing goes on before the subject accepted it and its payment is recorded.
    hooks.guard(fees.refuse_while_unpaid, to=[S.IN_REVIEW], frm=[S.AWAITING_SUBJECT])
    hooks.guard(
        fees.refuse_while_unpaid, to=[S.COOLING_OFF, S.PROCESSING, S.COMPLETED], frm=[S.IN_REVIEW]
    )
    # An authorised agent's request: no work before the subject confirmed it on file; a
    # deceased subject's relative's: none before legal approved the evidence (PIPL Art. 49).
    hooks.guard(
        representation.refuse_until_confirmed,
        to=[S.COOLING_OFF, S.PROCESSING, S.COMPLETED], frm=[S.IN_REVIEW],
        types=[t for t in T if t != T.MARKETING_OPT_OUT],  # an opt-out discloses nothing
    )  # fmt: skip

    # Entries: fields the move implies. The SLA clock goes last: it reads the final row.
    hooks.entry(cancellation.start_cooling_off, to=[S.COOLING_OFF])
    hooks.entry(sla.enter)

    # Reactions, in the move's transaction (asynchronous work is published after commit).
    # Just verified: the request has no findings yet, so the engine reads none.
    hooks.reaction(
        lambda r: engine.run_checks(r, stage="review", first=True),
        to=[S.IN_REVIEW], frm=[S.PENDING_VERIFICATION],
    )  # fmt: skip
    hooks.reaction(
        lambda r: engine.run_checks(r, stage="review"),
        to=[S.IN_REVIEW], frm=[s for s in S if s != S.PENDING_VERIFICATION],
    )  # fmt: skip
    # An opt-out gets no dry run (no account check), nor does a question or complaint; an
    # opt-out starts its work by itself, after the review's checks above have run.
    # A relative's request gets its dry runs only once legal approved (nothing goes
    # downstream about the deceased before), and the relative is told.
    hooks.reaction(
        lambda r: None if relatives.awaits_review(r) else fanout.start_checks(r),
        to=[S.IN_REVIEW], frm=[S.PENDING_VERIFICATION],
        types=sorted(plan.DRY_RUN_TYPES),
    )  # fmt: skip
    relatives.when_approved(fanout.start_checks)
    relatives.when_approved(relatives.tell_relative_approved)
    hooks.reaction(
        optout.schedule, to=[S.IN_REVIEW], frm=[S.PENDING_VERIFICATION],
        types=[T.MARKETING_OPT_OUT],
    )  # fmt: skip
    hooks.reaction(
        lambda r: legal_retention.schedule_deferred_deletions(request=r),
        to=[S.PROCESSING], types=[T.DELETION, T.CANCELLATION],
    )  # fmt: skip
    hooks.reaction(cancellation.tell_subject, to=[S.COOLING_OFF])
    hooks.reaction(fees.close_on_withdrawal, to=[S.WITHDRAWN])
    # Documents of who filed for whom are kept no longer than the request is open.
    hooks.reaction(relatives.purge_documents, to=[S.COMPLETED, S.DENIED, S.WITHDRAWN, S.EXPIRED])
    hooks.reaction(fanout.start, to=[S.PROCESSING])  # the fan-out (SPEC §6)
    hooks.reaction(corrections.tell_subject, to=[S.COMPLETED], types=[T.CORRECTION])
    hooks.reaction(exports.build_package, to=[S.COMPLETED], types=[T.ACCESS])
    hooks.reaction(decisions.tell_partial_outcome, to=[S.COMPLETED], outcome=Outcome.PARTIAL)
    hooks.reaction(
        completion.tell_subject, to=[S.COMPLETED], types=[T.DELETION, T.CANCELLATION],
        outcome=Outcome.FULL,
    )  # fmt: skip

    # A retained category's period ended: the systems that kept it delete it now.
    legal_retention.when_period_ends(plan.delete_category)

    # Record retention (SPEC §8): each part strips its own rows of a closed request.
    for part in (
        verification,
        corrections,
        portal,
        staff,
        decisions,
        fees,
        representation,
        relatives,
        exports,
        notifications,
    ):
        hooks.anonymiser(part.anonymise)
    hooks.purger(ledger.purge_released)
