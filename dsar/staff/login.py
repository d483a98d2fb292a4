"""Password checks, throttled: per username and per IP address, the same for every door.

Every login (the staff page, Django's admin, any ``authenticate()`` call) goes through
``ThrottledModelBackend``. An attempt is counted before its password is hashed; once the
username or the address has used up its allowance (``DSAR_LOGIN_RATE_ACCOUNT``,
``DSAR_LOGIN_RATE_IP``), no password is hashed at all until the window ends. Counting by the
username as typed, whether or not such a user exists, makes the answer for a real and a
made-up username the same. A success forgets the username's failures and does not spend the
address's allowance, so a staff member who mistypes now and then is never locked.

The lockout is bounded: windows are fixed, so a locked username opens at the end of its
window (at most one period, an hour by default) however many attempts are refused meanwhile.
An attacker can shut a username again only by guessing again, from addresses that each have
an allowance of their own. API tokens are random keys, not passwords, and are not counted.
"""

import logging

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError

from dsar.verification import limits

logger = logging.getLogger(__name__)


def _limits(request, username: str) -> tuple[limits.Limit, ...]:
    account = limits.Limit("login-account", username.casefold(), settings.DSAR_LOGIN_RATE_ACCOUNT)
    ip = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    if not ip:  # a check outside a web request (a shell, a command) counts per username only
        return (account,)
    return account, limits.Limit("login-ip", ip, settings.DSAR_LOGIN_RATE_IP)


class ThrottledModelBackend(ModelBackend):
    """Django's model backend behind the login throttle.

    When the throttle is shut it raises ``PermissionDenied``, which makes ``authenticate()``
    give up without asking any backend, and notes the wait on ``request.login_retry_after``.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        counted = _limits(request, str(username))
        try:
            limits.take_or_refuse(*counted)
        except limits.RateLimited as exc:
            logger.warning("Login refused: too many attempts for the username or the address")
            if request is not None:
                request.login_retry_after = exc.retry_after
            raise PermissionDenied from exc
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None:
            limits.reset(counted[0])
            limits.give_back(*counted[1:])
        return user


class ThrottledFormMixin:
    """Tells the person at the form that the door is shut for now, not that they mistyped."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            retry_after = getattr(self.request, "login_retry_after", None)
            if retry_after is None:
                raise
            raise ValidationError(str(limits.RateLimited(retry_after)), code="throttled") from None


class StaffLoginForm(ThrottledFormMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledFormMixin, AdminAuthenticationForm):
    pass


class StaffLoginView(LoginView):
    """The staff login page; a shut door answers 429."""

    template_name = "staff/login.html"
    authentication_form = StaffLoginForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled"):
            response.status_code = 429
            response["Retry-After"] = str(self.request.login_retry_after)
        return response
