"""Public pages: choose a right, file a request, verify, follow it, reply, withdraw.

Every page works without JavaScript. The pages of one request open with a page key cookie
(``tokens.keep_open``), got by filing the request, confirming its one-click link, or POSTing
its status token to ``open`` (the emailed link carries the token in its fragment, which the
page's script or the person pastes into the form). No token is ever put in an address: servers
log addresses. A token that does not fit is a 404. Views parse input, call one service and
render.
"""

import functools
import uuid
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dsar.branding import services as branding
from dsar.legal import fees, representation
from dsar.legal.relatives import RELATIVE_TYPES
from dsar.notifications.links import fragment_of, secret_from
from dsar.portal import forms, selectors, services, timeline
from dsar.verification import evidence as evidence_service
from dsar.verification import services as verification
from dsar.verification import tokens
from dsar.verification.limits import RateLimited
from dsar.verification.selectors import current_challenge
from dsar.workflow.models import RequestType, RightsRequest, Status
from dsar.workflow.transitions import TransitionError

RIGHTS = [
    (RequestType.ACCESS, "portal/rights/access.html"),
    (RequestType.CORRECTION, "portal/rights/correction.html"),
    (RequestType.DELETION, "portal/rights/deletion.html"),
    (RequestType.CANCELLATION, "portal/rights/cancellation.html"),
    (RequestType.CONSENT_WITHDRAWAL, "portal/rights/consent_withdrawal.html"),
    (RequestType.MARKETING_OPT_OUT, "portal/rights/marketing_opt_out.html"),
    (RequestType.INQUIRY, "portal/rights/inquiry.html"),
    (RequestType.COMPLAINT, "portal/rights/complaint.html"),
]


def BAD_LINK() -> str:  # noqa: N802 (a message, translated when shown)
    return _("This link does not open a request. Copy the whole link from our latest message.")


def client_ip(request) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR", "")


