"""The public forms. Limits come from ``services`` so the API enforces the same ones."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dsar.legal.models import Relationship
from dsar.portal.services import (
    CORRECTION_LENGTHS,
    MAX_CORRECTIONS,
    MAX_LENGTHS,
    RELATIVE_FIELDS,
    AgentClaim,
    FiledAs,
    ProposedCorrection,
    RelativeClaim,
    normalise_contact,
)
from dsar.sla.models import Jurisdiction
from dsar.workflow.models import ConsentPurpose

UPLOAD_TYPES = "image/jpeg,image/png,application/pdf"


class RequestForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["jurisdiction"].initial = settings.DSAR_DEFAULT_JURISDICTION

    email = forms.CharField(
        label=_("Email address"),
        max_length=MAX_LENGTHS["email"],
        required=False,
        strip=False,  # dsar.workflow.identity decides what may be dropped, and refuses the rest
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("We send the verification code here."),
    )
    phone = forms.CharField(
        label=_("Mobile number (+86)"),
        max_length=MAX_LENGTHS["phone"],
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
        help_text=_("Only if you have no email address: we then send the code by SMS."),
    )
    full_name = forms.CharField(
        label=_("Your name"), max_length=MAX_LENGTHS["full_name"], required=False
    )
    account_id = forms.CharField(
        label=_("Account identifier (optional)"),
        max_length=MAX_LENGTHS["account_id"],
        required=False,
        help_text=_("A user name, member number or order number helps us find your data."),
    )
    description = forms.CharField(
        label=_("Anything we should know"),
        max_length=MAX_LENGTHS["description"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    jurisdiction = forms.ChoiceField(
        label=_("Where do you live?"),
        choices=Jurisdiction.choices,
        required=False,  # not given: the platform's default (DSAR_DEFAULT_JURISDICTION)
        help_text=_("The law of the place you live decides how long we may take to reply."),
    )
    purposes = forms.MultipleChoiceField(
        label=_("What do you withdraw your consent for?"),
        choices=ConsentPurpose.choices,
        required=False,  # required for a consent withdrawal: services.clean_purposes
        widget=forms.CheckboxSelectMultiple,
        help_text=_("We stop using your data for these purposes; the service itself goes on."),
    )
    filed_as = forms.ChoiceField(
        label=_("You ask as"),
        choices=[
            (FiledAs.SELF, _("The person the data is about (yourself)")),
            (FiledAs.AGENT, _("An authorised agent of that person")),
            (FiledAs.RELATIVE, _("A close relative of a deceased person")),
        ],
        initial=FiledAs.SELF,
        required=False,
        widget=forms.RadioSelect,
    )
    agent_name = forms.CharField(
        label=_("Your name, or your organisation's"), max_length=200, required=False
    )
    agent_authority = forms.CharField(
        label=_("How you are authorised"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "E.g. a signed permission or a power of attorney. The person confirms your "
            "request themselves before anything is disclosed or deleted."
        ),  # fmt: skip
    )
    agent_permission = forms.FileField(
        label=_("The signed permission, if you have it (JPEG, PNG or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_TYPES}),
    )
    relationship = forms.ChoiceField(
        label=_("Your relationship to the deceased"),
        choices=[("", "—"), *Relationship.choices],
        required=False,
    )
    lawful_interest = forms.CharField(
        label=_("Your lawful interest in the request"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What the request is for, e.g. settling the estate or closing accounts."),
    )
    deceased_name = forms.CharField(label=_("The deceased's name"), max_length=200, required=False)
    deceased_email = forms.CharField(
        label=_("The deceased's email address"),
        max_length=MAX_LENGTHS["email"],
        required=False,
        strip=False,
    )
    deceased_phone = forms.CharField(
        label=_("The deceased's mobile number"),
        max_length=MAX_LENGTHS["phone"],
        required=False,
        strip=False,
    )
    deceased_account_id = forms.CharField(
        label=_("The deceased's account identifier"),
        max_length=MAX_LENGTHS["account_id"],
        required=False,
    )
    death_certificate = forms.FileField(
        label=_("Death certificate (JPEG, PNG or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_TYPES}),
    )
    relationship_proof = forms.FileField(
        label=_("Proof of your relationship (JPEG, PNG or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_TYPES}),
        help_text=_("E.g. the household register (户口簿), a marriage or birth certificate."),
    )
    # Honeypot: hidden from people (and from screen readers); bots fill every field.
    website = forms.CharField(required=False, label=_("Leave this field empty"))

    def clean(self):
        data = super().clean()
        try:
            data["email"], data["phone"] = normalise_contact(
                email=data.get("email", ""), phone=data.get("phone", "")
            )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field, message)
        return data

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def on_behalf(self) -> dict:
        """``filed_as`` and the agent's or relative's claim, for ``services.file_request``."""
        data = self.cleaned_data
        filed_as = data.get("filed_as") or FiledAs.SELF
        if filed_as == FiledAs.AGENT:
            agent = AgentClaim(
                name=data["agent_name"],
                authority=data["agent_authority"],
                permission=data.get("agent_permission") or None,
            )
            return {"filed_as": filed_as, "agent": agent}
        if filed_as == FiledAs.RELATIVE:
            relative = RelativeClaim(
                **{name: data[name] for name in RELATIVE_FIELDS},
                death_certificate=data.get("death_certificate") or None,
                relationship_proof=data.get("relationship_proof") or None,
            )
            return {"filed_as": filed_as, "relative": relative}
        return {"filed_as": filed_as}


class CorrectionForm(forms.Form):
    field = forms.CharField(
        label=_("Which data"), max_length=CORRECTION_LENGTHS["field"], required=False
    )
    current_value = forms.CharField(
        label=_("What it says now"), max_length=CORRECTION_LENGTHS["current_value"], required=False
    )
    proposed_value = forms.CharField(
        label=_("What it should say"),
        max_length=CORRECTION_LENGTHS["proposed_value"],
        required=False,
    )

    def clean(self):
        data = super().clean()
        if any(data.values()) and not (data.get("field") and data.get("proposed_value")):
            raise ValidationError(_("Fill in which data and what it should say."))
        return data

    def proposal(self) -> ProposedCorrection | None:
        data = self.cleaned_data
        if not data.get("field"):
            return None
        return ProposedCorrection(
            field=data["field"],
            current_value=data.get("current_value", ""),
            proposed_value=data["proposed_value"],
        )


CorrectionFormSet = forms.formset_factory(
    CorrectionForm,
    extra=3,
    max_num=MAX_CORRECTIONS,
    absolute_max=MAX_CORRECTIONS,
    validate_max=True,
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )


class ReplyForm(forms.Form):
    message = forms.CharField(
        label=_("Your reply"),
        max_length=MAX_LENGTHS["message"],
        required=False,  # a photo alone is a reply too; the service asks for one or the other
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    file = forms.FileField(
        label=_("A photo or document, if we asked for one (JPEG, PNG or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )


class LookupForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "DSAR-2026-000123"}),
    )
    contact = forms.CharField(
        label=_("Email address or mobile number"),
        max_length=MAX_LENGTHS["email"],
        required=False,
        help_text=_("The one you gave when you made the request."),
    )


class WithdrawForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, withdraw my request"))


class AcceptFeeForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, I accept the fee"))


class ConfirmAgentForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, I asked them to make this request for me"))


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label=_("Identity document (JPEG, PNG or PDF)"),
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,application/pdf"}),
    )
