import json
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.html import format_html_join

from dsar.fanout import conformance, datamaps, registry
from dsar.fanout.models import DownstreamSystem, FanoutTask
from dsar.workflow.errors import Unavailable

MASK = "********"
SECRET_KEYS = ("secret", "previous_secrets")
_DSN_PASSWORD = re.compile(r"(://[^:/@]*:)([^@]*)(@)")


def masked(config: dict) -> dict:
    """The configuration as the admin form shows it: shared secrets and DSN passwords hidden."""
    shown = dict(config)
    for key in SECRET_KEYS:
        if shown.get(key):
            shown[key] = MASK
    if isinstance(shown.get("dsn"), str):
        shown["dsn"] = _DSN_PASSWORD.sub(rf"\g<1>{MASK}\g<3>", shown["dsn"])
    return shown


def unmasked(config: dict, stored: dict) -> dict:
    """Put the stored secrets back where the form still shows the mask."""
    config = dict(config)
    for key in SECRET_KEYS:
        if config.get(key) == MASK and key in stored:
            config[key] = stored[key]
    dsn, old = config.get("dsn"), stored.get("dsn")
    if isinstance(dsn, str) and f":{MASK}@" in dsn and isinstance(old, str):
        match = _DSN_PASSWORD.search(old)
        if match:
            dsn = dsn.replace(f":{MASK}@", f":{match.group(2)}@", 1)
        config["dsn"] = dsn
    return config