def _limited(request, exc: RateLimited):
    response = render(request, "portal/limited.html", {"retry_after": exc.retry_after}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


def _page(name: str, rights_request: RightsRequest, **query) -> str:
    """The address of one of the request's pages: never a token in it (the cookie opens it)."""
    url = reverse(name, kwargs={"pk": rights_request.pk})
    return url + ("?" + urlencode(query) if query else "")


def _open_page(request, pk, *, status=200, error=""):
    """The page that asks for the link (its script takes the secret from the fragment). The
    same for every id, known or not, so it tells nobody whether a request exists."""
    return render(request, "portal/open.html", {"pk": pk, "error": error}, status=status)


def opened(view):
    """Run ``view`` with the request this browser's page key opens; without one, show the page
    that asks for the link. An old link (``?t=`` from before fragments) moves to a fragment; a
    form rendered before page keys still sends its token in the body (404 if it does not fit)."""

    @functools.wraps(view)
    def wrapper(request, pk, **kwargs):
        if request.method == "GET" and "t" in request.GET:
            return redirect(fragment_of(request.path, t=request.GET["t"]))
        rights_request = selectors.opened_request(request_id=tokens.opened_request_id(request, pk))
        if rights_request is None and "t" in request.POST:  # a form rendered before page keys
            try:
                rights_request = selectors.request_for_token(request_id=pk, token=request.POST["t"])
            except Http404:
                return _open_page(request, pk, status=404, error=BAD_LINK())
        if rights_request is None:
            return _open_page(request, pk, status=200 if request.method == "GET" else 403)
        response = view(request, rights_request, **kwargs)
        tokens.keep_open(response, rights_request.pk)
        return response

    return wrapper


def _add_errors(form, exc: ValidationError) -> None:
    for field, messages in exc.message_dict.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


@require_GET
def home(request):
    return render(request, "portal/home.html", {"rights": RIGHTS})


@require_GET
def logo(request, version):
    """The company's logo (any ``version``: the pages name the current one so browsers never
    keep an old logo). Served with the type its content has, never one guessed from a name."""
    found = branding.logo()
    if found is None:
        raise Http404
    data, content_type = found
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
def file_request(request, type):
    if type not in RequestType.values:
        raise Http404
    data = request.POST if request.method == "POST" else None
    form = forms.RequestForm(data, request.FILES if data else None)
    corrections = forms.CorrectionFormSet(data, prefix="corrections")
    is_correction = type == RequestType.CORRECTION
    if request.method == "POST":
        if form.is_bot:  # a bot filled the honeypot: answer politely, keep nothing
            return render(request, "portal/received.html")
        valid = form.is_valid() and (not is_correction or corrections.is_valid())
        if valid:
            proposals = [c.proposal() for c in corrections] if is_correction else []
            try:
                filed = services.file_request(
                    type=type,
                    email=form.cleaned_data["email"],
                    phone=form.cleaned_data["phone"],
                    full_name=form.cleaned_data["full_name"],
                    account_id=form.cleaned_data["account_id"],
                    description=form.cleaned_data["description"],
                    jurisdiction=form.cleaned_data["jurisdiction"],
                    purposes=form.cleaned_data["purposes"],
                    corrections=[p for p in proposals if p],
                    language=translation.get_language(),
                    ip=client_ip(request),
                    **form.on_behalf(),
                )
            except RateLimited as exc:
                return _limited(request, exc)
            except ValidationError as exc:
                _add_errors(form, exc)
            else:
                if form.on_behalf()["filed_as"] == services.FiledAs.AGENT:
                    # The subject verifies and confirms from their own messages: the agent's
                    # browser gets no key to the request's pages.
                    return render(request, "portal/agent_filed.html", {"req": filed})
                response = redirect(_page("portal:verify", filed))
                tokens.keep_open(response, filed.pk)  # whoever filed it follows it
                return response
    context = {
        "type": type,
        "type_label": RequestType(type).label,
        "form": form,
        "corrections": corrections if is_correction else None,
        "names_purposes": type == RequestType.CONSENT_WITHDRAWAL,
        "relative_may_ask": type in RELATIVE_TYPES,
        "agent_may_ask": type != RequestType.MARKETING_OPT_OUT,
    }
    # A POST that gets here did not file anything: its input needs correcting.
    return render(request, "portal/form.html", context, status=400 if data else 200)


@require_POST
def open_request(request, pk):
    """Trade the status token from the link (in the POST body) for the page key cookie."""
    token = secret_from(request.POST.get("t"), "t")
    try:
        rights_request = selectors.request_for_token(request_id=pk, token=token)
    except Http404:
        return _open_page(request, pk, status=404, error=BAD_LINK())
    response = redirect(_page("portal:status", rights_request))
    tokens.keep_open(response, rights_request.pk)
    return response


@require_http_methods(["GET", "POST"])
def lookup(request):
    """Lost the link? The reference and the address re-send it; the answer never says
    whether they matched."""
    form = forms.LookupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.resend_status_link(
                reference=form.cleaned_data["reference"],
                contact=form.cleaned_data["contact"],
                ip=client_ip(request),
            )
        except RateLimited as exc:
            return _limited(request, exc)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return render(request, "portal/lookup.html", {"form": None, "sent": True})
    status = 400 if form.errors else 200
    return render(request, "portal/lookup.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@opened
def verify(request, rights_request):
    if rights_request.status != Status.PENDING_VERIFICATION:
        return redirect(_page("portal:status", rights_request))
    form = forms.CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            verification.verify_code(request=rights_request, code=form.cleaned_data["code"])
        except verification.VerificationFailed as exc:
            form.add_error("code", str(exc))
        except TransitionError:
            pass  # verified meanwhile (e.g. by the link): the status page says so
        if not form.errors:
            return redirect(_page("portal:status", rights_request))
    context = {
        "req": rights_request,
        "form": form,
        "resent": request.GET.get("resent") == "1",
        # No code yet: the address limit held this request's message back (see the page).
        "held_back": current_challenge(rights_request) is None,
    }
    return render(request, "portal/verify.html", context, status=400 if form.errors else 200)


@require_POST
@opened
def resend(request, rights_request):
    try:
        verification.resend_code(request=rights_request, ip=client_ip(request))
    except RateLimited as exc:
        return _limited(request, exc)
    except TransitionError:
        return redirect(_page("portal:status", rights_request))
    return redirect(_page("portal:verify", rights_request, resent=1))


@require_http_methods(["GET", "POST"])
def confirm(request, pk, challenge):
    """The one-click link. GET only shows a button: mail scanners that open links must not
    verify a request on the recipient's behalf. The link's secret comes in the POST body (the
    page's script takes it from the fragment); confirming opens the request's pages. When other
    requests wait for the same address, the first POST lists them and the holder of the link
    chooses the one they made (``for``)."""
    if request.method == "GET" and "k" in request.GET:  # a link sent before fragments
        return redirect(fragment_of(request.path, k=request.GET["k"]))
    rights_request = get_object_or_404(RightsRequest, pk=pk)
    error = ""
    if request.method == "POST":
        secret = secret_from(request.POST.get("k"), "k")
        choices = verification.requests_for_link(challenge_id=challenge, secret=secret)
        others = len(choices) > 1 or any(c.pk != rights_request.pk for c in choices)
        if others and "for" not in request.POST:
            context = {"req": rights_request, "secret": secret, "choices": choices, "choose": True}
            return render(request, "portal/confirm.html", context)
        target = _confirm_target(request.POST.get("for"), rights_request)
        try:
            verification.verify_link(request=target, challenge_id=challenge, secret=secret)
        except (verification.VerificationFailed, TransitionError) as exc:
            error = str(exc)
        else:
            response = redirect(_page("portal:status", target))
            tokens.keep_open(response, target.pk)
            return response
    context = {"req": rights_request, "error": error}
    return render(request, "portal/confirm.html", context, status=400 if error else 200)


def _confirm_target(value: str | None, default: RightsRequest) -> RightsRequest:
    """The request chosen on the confirm page; the link's own unless another one is named."""
    if not value or value == str(default.pk):
        return default
    try:
        return RightsRequest.objects.get(pk=uuid.UUID(value))
    except (ValueError, RightsRequest.DoesNotExist):
        raise Http404 from None


def _status_page(request, rights_request, *, status=200, **forms_override):
    info = selectors.public_status(rights_request)
    fee = selectors.fee_for(rights_request)
    if fee is not None and fee.is_open:
        info["can_reply"] = False  # only the fee's acceptance and payment move it on
    context = {
        "req": rights_request,
        "info": info,
        "fee": fee,
        "representation": selectors.representation_of(rights_request),
        "confirm_agent_form": forms_override.get("confirm_agent_form") or forms.ConfirmAgentForm(),
        "accept_fee_form": forms_override.get("accept_fee_form") or forms.AcceptFeeForm(),
        "reply_form": forms_override.get("reply_form") or forms.ReplyForm(),
        "withdraw_form": forms_override.get("withdraw_form") or forms.WithdrawForm(),
        "evidence_form": forms_override.get("evidence_form") or forms.EvidenceForm(),
        "questions": selectors.questions_for(rights_request),
        "denial": selectors.denial_for(rights_request),
        "download": selectors.download_for(rights_request),
        "corrections": selectors.corrections_for(rights_request),
        "timeline": timeline.subject_timeline(rights_request),
        "notice": request.GET.get("done", ""),
        "error": forms_override.get("error", ""),
    }
    return render(request, "portal/status.html", context, status=status)


@require_GET
@opened
def status(request, rights_request):
    return _status_page(request, rights_request)


def _subject_action(request, rights_request, *, form_class, form_name, act, done):
    """A status page's confirmed action (a ticked box, then a service call): the page again
    with the form's errors (400) or the refusal (409), else back to the page with ``done``."""
    form = form_class(request.POST)
    if not form.is_valid():
        return _status_page(request, rights_request, status=400, **{form_name: form})
    try:
        act(request=rights_request)
    except TransitionError as exc:
        return _status_page(request, rights_request, status=409, error=str(exc))
    return redirect(_page("portal:status", rights_request, done=done))


@require_POST
@opened
def withdraw(request, rights_request):
    return _subject_action(
        request, rights_request, form_class=forms.WithdrawForm, form_name="withdraw_form",
        act=services.withdraw_request, done="withdrawn",
    )  # fmt: skip


@require_POST
@opened
def accept_fee(request, rights_request):
    return _subject_action(
        request, rights_request, form_class=forms.AcceptFeeForm, form_name="accept_fee_form",
        act=fees.accept_fee, done="fee_accepted",
    )  # fmt: skip


@require_POST
@opened
def confirm_agent(request, rights_request):
    return _subject_action(
        request, rights_request, form_class=forms.ConfirmAgentForm,
        form_name="confirm_agent_form", act=representation.confirm_by_subject,
        done="agent_confirmed",
    )  # fmt: skip


@require_POST
@opened
def reply(request, rights_request):
    form = forms.ReplyForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.reply_to_request(
                request=rights_request,
                message=form.cleaned_data["message"],
                upload=form.cleaned_data["file"],
            )
        except evidence_service.EvidenceTooLarge as exc:
            form.add_error("file", str(exc))
            status = 413
        except ValidationError as exc:
            _add_errors(form, exc)
        except TransitionError as exc:
            return _status_page(request, rights_request, status=409, error=str(exc))
        else:
            return redirect(_page("portal:status", rights_request, done="replied"))
    return _status_page(request, rights_request, status=status, reply_form=form)


@require_POST
@opened
def upload_evidence(request, rights_request):
    form = forms.EvidenceForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            evidence_service.submit_evidence(request=rights_request, upload=request.FILES["file"])
        except evidence_service.EvidenceTooLarge as exc:
            form.add_error("file", str(exc))
            status = 413
        except ValidationError as exc:
            _add_errors(form, exc)
        except TransitionError as exc:
            return _status_page(request, rights_request, status=409, error=str(exc))
        else:
            return redirect(_page("portal:status", rights_request, done="uploaded"))
    return _status_page(request, rights_request, status=status, evidence_form=form)
