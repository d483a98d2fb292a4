"""Staff pages: the queue, one request, and the forms that act on it.

Each view checks the role table, calls one selector or service, and renders. Domain errors
become a message on the page, never a 500.
"""

import mimetypes

from csp.constants import NONE
from csp.decorators import csp
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import defaults
from django.views.decorators.http import require_POST

from dsar.access import permissions
from dsar.audit.services import Actor, record_event
from dsar.corrections import services as corrections
from dsar.corrections.models import Correction
from dsar.fanout import plan as fanout_plan
from dsar.fanout import rechecks
from dsar.fanout import selectors as fanout_selectors
from dsar.fanout import services as fanout_services
from dsar.legal import decisions, fees, holds, representation
from dsar.legal import selectors as legal_selectors
from dsar.legal.models import FEE_CURRENCIES, Finding, LegalHold
from dsar.portal import services as portal_services
from dsar.portal.models import SubjectReply
from dsar.portal.selectors import corrections_for
from dsar.sla import clock
from dsar.sla import services as sla_services
from dsar.sla.selectors import calendar_warnings
from dsar.staff import charts as charts_svg
from dsar.staff import duties, events, hotline, inquiries, metrics, selectors, services
from dsar.staff import relatives as staff_relatives
from dsar.staff.filters import QueueFilter
from dsar.staff.forms import (
    AssignForm,
    DenyForm,
    ExtendForm,
    FileForCallerForm,
    HoldForm,
    LiftForm,
    MessageForm,
    NoteForm,
    OnFileChoiceForm,
    OverrideForm,
    ReasonForm,
    SendCodeForm,
    VerifyForm,
)
from dsar.staff.pagination import CappedPaginator
from dsar.verification import evidence
from dsar.verification import services as verification_services
from dsar.verification.limits import RateLimited
from dsar.verification.models import Channel, Evidence, EvidenceStatus
from dsar.workflow.errors import Conflict
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError

PAGE_SIZE = 25


def _staff_only(user):
    if not permissions.is_staff_member(user):
        raise PermissionDenied("This page is for staff.")


def forbidden(request, exception=None):
    """A refused staff page: translated, inside the staff layout (``handler403``); other
    addresses keep Django's page."""
    if request.path.startswith(reverse("staff:queue")):
        return render(request, "staff/403.html", status=403)
    return defaults.permission_denied(request, exception)


def _calendar_warnings(user, now) -> list[int]:
    """Uncovered holiday years, for the staff who can add the overrides (admin) only."""
    return calendar_warnings(now=now) if permissions.can(user, "operations") else []


@login_required
def queue(request):
    _staff_only(request.user)
    now = timezone.now()
    params = request.GET.copy()
    if not any(params.get(key) for key in ("state", "status", "q", "backups_pending")):
        params["state"] = "open"  # the default queue: open requests, most urgent first
    flt = QueueFilter(params, queryset=selectors.queue_list(now=now), request=request)
    page = CappedPaginator(flt.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(r, clock.days_left(r, now=now)) for r in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/queue.html",
        {
            "filter": flt,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "assign_form": AssignForm(),
            "can_assign": permissions.can(request.user, "assign"),
            "can_file": permissions.can(request.user, "file_request"),
            "calendar_warnings": _calendar_warnings(request.user, now),
        },
    )


