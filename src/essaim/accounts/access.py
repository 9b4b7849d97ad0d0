"""Who may do what with accounts. Every function denies by default (anonymous, inactive, unknown cases).

Views turn a False into a 404 with ``essaim.core.access.deny_unless`` / ``get_object_or_404_for``.
"""

from essaim.accounts.rules import is_facilitator, is_member, is_platform_admin


def can_view_profile(user, target) -> bool:
    """A person sees their own profile; administrators see everyone's."""
    if not is_member(user):
        return False
    return user.pk == target.pk or is_platform_admin(user)


def can_edit_profile(user, target) -> bool:
    """Only the person edits their own name and email (administrators use the admin)."""
    return is_member(user) and user.pk == target.pk


def can_close_account(user, target) -> bool:
    """A person may close their own account; an administrator may close any account."""
    if not is_member(user) or not target.is_active:
        return False
    return user.pk == target.pk or is_platform_admin(user)


def can_set_role(user, target) -> bool:
    """Only platform administrators change roles, and only of active accounts."""
    return is_platform_admin(user) and target.is_active


def can_moderate(user) -> bool:
    """Facilitators and administrators manage content and moderation."""
    return is_facilitator(user)


def can_access_admin(user) -> bool:
    """The Django admin is for platform administrators only."""
    return is_platform_admin(user) and user.is_staff
