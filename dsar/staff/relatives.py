"""The legal review of a deceased subject's relative on the staff request page (PIPL Art.
49): the evidence opened (audited), the deceased's arrangement shown, the decision recorded.
The rules live in ``dsar.legal.relatives``; these views parse the form and call it."""

import mimetypes
from types import SimpleNamespace

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from dsar.access import permissions
from dsar.legal import relatives
from dsar.legal.models import LegalReview, RepresentationDocument, RepresentationKind
from dsar.staff.forms import DenyForm
from dsar.staff.selectors import masked_identity
from dsar.workflow.models import RightsRequest


class ApproveRelativeForm(forms.Form):
    lawful_interest = forms.CharField(
        label=_("The relative's lawful interest you accept"),
        max_length=relatives.MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def review_context(request_obj, user, representation) -> dict:
    """What the request page shows of a relative's request and its legal review."""
    if representation is None or representation.kind != RepresentationKind.RELATIVE:
        return {"relative": None}
    may_review = permissions.can(user, "review_relative")
    pending = representation.legal_review == LegalReview.PENDING
    return {
        "relative": representation,
        "relative_may_review": may_review and pending,
        "relative_documents": relatives.documents_for(request_obj) if may_review else [],
        "arrangement": relatives.arrangement_for(representation) if may_review else None,
        # Masked as the subject's identity is; the name stays whole: legal matches it
        # against the death certificate.
        "deceased": masked_identity(
            SimpleNamespace(
                email=representation.deceased_email,
                phone=representation.deceased_phone,
                full_name="",
                account_id=representation.deceased_account_id,
            )
        ),
        "approve_relative_form": ApproveRelativeForm(),
        "refuse_relative_form": DenyForm(prefix="refuse"),
    }


def approve(request, obj):
    form = ApproveRelativeForm(request.POST)
    if not form.is_valid():
        raise ValidationError([e for errors in form.errors.values() for e in errors])
    relatives.approve(
        request=obj, user=request.user, lawful_interest=form.cleaned_data["lawful_interest"]
    )
    return _("Approved by legal; the request may now be approved for the work.")


def refuse(request, obj):
    form = DenyForm(request.POST, prefix="refuse")
    if not form.is_valid():
        raise ValidationError([e for errors in form.errors.values() for e in errors])
    data = form.cleaned_data
    relatives.refuse(
        request=obj,
        user=request.user,
        basis=data["basis"],
        explanation=data["explanation"],
        basis_detail=data["basis_detail"],
    )
    return _("Refused; the relative has been told why and how to complain.")


@login_required
@require_GET
def document_file(request, pk, document_id):
    """A relative's (or agent's) document, decrypted for the reviewer; every opening is
    audited. Served as a download, never rendered in the staff site's origin."""
    try:
        document = relatives.open_document(
            request=_request(pk), user=request.user, document_id=document_id
        )
    except RepresentationDocument.DoesNotExist:
        raise Http404 from None
    response = HttpResponse(
        relatives.document_content(document), content_type=document.content_type
    )
    extension = mimetypes.guess_extension(document.content_type) or ""
    response["Content-Disposition"] = (
        f'attachment; filename="{document.kind}-{document.pk}{extension}"'
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _request(pk) -> RightsRequest:
    try:
        return RightsRequest.objects.get(pk=pk)
    except RightsRequest.DoesNotExist:
        raise Http404 from None