@login_required
def file_for_caller(request):
    """The "File a request" form: an agent files for a caller (hotline, email, letter, in
    person); the code goes only to a contact a system holds (``dsar.staff.hotline``)."""
    permissions.require(request.user, "file_request")
    form = FileForCallerForm(request.POST or None, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid():
        try:
            filed = hotline.file_for_caller(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("staff:intake", pk=filed.request.pk)
    return render(request, "staff/file_request.html", {"form": form})


@login_required
def intake(request, pk):
    """A staff-filed request's verification: where the code went, or the contacts on file
    to pick one from (masked), or the evidence route."""
    obj = get_object_or_404(RightsRequest, pk=pk)
    if request.method == "POST":
        form = OnFileChoiceForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError({"choice": [_("Choose one of the contacts on file.")]})
            sent_to = hotline.send_code(
                request=obj, user=request.user, choice=form.cleaned_data["choice"]
            )
        except (ValidationError, TransitionError, RateLimited) as exc:
            for message in getattr(exc, "messages", [str(exc)]):
                messages.error(request, message)
        else:
            messages.success(request, _("Code sent to %(contact)s.") % {"contact": sent_to})
        return redirect("staff:intake", pk=obj.pk)
    try:
        state = hotline.progress(request=obj, user=request.user)
    except ValidationError:
        return redirect("staff:request", pk=obj.pk)
    return render(request, "staff/intake.html", {"req": obj, **state})


@login_required
def request_detail(request, pk, revealed=None):
    _staff_only(request.user)
    now = timezone.now()
    obj = get_object_or_404(selectors.detail(now=now), pk=pk)
    findings = legal_selectors.findings_for(obj)
    filed_by = representation.representation_for(obj)
    return render(
        request,
        "staff/request.html",
        {
            "req": obj,
            "days_left": clock.days_left(obj, now=now),
            "identity": selectors.masked_identity(obj),
            "revealed": revealed,
            "timeline": events.entries(selectors.timeline(obj)),
            "actions": selectors.allowed_actions(obj, user=request.user),
            "verification": selectors.verification_record(obj),
            "evidence": selectors.evidence_awaiting_review(obj),
            "read_back": selectors.read_back_code(obj)
            if obj.status == Status.PENDING_VERIFICATION
            else None,
            "someone_else_approves": obj.status == Status.IN_REVIEW
            and duties.verified_it(obj, request.user),
            "findings": findings,
            "repeat_finding": next(
                (f for f in findings if f.check_name == "repeated_requests"), None
            ),
            "fee": fees.latest_fee(obj),
            "representation": filed_by,
            **staff_relatives.review_context(obj, request.user, filed_by),
            "fee_currencies": FEE_CURRENCIES,
            "holds": legal_selectors.active_holds_for(obj),
            "deny_form": DenyForm(),
            "message_form": MessageForm(),
            "conversation": selectors.conversation(obj),
            "tasks": fanout_selectors.tasks_for(obj),
            "corrections": corrections_for(obj),
            "hold_form": HoldForm(),
            "note_form": NoteForm(),
            "reason_form": ReasonForm(),
            "extend_form": ExtendForm(),
            "assign_form": AssignForm(initial={"assignee": obj.assignee_id or ""}),
        },
    )


def _act(request, pk, run, *, back="staff:request"):
    """Run one staff action from a page form; report its outcome as a message. A refused
    input goes ``back`` to the page of its form."""
    obj = get_object_or_404(selectors.queue(now=timezone.now()), pk=pk)
    try:
        result = run(obj)
    except (Conflict, PermissionDenied, RateLimited) as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(back, pk=obj.pk)
    else:
        if isinstance(result, str):
            messages.success(request, result)
    return redirect("staff:request", pk=obj.pk)


@login_required
def confirm_approval(request, pk):
    """What approving a deletion or cancellation will set off (the systems and their
    actions, the findings), with a box to tick for each advisory finding; the approval
    itself is the POST to ``approve``."""
    _staff_only(request.user)
    permissions.require(request.user, "approve")
    obj = get_object_or_404(selectors.queue(now=timezone.now()), pk=pk)
    if "approve" not in selectors.allowed_actions(obj, user=request.user):
        messages.error(request, _("This request cannot be approved now."))
        return redirect("staff:request", pk=obj.pk)
    return render(
        request,
        "staff/approve.html",
        {
            "req": obj,
            "work": fanout_plan.preview(obj),
            "findings": legal_selectors.findings_for(obj),
        },
    )


def _form(request, form_class):
    form = form_class(request.POST)
    if not form.is_valid():
        raise ValidationError([e for errors in form.errors.values() for e in errors])
    return form


@login_required
@require_POST
def act(request, pk, action):
    _staff_only(request.user)
    user = request.user
    runs = {
        "claim": lambda r: services.claim(request=r, user=user) and _("Claimed."),
        "approve": lambda r: services.approve(
            request=r, user=user, acknowledged=request.POST.getlist("acknowledged")
        )
        and _("Approved."),
        "resume": lambda r: services.resume(request=r, user=user) and _("Resumed."),
        "request-info": lambda r: services.request_info(
            request=r, user=user, reason=_form(request, ReasonForm).cleaned_data["reason"]
        )
        and _("The subject has been asked."),
        "assign": lambda r: services.assign(
            request=r, user=user, assignee_id=_form(request, AssignForm).assignee_id()
        )
        and _("Assigned."),
        "note": lambda r: services.add_note(
            request=r, user=user, body=_form(request, NoteForm).cleaned_data["body"]
        )
        and _("Note added."),
        "send-code": lambda r: _send_code(request, r)
        and _("Code sent. Ask the subject to read it back to you, then enter it below."),
        "verify": lambda r: _verify(request, r) and _("Identity verified; the clock is running."),
        "reject-evidence": lambda r: _reject_evidence(request, r)
        or _("The document was rejected and deleted."),
        "answer": lambda r: inquiries.answer(
            request=r, user=user, body=_form(request, MessageForm).cleaned_data["body"]
        )
        and _("Answered; the subject has been sent the answer."),
        "message": lambda r: services.message_subject(
            request=r, user=user, body=_form(request, MessageForm).cleaned_data["body"]
        )
        and _("Message sent to the subject."),
        "retry": lambda r: fanout_services.retry(
            request=r, user=user, system_id=int(request.POST.get("system", "0") or 0)
        )
        and _("The system will be tried again."),
        "recheck": lambda r: _recheck(request, r),
        "decide-correction": lambda r: _decide_correction(request, r) and _("Decision recorded."),
        "propose-fee": lambda r: fees.propose_fee(
            request=r,
            user=user,
            amount=request.POST.get("amount", ""),
            currency=request.POST.get("currency", "CNY"),
            reason=request.POST.get("reason", ""),
            finding=request.POST.get("finding"),
        )
        and _("Fee proposed; the subject has been told and the clock is paused."),
        "record-fee-payment": lambda r: fees.record_payment(
            request=r, user=user, reference=request.POST.get("reference", "")
        )
        and _("Payment recorded; the request is back in review and the clock runs again."),
        "extend": lambda r: _extend(request, r)
        and _("Deadline extended; the subject has been told why."),
        "deny": lambda r: _deny(request, r) and _("Denied; the subject has been told why."),
        "override": lambda r: _override(request, r) and _("Override recorded."),
        "hold": lambda r: _hold(request, r) and _("Legal hold placed."),
        "lift-hold": lambda r: _lift(request, r) and _("Legal hold lifted."),
        "approve-relative": lambda r: staff_relatives.approve(request, r),
        "refuse-relative": lambda r: staff_relatives.refuse(request, r),
    }
    if action == "reveal":
        # Rendered straight into this response: the clear identity is never stored anywhere.
        obj = get_object_or_404(RightsRequest, pk=pk)
        try:
            revealed = services.reveal_identity(request=obj, user=user)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect("staff:request", pk=obj.pk)
        return request_detail(request, pk, revealed=revealed)
    if action not in runs:
        raise PermissionDenied("Unknown action.")
    back = "staff:confirm-approval" if action == "approve" else "staff:request"
    return _act(request, pk, runs[action], back=back)


def _recheck(request, obj) -> str:
    asked = rechecks.recheck(request=obj, user=request.user)
    if not asked:
        return _("No downstream system runs a dry run (check).")
    return ngettext(
        "%(count)d system asked for a fresh dry run; the legal checks update when it answers.",
        "%(count)d systems asked for a fresh dry run; the legal checks update when they answer.",
        asked,
    ) % {"count": asked}


def _decide_correction(request, obj):
    item = get_object_or_404(Correction, pk=request.POST.get("correction"), request=obj)
    return corrections.decide(
        correction=item,
        user=request.user,
        accept=request.POST.get("decision") == "accept",
        target_field=request.POST.get("target_field", "")[:64],
        value=request.POST.get("value", "")[:2000],
        reason=request.POST.get("reason", "")[:2000],
    )


def _extend(request, obj):
    data = _form(request, ExtendForm).cleaned_data
    return sla_services.extend(
        request=obj, user=request.user, days=data["days"], reason=data["reason"]
    )


def _deny(request, obj):
    data = _form(request, DenyForm).cleaned_data
    return decisions.deny_request(
        request=obj,
        user=request.user,
        basis=data["basis"],
        explanation=data["explanation"],
        basis_detail=data["basis_detail"],
    )


def _override(request, obj):
    data = _form(request, OverrideForm).cleaned_data
    finding = get_object_or_404(Finding, pk=data["finding_id"], request=obj)
    return decisions.override_finding(finding=finding, user=request.user, reason=data["reason"])


def _hold(request, obj):
    data = _form(request, HoldForm).cleaned_data
    return holds.place_hold_for_request(request=obj, user=request.user, **data)


def _lift(request, obj):
    data = _form(request, LiftForm).cleaned_data
    hold = get_object_or_404(LegalHold, pk=data["hold_id"])
    return holds.lift_hold(hold=hold, user=request.user, reason=data["reason"])


def _send_code(request, obj):
    return verification_services.send_staff_code(
        request=obj, user=request.user, channel=_form(request, SendCodeForm).cleaned_data["channel"]
    )


def _verify(request, obj):
    form = _form(request, VerifyForm)
    return verification_services.verify_by_staff(
        request=obj,
        user=request.user,
        evidence_id=form.cleaned_data["evidence_id"],
        code=form.cleaned_data["code"],
        reason=form.cleaned_data["reason"],
    )


def _reject_evidence(request, obj):
    form = _form(request, VerifyForm)
    if not form.cleaned_data["evidence_id"]:
        raise ValidationError(_("Choose the document to reject."))
    evidence.reject_evidence(
        request=obj,
        user=request.user,
        evidence_id=form.cleaned_data["evidence_id"],
        reason=form.cleaned_data["reason"],
    )


# An uploaded file is the subject's bytes, not ours: should a browser ever render it, the
# sandbox gives it no script, no same-origin access to the staff session, and no requests.
@csp({"default-src": [NONE], "sandbox": True})
@login_required
def reply_file(request, pk, reply_id):
    """The file a subject sent with a reply, decrypted, served like evidence; audited."""
    permissions.require(request.user, "message")
    reply = get_object_or_404(SubjectReply.objects.exclude(attachment_type=""), pk=reply_id,
                              request_id=pk)  # fmt: skip
    record_event(
        action="reply.file_viewed",
        actor=Actor.staff(request.user),
        request_id=pk,
        payload={"reply_id": str(reply.pk)},
    )
    response = HttpResponse(portal_services.reply_attachment(reply),
                            content_type=reply.attachment_type)  # fmt: skip
    extension = mimetypes.guess_extension(reply.attachment_type) or ""
    response["Content-Disposition"] = f'attachment; filename="reply-{reply.pk}{extension}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@csp({"default-src": [NONE], "sandbox": True})
@login_required
def evidence_file(request, pk, evidence_id):
    """A pending identity document, decrypted for the reviewer; every view is audited.

    Served as a download (never rendered in the staff site's origin), sandboxed, unsniffed.
    """
    permissions.require(request.user, "verify")
    item = get_object_or_404(Evidence, pk=evidence_id, request_id=pk, status=EvidenceStatus.PENDING)
    content = evidence.evidence_content(item)
    record_event(
        action="evidence.viewed",
        actor=Actor.staff(request.user),
        request_id=pk,
        payload={"evidence_id": str(item.pk)},
    )
    response = HttpResponse(content, content_type=item.content_type)
    extension = mimetypes.guess_extension(item.content_type) or ""
    response["Content-Disposition"] = f'attachment; filename="evidence-{item.pk}{extension}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_POST
def bulk_assign(request):
    _staff_only(request.user)
    form = AssignForm(request.POST)
    ids = request.POST.getlist("requests")
    if not form.is_valid() or not ids:
        messages.error(request, _("Choose requests and a staff member."))
        return redirect("staff:queue")
    try:
        changed = services.bulk_assign(
            request_ids=ids, user=request.user, assignee_id=form.assignee_id()
        )
    except (PermissionDenied, ValidationError, TransitionError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(count)d assigned.") % {"count": changed})
    return redirect("staff:queue")


def _channel_label(value: str) -> str:
    return str(Channel(value).label) if value in Channel.values else value


@login_required
def dashboard(request):
    permissions.require(request.user, "metrics")
    now = timezone.now()
    data = metrics.dashboard(now=now)
    open_types = [t for t in RequestType]
    weekly = data["weekly"]
    charts = {
        "open": charts_svg.rows(
            title=_("Open requests by status and type"),
            items=[
                (str(Status(s).label), [data["open"][s].get(t, 0) for t in open_types])
                for s in data["open"]
            ],
            keys=[str(t.label) for t in open_types],
        ),
        "compliance": charts_svg.stacked(
            title=_("Closed on time and late, by week"),
            columns=[(w["week"][5:], [w["met"], w["missed"]]) for w in weekly],
            keys=[str(_("On time")), str(_("Late"))],
        ),
        "breaches": charts_svg.stacked(
            title=_("Breached deadlines by week"),
            columns=[(w["week"][5:], [w["breaches"]]) for w in weekly],
            keys=[""],
        ),
        "channels": charts_svg.bars(
            title=_("Verified requests by channel"),
            items=[(_channel_label(k), n) for k, n in sorted(data["by_channel"].items())],
        ),
    }
    return render(
        request,
        "staff/dashboard.html",
        {
            "data": data,
            "charts": charts,
            "calendar_warnings": _calendar_warnings(request.user, now),
        },
    )
