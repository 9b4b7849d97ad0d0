"""Who reaches what: the permission matrix of the account pages and of the Django admin."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from essaim.accounts import access
from essaim.accounts.models import Role, User
from essaim.accounts.rules import is_facilitator, is_member, is_platform_admin
from essaim.core.access import deny_unless, get_object_or_404_for
from essaim.core.models import AuditLogEntry
from tests.factories import AdminFactory, FacilitatorFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "member", "facilitator", "admin"]
FACTORIES = {"member": UserFactory, "facilitator": FacilitatorFactory, "admin": AdminFactory}


def make(role):
    return None if role == "anonymous" else FACTORIES[role]()


@pytest.fixture
def target():
    """Another person's account, as seen from the admin."""
    return UserFactory(email="cible@exemple.fr")


PAGES = {
    "profile": lambda target: reverse("accounts:profile"),
    "password change": lambda target: reverse("accounts:password_change"),
    "account closing": lambda target: reverse("accounts:close"),
    "admin index": lambda target: reverse("admin:index"),
    "audit log admin": lambda target: reverse("admin:core_auditlogentry_changelist"),
    "email queue admin": lambda target: reverse("admin:core_outgoingemail_changelist"),
    "user list admin": lambda target: reverse("admin:accounts_user_changelist"),
    "user role change": lambda target: reverse("admin:accounts_user_change", args=[target.pk]),
}
# Expected status per role: anonymous, member, facilitator, admin (302 = sent to a login page).
MATRIX = {
    "profile": (302, 200, 200, 200),
    "password change": (302, 200, 200, 200),
    "account closing": (302, 200, 200, 200),
    "admin index": (302, 302, 302, 200),
    "audit log admin": (302, 302, 302, 200),
    "email queue admin": (302, 302, 302, 200),
    "user list admin": (302, 302, 302, 200),
    "user role change": (302, 302, 302, 200),
}


@pytest.mark.parametrize(
    ("page", "role", "expected"),
    [(page, role, statuses[i]) for page, statuses in MATRIX.items() for i, role in enumerate(ROLES)],
)
def test_permission_matrix(client, target, page, role, expected):
    user = make(role)
    if user is not None:
        client.force_login(user)
    url = PAGES[page](target)

    response = client.get(url)

    assert response.status_code == expected
    if expected == 302:
        login_url = reverse("admin:login") if url.startswith("/admin/") else reverse("accounts:login")
        assert response.url.startswith(f"{login_url}?next=")


@pytest.mark.parametrize(("role", "allowed"), [("member", False), ("facilitator", False), ("admin", True)])
def test_only_admins_change_a_role_through_the_admin(client, target, role, allowed):
    actor = make(role)
    client.force_login(actor)

    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]), {"role": Role.FACILITATOR}
    )

    target.refresh_from_db()
    assert response.status_code == 302
    if allowed:
        assert response.url == reverse("admin:accounts_user_changelist")
        assert target.role == Role.FACILITATOR
        entry = AuditLogEntry.objects.get(verb="accounts.user.role_changed")
        assert (entry.actor, entry.data) == (actor, {"old_role": "member", "new_role": "facilitator"})
    else:
        assert response.url.startswith(reverse("admin:login"))
        assert target.role == Role.MEMBER
        assert not AuditLogEntry.objects.exists()


def test_a_closed_account_has_no_role_left():
    closed = AdminFactory(is_active=False)
    assert not is_member(closed)
    assert not is_facilitator(closed)
    assert not is_platform_admin(closed)
    assert not access.can_access_admin(closed)


@pytest.mark.parametrize(
    ("role", "member", "facilitator", "admin"),
    [
        ("anonymous", False, False, False),
        ("member", True, False, False),
        ("facilitator", True, True, False),
        ("admin", True, True, True),
    ],
)
def test_role_predicates(role, member, facilitator, admin):
    from django.contrib.auth.models import AnonymousUser

    user = make(role) or AnonymousUser()
    assert (is_member(user), is_facilitator(user), is_platform_admin(user)) == (member, facilitator, admin)
    assert access.can_moderate(user) is facilitator
    assert access.can_access_admin(user) is admin


def test_account_access_functions_deny_by_default():
    from django.contrib.auth.models import AnonymousUser

    me, other, admin = UserFactory(), UserFactory(), AdminFactory()
    assert access.can_view_profile(me, me) and not access.can_view_profile(me, other)
    assert access.can_view_profile(admin, other)
    assert not access.can_view_profile(AnonymousUser(), me)
    assert access.can_edit_profile(me, me) and not access.can_edit_profile(admin, me)
    assert access.can_close_account(me, me) and access.can_close_account(admin, me)
    assert not access.can_close_account(other, me)
    assert access.can_set_role(admin, me) and not access.can_set_role(me, me)
    assert not access.can_set_role(FacilitatorFactory(), me)


def test_get_object_or_404_for_hides_forbidden_and_missing_objects_alike():
    from django.http import Http404

    me, other = UserFactory(), UserFactory()

    assert get_object_or_404_for(me, User.objects.all(), access.can_view_profile, pk=me.pk) == me
    with pytest.raises(Http404):
        get_object_or_404_for(me, User, access.can_view_profile, pk=other.pk)
    with pytest.raises(Http404):
        get_object_or_404_for(me, User, access.can_view_profile, pk=other.pk + 1000)
    with pytest.raises(Http404):
        deny_unless(None)


def test_rules_predicates_are_usable_through_request_users():
    request = RequestFactory().get("/")
    request.user = FacilitatorFactory()
    assert (is_member | is_platform_admin)(request.user)
    assert not (is_platform_admin & is_facilitator)(request.user)