class DownstreamSystemForm(forms.ModelForm):
    config = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 90}),
        help_text="JSON. Secrets show as ******** and are kept unless you type new ones.",
    )

    class Meta:
        model = DownstreamSystem
        fields = ["name", "kind", "actions", "config", "timeout_seconds", "max_attempts",
                  "enabled", "categories"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["config"] = json.dumps(masked(self.instance.settings), indent=2)

    def clean(self):
        """The registry's rules, as for the API: a system that could never run is refused."""
        data = super().clean()
        try:
            config = json.loads(data.get("config") or "{}")
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise ValidationError({"config": "Give the configuration as JSON."}) from None
        if isinstance(config, dict) and self.instance.pk:
            config = unmasked(config, self.instance.settings)
        data["config"] = config
        registry.validate(
            {"kind": data.get("kind"), "actions": data.get("actions") or [], "config": config}
        )
        return data


@admin.register(DownstreamSystem)
class DownstreamSystemAdmin(admin.ModelAdmin):
    form = DownstreamSystemForm
    list_display = ["name", "kind", "enabled", "awaits_approval", "max_attempts"]
    list_filter = ["kind", "enabled"]
    actions = ["approve_change", "reject_change", "discover", "accept_discovery",
               "check_conformance"]  # fmt: skip
    readonly_fields = ["map_version", "coverage"]

    @admin.display(description="Data map version")
    def map_version(self, obj):
        latest = obj.map_versions.order_by("-number").first() if obj.pk else None
        return f"v{latest.number} ({latest.digest[:12]}…)" if latest else "—"

    @admin.display(description="Personal columns the map does not cover")
    def coverage(self, obj):
        """What the latest discovery found that the running map misses (names only)."""
        if not obj.pk or obj.kind != "sql":
            return "—"
        found = datamaps.coverage(obj)
        if found["discovered_at"] is None:
            return "No discovery has run; use the action “Discover personal data”."
        if not found["uncovered"]:
            return f"None (discovery of {found['discovered_at']:%Y-%m-%d %H:%M})."
        return format_html_join(
            ", ",
            "{}.{} ({})",
            ((u["table"], u["column"], u["category_label"]) for u in found["uncovered"]),
        )

    @admin.action(description="Discover personal data (read the schema, propose a map)")
    def discover(self, request, queryset):
        for system in queryset:
            try:
                found = datamaps.run_discovery(user=request.user, system=system)
            except (PermissionDenied, ValidationError, Unavailable) as exc:
                text = "; ".join(getattr(exc, "messages", [str(exc)]))
                messages.error(request, f"{system.name}: {text}")
            else:
                messages.success(
                    request,
                    f"{system.name}: {len(found.proposals)} personal columns proposed; accept "
                    "or reject them over the staff API, or accept them all with the next action.",
                )

    @admin.action(description="Accept every proposal of the latest discovery and propose the map")
    def accept_discovery(self, request, queryset):
        for system in queryset:
            found = datamaps.latest_discovery(system)
            try:
                if found is None:
                    raise ValidationError("Run discovery first.")
                decisions = [{"table": p["table"], "column": p["column"], "decision": "accept"}
                             for p in found.proposals]  # fmt: skip
                decisions += [{"reference": f"{r['from']}->{r['to']}", "decision": "accept"}
                              for r in found.references]  # fmt: skip
                datamaps.decide(user=request.user, discovery=found, decisions=decisions)
                datamaps.propose_map(user=request.user, system=system)
            except (PermissionDenied, ValidationError) as exc:
                text = "; ".join(getattr(exc, "messages", [str(exc)]))
                messages.error(request, f"{system.name}: {text}")
            else:
                messages.warning(request, f"{system.name}: the map waits for a second admin.")

    @admin.action(description="Check conformance (synthetic subject) and enable what passes")
    def check_conformance(self, request, queryset):
        for system in queryset:
            try:
                report = conformance.run_check(system=system, user=request.user, enable=True)
            except (PermissionDenied, ValidationError) as exc:
                text = "; ".join(getattr(exc, "messages", [str(exc)]))
                messages.error(request, f"{system.name}: {text}")
                continue
            if report.passed:
                messages.success(request, f"{system.name}: conforms to the protocol; enabled.")
            else:
                messages.error(
                    request,
                    f"{system.name}: does not conform to the protocol: "
                    + "; ".join(report.failures),
                )

    @admin.display(boolean=True, description="Awaits approval")
    def awaits_approval(self, obj):
        return obj.awaits_approval

    def save_model(self, request, obj, form, change):
        """Through the registry, as the API does: audited, and guarded changes wait for a
        second admin."""
        fields = {name: form.cleaned_data[name] for name in registry.FIELDS}
        if change:
            current = DownstreamSystem.objects.get(pk=obj.pk)
            saved = registry.save_system(user=request.user, system=current, **fields)
        else:
            asked = fields["enabled"]
            fields["enabled"] = conformance.starts_enabled(kind=fields["kind"], asked=asked)
            saved = registry.save_system(user=request.user, **fields)
            if asked and not saved.enabled:
                messages.warning(
                    request,
                    f"{saved.name}: registered disabled; it is enabled when the action "
                    "“Check conformance” passes.",
                )
        obj.pk = saved.pk
        if saved.awaits_approval:
            messages.warning(request, f"{saved.name}: the change waits for a second admin.")

    @admin.action(description="Approve the proposed change (as the second admin)")
    def approve_change(self, request, queryset):
        self._decide(request, queryset, registry.approve_change, "approved")

    @admin.action(description="Reject the proposed change")
    def reject_change(self, request, queryset):
        self._decide(request, queryset, registry.reject_change, "rejected")

    def _decide(self, request, queryset, decide, done):
        for system in queryset:
            try:
                decide(user=request.user, system=system)
            except (PermissionDenied, ValidationError) as exc:
                text = "; ".join(getattr(exc, "messages", [str(exc)]))
                messages.error(request, f"{system.name}: {text}")
            else:
                messages.success(request, f"{system.name}: change {done}.")


@admin.register(FanoutTask)
class FanoutTaskAdmin(admin.ModelAdmin):
    list_display = ["request", "system", "action", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "action", "system"]
    readonly_fields = [f.name for f in FanoutTask._meta.fields]

    def has_add_permission(self, request):
        return False
