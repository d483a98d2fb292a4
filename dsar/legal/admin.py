"""Admin for legal holds and retention rules.

Holds are placed and lifted only through ``dsar.legal.holds`` (legal role, audited): the add
form takes the subject's email or phone and the change form only lifts. Retention rules are
edited by legal reviewers and administrators; every change is audited.
"""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from dsar.access.permissions import can
from dsar.audit.services import Actor, record_event
from dsar.legal import holds, relatives
from dsar.legal.models import (
    DeceasedArrangement,
    DeferredDeletion,
    HoldKind,
    LegalHold,
    RetentionRule,
)
from dsar.workflow import identity


class PlaceHoldForm(forms.ModelForm):
    email = forms.CharField(required=False)
    phone = forms.CharField(required=False)
    kind = forms.ChoiceField(choices=HoldKind.choices)

    class Meta:
        model = LegalHold
        fields = ["email", "phone", "kind", "reason", "reference", "ends_on"]

    def clean(self):
        data = super().clean()
        if not self.errors:
            holds.check_hold_input(
                **{name: data.get(name) or "" for name in self.Meta.fields if name != "ends_on"},
                ends_on=data.get("ends_on"),
            )
        return data


class LiftHoldForm(forms.ModelForm):
    lift_reason = forms.CharField(widget=forms.Textarea, label="Reason for lifting")

    class Meta:
        model = LegalHold
        fields = ["lift_reason"]


@admin.register(LegalHold)
class LegalHoldAdmin(admin.ModelAdmin):
    list_display = ["reference", "kind", "ends_on", "created_at", "created_by", "lifted_at"]
    list_filter = ["kind"]
    search_fields = ["reference"]
    readonly_fields = ["email", "phone", "kind", "reason", "reference", "ends_on"]
    readonly_fields += ["created_by", "created_at", "lifted_by", "lifted_at"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = PlaceHoldForm if obj is None else LiftHoldForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is None:
            return PlaceHoldForm.Meta.fields
        return [*self.readonly_fields, *([] if obj.lifted_at else ["lift_reason"])]

    def has_module_permission(self, request):
        return can(request.user, "hold")

    def has_view_permission(self, request, obj=None):
        return can(request.user, "hold")

    def has_add_permission(self, request):
        return can(request.user, "hold")

    def has_change_permission(self, request, obj=None):
        return can(request.user, "hold") and (obj is None or obj.lifted_at is None)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data  # validated by the form with the service's own rules
        if change:
            holds.lift_hold(hold=obj, user=request.user, reason=data["lift_reason"])
            return
        placed = holds.place_hold(
            user=request.user,
            kind=data["kind"],
            reason=data["reason"],
            reference=data["reference"],
            email=data["email"],
            phone=data["phone"],
            ends_on=data["ends_on"],
        )
        obj.pk, obj.created_at = placed.pk, placed.created_at


def _may_edit_rules(user) -> bool:
    return can(user, "retention")


@admin.register(RetentionRule)
class RetentionRuleAdmin(admin.ModelAdmin):
    list_display = ["category", "name", "legal_basis", "period_months", "start_event", "active"]
    list_filter = ["active", "start_event"]

    def has_module_permission(self, request):
        return _may_edit_rules(request.user)

    def has_view_permission(self, request, obj=None):
        return _may_edit_rules(request.user)

    def has_add_permission(self, request):
        return _may_edit_rules(request.user)

    def has_change_permission(self, request, obj=None):
        return _may_edit_rules(request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # switch a rule off instead; deferred deletions name its category

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_event(
            action="legal.retention_rule_changed" if change else "legal.retention_rule_added",
            actor=Actor.staff(request.user),
            payload={"category": obj.category, "changed": sorted(form.changed_data)},
        )


@admin.register(DeferredDeletion)
class DeferredDeletionAdmin(admin.ModelAdmin):
    """Read-only: deferred deletions are scheduled and carried out by the product."""

    list_display = ["request", "category", "due_at", "done_at"]
    list_filter = ["category"]
    readonly_fields = [f.name for f in DeferredDeletion._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ArrangementForm(forms.ModelForm):
    """The deceased's identifiers as the platform holds them, normalised as at intake."""

    email = forms.CharField(required=False)
    phone = forms.CharField(required=False)
    account_id = forms.CharField(required=False)

    class Meta:
        model = DeceasedArrangement
        fields = ["email", "phone", "account_id", "scope", "source", "note", "active"]

    def clean(self):
        data = super().clean()
        for field, normalise in (
            ("email", identity.normalise_email),
            ("phone", identity.normalise_phone),
        ):
            try:
                data[field] = normalise(data[field]) if data.get(field) else ""
            except identity.InvalidIdentity as exc:
                self.add_error(field, str(exc))
        data["account_id"] = (data.get("account_id") or "").strip()
        if not (data.get("email") or data.get("phone") or data["account_id"]):
            raise forms.ValidationError(
                _("Give the email address, mobile number or account the arrangement covers.")
            )
        return data


@admin.register(DeceasedArrangement)
class DeceasedArrangementAdmin(admin.ModelAdmin):
    """What users arranged for their data after death (PIPL Art. 49), matched on the
    deceased's identifiers when legal reviews a relative's request. Never deleted: switch
    one off instead."""

    form = ArrangementForm
    list_display = ["scope", "source", "active", "created_at"]
    list_filter = ["scope", "active"]

    def has_module_permission(self, request):
        return can(request.user, "arrangements")

    def has_view_permission(self, request, obj=None):
        return can(request.user, "arrangements")

    def has_add_permission(self, request):
        return can(request.user, "arrangements")

    def has_change_permission(self, request, obj=None):
        return can(request.user, "arrangements")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.email_hash = identity.email_hash(obj.email)
        obj.phone_hash = identity.phone_hash(obj.phone)
        obj.account_hash = relatives.account_hash(obj.account_id)
        super().save_model(request, obj, form, change)
        record_event(
            action="legal.arrangement_changed" if change else "legal.arrangement_added",
            actor=Actor.staff(request.user),
            payload={"arrangement_id": str(obj.pk), "scope": obj.scope, "active": obj.active},
        )
