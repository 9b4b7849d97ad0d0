"""Django admin for accounts, for platform administrators only (the admin site requires is_staff, which only
the administrator role has). Role changes and account closing go through the services, hence the audit log."""

from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm as DjangoAdminPasswordChangeForm
from django.contrib.auth.forms import ReadOnlyPasswordHashField, SetPasswordMixin
from django.core.exceptions import PermissionDenied, ValidationError

from essaim.accounts.models import Role, User
from essaim.accounts.services import (
    LAST_ADMIN,
    normalize_email,
    user_admin_set_password,
    user_create,
    user_deactivate,
    user_set_role,
)

# The administrator using the password view: Django's view builds the form without the request.
_password_actor: ContextVar[User | None] = ContextVar("essaim_admin_password_actor", default=None)


class AdminPasswordChangeForm(DjangoAdminPasswordChangeForm):
    """Django's admin password form, saving through the accounts service (audit, lockout lifted).

    The "disable password login" option is narrowed to "enabled" (Django's template expects the field):
    closing an account is the way to end access, and it goes through its own service.
    """

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        if "usable_password" in self.fields:
            self.fields["usable_password"].choices = [("true", "Activée")]
            self.fields["usable_password"].help_text = ""
        self.fields["password1"].required = self.fields["password2"].required = True

    def save(self, commit=True):
        return user_admin_set_password(
            user=self.user, password=self.cleaned_data["password1"], actor=_password_actor.get()
        )


class UserAdminCreationForm(SetPasswordMixin, forms.ModelForm):
    password1, password2 = SetPasswordMixin.create_password_fields(
        label1="Mot de passe", label2="Confirmation du mot de passe"
    )

    class Meta:
        model = User
        fields = ("email", "full_name", "role")

    def clean_email(self):
        return normalize_email(self.cleaned_data.get("email", ""))

    def clean(self):
        self.validate_passwords()
        return super().clean()

    def _post_clean(self):
        super()._post_clean()
        self.validate_password_for_user(self.instance)


class UserAdminChangeForm(forms.ModelForm):
    password = ReadOnlyPasswordHashField(
        label="Mot de passe",
        help_text="Les mots de passe ne sont pas enregistrés en clair : personne ne peut les lire.",
    )

    class Meta:
        model = User
        fields = ("role",)

    def clean_role(self):
        role = self.cleaned_data["role"]
        instance = self.instance
        if (
            instance.role == Role.ADMIN
            and role != Role.ADMIN
            and not User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=instance.pk).exists()
        ):
            raise ValidationError(LAST_ADMIN)
        return role


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminCreationForm
    list_display = ("email", "full_name", "role", "is_active", "date_joined", "last_login")
    list_filter = ("role", "is_active")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    filter_horizontal = ()
    readonly_fields = (
        "email",
        "full_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "date_joined",
        "last_login",
        "deactivated_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "password", "full_name")}),
        ("Rôle", {"fields": ("role", "is_staff", "is_superuser")}),
        ("Compte", {"fields": ("is_active", "date_joined", "last_login", "deactivated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "full_name", "role", "password1", "password2")}),
    )
    actions = ["close_accounts"]

    change_password_form = AdminPasswordChangeForm

    def user_change_password(self, request, id, form_url=""):
        token = _password_actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            _password_actor.reset(token)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Deleting a user would orphan their audit entries: accounts are closed and anonymised instead.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            if "role" in form.changed_data:
                user_set_role(user=obj, role=form.cleaned_data["role"], actor=request.user)
            return
        created = user_create(
            actor=request.user,
            email=form.cleaned_data["email"],
            full_name=form.cleaned_data["full_name"],
            role=form.cleaned_data["role"],
            password=form.cleaned_data["password1"],
        )
        # The admin goes on with ``obj`` (history entry, redirect): make it the created row.
        obj.pk = created.pk
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # Users have no related inlines here; the role was saved by the service.
        pass

    @admin.action(description="Fermer et anonymiser les comptes sélectionnés")
    def close_accounts(self, request, queryset):
        closed = 0
        for user in queryset.filter(is_active=True):
            try:
                user_deactivate(user=user, actor=request.user)
            except (PermissionDenied, ValidationError) as exc:
                messages.error(request, f"{user} : {' '.join(getattr(exc, 'messages', [str(exc)]))}")
            else:
                closed += 1
        if closed:
            messages.success(request, f"{closed} compte(s) fermé(s) et anonymisé(s).")
