"""Account pages: sign-up, login/logout, password change and reset, profile, account closing."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import is_ratelimited

from essaim.accounts import access
from essaim.accounts.lockout import client_ip_key
from essaim.accounts.services import normalize_email, user_deactivate, user_signup, user_update_profile
from essaim.core.access import deny_unless
from essaim.core.models import AuditLogEntry
from essaim.www.accounts import forms

# Sign-up logs the person in directly: name the backend, since several are configured (axes, rules).
LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"
RECENT_AUDIT_ENTRIES = 20
AUDIT_LABELS = {
    "accounts.user.signed_up": "Création du compte",
    "accounts.user.profile_updated": "Modification du profil",
    "accounts.user.password_changed": "Changement du mot de passe",
    "accounts.user.role_changed": "Changement de rôle",
    "accounts.user.closed": "Fermeture du compte",
}


def _email_key(group, request) -> str:
    return normalize_email(request.POST.get("email", ""))


def _over_limit(request, *, group: str, limits: list[tuple]) -> bool:
    """Count this POST against each (key, rate setting name) limit; True when one of them is exceeded.

    Every limit is incremented (no short-circuit), so that an address blocked by one limit keeps counting.
    """
    exceeded = False
    for key, rate_setting in limits:
        exceeded |= is_ratelimited(
            request,
            group=f"{group}:{rate_setting}",
            key=key,
            rate=getattr(settings, rate_setting),
            method="POST",
            increment=True,
        )
    return exceeded


def _too_many_requests(request):
    return render(request, "accounts/rate_limited.html", status=429)


def _audit_label(entry: AuditLogEntry) -> str:
    """A French label for an audit entry; actions of other apps get a generic one naming their object."""
    if entry.verb in AUDIT_LABELS:
        return AUDIT_LABELS[entry.verb]
    return f"Action : {entry.object_repr}" if entry.object_repr else "Action"


def _safe_next(request) -> str | None:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


class LoginView(auth_views.LoginView):
    """Login by email. Redirects to ``next`` only when it points to this site (Django checks it)."""

    template_name = "accounts/login.html"
    authentication_form = forms.LoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django refuses GET with 405): a link or image cannot log people out."""


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    next_url = _safe_next(request)
    # Counts every POST, valid or not: the "account already exists" answer cannot be used to list accounts
    # at scale.
    if request.method == "POST" and _over_limit(
        request, group="signup", limits=[(client_ip_key, "ESSAIM_SIGNUP_RATE")]
    ):
        return _too_many_requests(request)
    form = forms.SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = user_signup(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            login(request, user, backend=LOGIN_BACKEND)
            messages.success(request, "Bienvenue ! Votre compte est créé et vous êtes connecté·e.")
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/signup.html", {"form": form, "next": next_url or ""})


@login_required
@sensitive_post_parameters("current_password")
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    deny_unless(access.can_view_profile(user, user))
    form = forms.ProfileForm(request.POST or None, initial={"email": user.email, "full_name": user.full_name})
    if request.method == "POST":
        deny_unless(access.can_edit_profile(user, user))
        if form.is_valid():
            try:
                user_update_profile(
                    user=user,
                    full_name=form.cleaned_data["full_name"],
                    email=form.cleaned_data["email"],
                    current_password=form.cleaned_data["current_password"],
                )
            except ValidationError as exc:
                user.refresh_from_db()
                form.add_service_errors(exc)
            else:
                messages.success(request, "Votre profil est enregistré.")
                return redirect("accounts:profile")
    entries = list(AuditLogEntry.objects.concerning_user(user)[:RECENT_AUDIT_ENTRIES])
    for entry in entries:
        entry.label = _audit_label(entry)
    context = {"form": form, "audit_entries": entries, "can_close": access.can_close_account(user, user)}
    return render(request, "accounts/profile.html", context)


@login_required
@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
def close_account(request):
    user = request.user
    deny_unless(access.can_close_account(user, user))
    form = forms.CloseAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            user_deactivate(user=user, actor=user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            logout(request)
            messages.success(request, "Votre compte est fermé et vos données personnelles ont été effacées.")
            return redirect("www:home")
    return render(request, "accounts/close_account.html", {"form": form})


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    form_class = forms.PasswordChangeForm
    success_url = reverse_lazy("accounts:profile")
    success_message = "Votre mot de passe est modifié."


class PasswordResetView(auth_views.PasswordResetView):
    """Asks for an email; the answer is the same whether an account exists or not."""

    template_name = "accounts/password_reset_form.html"
    form_class = forms.PasswordResetForm
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password_reset_done")

    def post(self, request, *args, **kwargs):
        # Limits both the sender (per address) and the target (per email): no inbox can be flooded.
        limits = [
            (client_ip_key, "ESSAIM_PASSWORD_RESET_RATE"),
            (_email_key, "ESSAIM_PASSWORD_RESET_EMAIL_RATE"),
        ]
        if _over_limit(request, group="password_reset", limits=limits):
            return _too_many_requests(request)
        return super().post(request, *args, **kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = forms.SetPasswordForm
    success_url = reverse_lazy("accounts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
