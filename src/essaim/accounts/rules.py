"""django-rules predicates about roles, for every app's access functions and rules.

Usage elsewhere: ``from essaim.accounts.rules import is_facilitator`` then combine predicates
(``is_facilitator | is_structure_member``) or call them: ``is_facilitator(user)``. All predicates are False
for anonymous visitors and for closed (inactive) accounts.
"""

import rules


@rules.predicate
def is_member(user) -> bool:
    """Any signed-in person with an active account (every role)."""
    return bool(user is not None and user.is_authenticated and user.is_active)


@rules.predicate
def is_facilitator(user) -> bool:
    """Facilitators ("animateur·rices") and platform administrators: they manage content and moderation."""
    return is_member(user) and user.is_facilitator


@rules.predicate
def is_platform_admin(user) -> bool:
    """Platform administrators (Django admin access)."""
    return is_member(user) and user.is_platform_admin
