"""The staff page of an access package held for review: see what it would hold, withhold a
field, a row or a column with a reason, release it. Roles: ``review_export``. Thin: the
rules are ``dsar.exports.review``'s."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dsar.access import permissions
from dsar.exports import release, review
from dsar.workflow.models import RightsRequest


@login_required
@require_http_methods(["GET", "POST"])
def export_review(request, pk):
    permissions.require(request.user, "review_export")
    obj = get_object_or_404(RightsRequest, pk=pk)
    status, errors = 200, {}
    if request.method == "POST":
        try:
            if request.POST.get("do") == "release":
                release.release(request=obj, user=request.user)
                messages.success(request, _("Released; the subject has been sent the link."))
                return redirect("staff:request", pk=obj.pk)
            review.redact(
                request=obj,
                user=request.user,
                system=request.POST.get("system", ""),
                table=request.POST.get("table", ""),
                row=request.POST.get("row", ""),
                field=request.POST.get("field", ""),
                reason=request.POST.get("reason", ""),
            )
        except ValidationError as exc:
            status, errors = 400, exc.message_dict
        except review.AlreadyReleased as exc:
            status, errors = 409, {"release": [str(exc)]}
        except PermissionDenied:
            raise
        else:
            messages.success(request, _("Withheld; the reason is recorded."))
            return redirect("staff:export-review", pk=obj.pk)
    context = {
        "req": obj,
        "pending": review.pending(obj),
        "tables": review.contents(obj),
        "errors": errors,
    }
    return render(request, "staff/export_review.html", context, status=status)
