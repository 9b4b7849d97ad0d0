"""Forms of the account pages. They check input shape; the accounts services apply the rules and write."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from essaim.accounts.services import user_set_password

EMAIL_LABEL = "Adresse électronique"
# A help text, not a password (hence the noqa).
PASSWORD_HELP = (
    "Au moins 10 caractères. Évitez les mots de passe courants, ceux qui ne contiennent que des chiffres "  # noqa: S105
    "ou qui ressemblent à votre nom ou à votre adresse."
)
PASSWORD_MISMATCH = "Les deux mots de passe ne sont pas identiques."  # noqa: S105


def _email_field(**kwargs) -> forms.EmailField:
    return forms.EmailField(
        label=EMAIL_LABEL,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={
            "required": "Indiquez votre adresse électronique.",
            "invalid": "Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr.",
        },
        **kwargs,
    )


def _password_field(label: str, autocomplete: str, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        error_messages={"required": "Indiquez le mot de passe."},
        **kwargs,
    )


class FrenchPasswordsMixin:
    """French labels, help and errors on Django's two "new password" fields."""

    def _frenchify_new_passwords(self, first: str, second: str) -> None:
        self.fields[first].label = "Nouveau mot de passe"
        self.fields[first].help_text = PASSWORD_HELP
        self.fields[second].label = "Confirmation du nouveau mot de passe"
        self.fields[second].help_text = "Saisissez le même mot de passe une seconde fois."
        self.error_messages = {**self.error_messages, "password_mismatch": PASSWORD_MISMATCH}


class LoginForm(auth_forms.AuthenticationForm):
    """Login by email. A failure never says whether the account exists."""

    error_messages = {
        "invalid_login": "Adresse électronique ou mot de passe incorrect.",
        "inactive": "Adresse électronique ou mot de passe incorrect.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"] = forms.CharField(
            label=EMAIL_LABEL,
            max_length=254,
            widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
            error_messages={"required": "Indiquez votre adresse électronique."},
        )
        self.fields["password"] = _password_field("Mot de passe", "current-password")


class IdentityForm(forms.Form):
    """Name and email, as on the profile page."""

    email = _email_field()
    full_name = forms.CharField(
        label="Nom complet",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text="Tel qu'il apparaît aux autres membres, par exemple « Camille Martin ».",
        error_messages={"required": "Indiquez votre nom."},
    )

    def add_service_errors(self, error: ValidationError) -> None:
        """Show the errors of a service's ValidationError next to the matching fields."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        field_names = {"password": "password1"}
        for key, errors in error.message_dict.items():
            field = field_names.get(key, key)
            self.add_error(field if field in self.fields else None, errors)


class ProfileForm(IdentityForm):
    current_password = _password_field(
        "Mot de passe actuel",
        "current-password",
        required=False,
        help_text="Obligatoire seulement pour changer d'adresse électronique.",
    )


class SignupForm(IdentityForm):
    password1 = _password_field("Mot de passe", "new-password", help_text=PASSWORD_HELP)
    password2 = _password_field(
        "Confirmation du mot de passe",
        "new-password",
        help_text="Saisissez le même mot de passe une seconde fois.",
    )
    consent = forms.BooleanField(
        error_messages={
            "required": "Vous devez accepter la politique de données personnelles pour créer un compte."
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built here: the privacy page URL is resolved at request time.
        self.fields["consent"].label = format_html(
            "J'ai lu et j'accepte la <a href=\"{}\">politique de données personnelles</a>",
            reverse("www:privacy"),
        )

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password1")
            and cleaned.get("password2")
            and cleaned["password1"] != cleaned["password2"]
        ):
            self.add_error("password2", PASSWORD_MISMATCH)
        return cleaned


class PasswordChangeForm(FrenchPasswordsMixin, auth_forms.PasswordChangeForm):
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_incorrect": "Le mot de passe actuel est incorrect. Saisissez-le à nouveau.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Mot de passe actuel"
        self._frenchify_new_passwords("new_password1", "new_password2")

    def save(self, commit=True):
        return user_set_password(user=self.user, password=self.cleaned_data["new_password1"], reason="change")


class SetPasswordForm(FrenchPasswordsMixin, auth_forms.SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._frenchify_new_passwords("new_password1", "new_password2")

    def save(self, commit=True):
        return user_set_password(user=self.user, password=self.cleaned_data["new_password1"], reason="reset")


class PasswordResetForm(auth_forms.PasswordResetForm):
    email = _email_field()


class CloseAccountForm(forms.Form):
    password = _password_field("Mot de passe actuel", "current-password")
    confirm = forms.BooleanField(
        label="Je comprends que la fermeture est définitive et que mes données personnelles seront effacées.",
        error_messages={"required": "Cochez la case pour confirmer la fermeture du compte."},
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError("Mot de passe incorrect.")
        return password
