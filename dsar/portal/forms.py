"""The public forms. Limits come from ``services`` so the API enforces the same ones."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from dsar.portal.services import (
    CORRECTION_LENGTHS,
    MAX_CORRECTIONS,
    MAX_LENGTHS,
    ProposedCorrection,
    normalise_contact,
)
from dsar.sla.models import Jurisdiction
from dsar.workflow.models import ConsentPurpose


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
        label=_("Reference"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "DSAR-2026-000123"}),
    )  # fmt: skip
    contact = forms.CharField(
        label=_("Email address or mobile number"), max_length=MAX_LENGTHS["email"],
        required=False, help_text=_("The one you gave when you made the request."),
    )  # fmt: skip


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
