from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    """What a person may do on the platform. Membership of a structure is held by the actors app."""

    MEMBER = "member", "Membre"
    FACILITATOR = "facilitator", "Animateur·rice"
    ADMIN = "admin", "Administrateur·rice de la plateforme"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # Emails are matched case-insensitively, as people type them.
        return self.get(email__iexact=username)

    def _create(self, email, password, **extra):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("role", Role.MEMBER)
        # Django admin access follows the role (see the constraints on User).
        extra.setdefault("is_staff", extra["role"] == Role.ADMIN)
        extra.setdefault("is_superuser", extra["role"] == Role.ADMIN)
        return self._create(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    # Stored lower-cased (see UserManager and the accounts services), so plain uniqueness is case-insensitive.
    email = models.EmailField(
        "adresse électronique",
        max_length=254,
        unique=True,
        error_messages={"unique": "Un compte existe déjà avec cette adresse électronique."},
    )
    full_name = models.CharField("nom complet", max_length=150, blank=True)
    role = models.CharField("rôle", max_length=20, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField("actif", default=True)
    is_staff = models.BooleanField("accès à l'administration", default=False)
    date_joined = models.DateTimeField("inscrit le", default=timezone.now)
    # Set when the account is closed: personal data is then anonymised, the row kept for the audit log.
    deactivated_at = models.DateTimeField("fermé le", null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = "utilisateur·rice"
        verbose_name_plural = "utilisateur·rices"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="accounts_user_email_lowercase",
                violation_error_message="L'adresse électronique doit être enregistrée en minuscules.",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]),
                name="accounts_user_role_valid",
                violation_error_message="Rôle inconnu.",
            ),
            # Only platform administrators reach the Django admin; facilitators moderate from the site.
            models.CheckConstraint(
                condition=(
                    models.Q(role="admin", is_staff=True)
                    | (~models.Q(role="admin") & models.Q(is_staff=False, is_superuser=False))
                ),
                name="accounts_user_admin_access_follows_role",
                violation_error_message=(
                    "Seul·es les administrateur·rices de la plateforme ont accès à l'administration."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_facilitator(self) -> bool:
        """Facilitators and administrators manage content and moderation."""
        return self.is_active and (self.role in {Role.FACILITATOR, Role.ADMIN} or self.is_superuser)

    @property
    def is_platform_admin(self) -> bool:
        return self.is_active and (self.role == Role.ADMIN or self.is_superuser)
