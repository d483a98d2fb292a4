"""Forms of the staff pages; the queue filters themselves live in ``filters.py``."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from dsar.legal.models import Basis, HoldKind
from dsar.staff.hotline import FILABLE_TYPES
from dsar.staff.models import IntakeChannel
from dsar.workflow.models import RequestType


def staff_choices():
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=["agent", "legal", "supervisor"])
        .distinct()
        .order_by("username")
    )
    return [("", _("Nobody"))] + [(str(u.pk), u.get_username()) for u in users]


class AssignForm(forms.Form):
    assignee = forms.ChoiceField(label=_("Assign to"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = staff_choices()

    def assignee_id(self):
        value = self.cleaned_data["assignee"]
        return int(value) if value else None


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note"), max_length=5000, widget=forms.Textarea)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("What do you need from the subject?"), max_length=5000, widget=forms.Textarea
    )


class VerifyForm(forms.Form):
    evidence_id = forms.UUIDField(required=False, widget=forms.HiddenInput)
    code = forms.CharField(label=_("Code the subject read back"), max_length=32, required=False)
    reason = forms.CharField(
        label=_("Note (optional)"), max_length=2000, required=False, widget=forms.Textarea
    )


class SendCodeForm(forms.Form):
    channel = forms.ChoiceField(choices=[("email", _("Email")), ("phone", _("Phone"))])


class DenyForm(forms.Form):
    basis = forms.ChoiceField(label=_("Legal basis or closure reason"), choices=Basis.choices)
    basis_detail = forms.CharField(
        label=_("Which law (required for “other”)"), max_length=500, required=False
    )
    explanation = forms.CharField(
        label=_("Explanation for the subject"), max_length=5000, widget=forms.Textarea
    )


class OverrideForm(forms.Form):
    finding_id = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why the request may go ahead"), max_length=2000)


class HoldForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of hold"), choices=HoldKind.choices)
    reference = forms.CharField(label=_("Case or order number"), max_length=100)
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea)
    ends_on = forms.DateField(
        label=_("Last day (empty: until lifted)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class LiftForm(forms.Form):
    hold_id = forms.UUIDField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Why the hold ends"), max_length=2000)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("Message to the subject"), max_length=5000, widget=forms.Textarea
    )


class ExtendForm(forms.Form):
    days = forms.IntegerField(label=_("Days to add"), min_value=1)
    reason = forms.CharField(
        label=_("Reason (the subject is told it)"), max_length=2000, widget=forms.Textarea
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["days"].max_value = settings.DSAR_SLA_MAX_EXTENSION_DAYS
        self.fields["days"].widget.attrs["max"] = settings.DSAR_SLA_MAX_EXTENSION_DAYS


class FileForCallerForm(forms.Form):
    """A request staff file for a caller; ``dsar.staff.hotline`` checks every field again."""

    channel = forms.ChoiceField(label=_("How it came in"), choices=IntakeChannel.choices)
    type = forms.ChoiceField(label=_("Request type"), choices=())
    caller_said = forms.CharField(
        label=_("What the caller said (the subject sees it on the status page)"),
        max_length=5000,
        widget=forms.Textarea,
    )
    account_id = forms.CharField(label=_("Account id the caller named"), max_length=200,
                                 required=False)  # fmt: skip
    phone = forms.CharField(label=_("Mobile number the caller named"), max_length=32,
                            required=False)  # fmt: skip
    email = forms.CharField(label=_("Email address the caller named"), max_length=254,
                            required=False)  # fmt: skip
    full_name = forms.CharField(label=_("Name"), max_length=200, required=False)
    language = forms.ChoiceField(label=_("Caller's language"), choices=settings.LANGUAGES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(value, RequestType(value).label) for value in FILABLE_TYPES]


class OnFileChoiceForm(forms.Form):
    choice = forms.CharField(max_length=64)
