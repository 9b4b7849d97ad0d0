"""django-rules predicates and permissions for structures (the decisions live in ``actors.access``)."""

import rules

from essaim.actors.models import Membership, MembershipRole, Status


@rules.predicate
def is_facilitator(user) -> bool:
    """Facilitators and platform administrators (active accounts only)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_facilitator", False))


@rules.predicate
def is_structure_member(user, structure) -> bool:
    """``user`` (active) belongs to ``structure``, whatever their role in it."""
    if structure is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, structure=structure).exists()


@rules.predicate
def is_structure_manager(user, structure) -> bool:
    if structure is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return Membership.objects.filter(user=user, structure=structure, role=MembershipRole.MANAGER).exists()


@rules.predicate
def is_published(user, structure) -> bool:
    return structure is not None and structure.status == Status.PUBLISHED


can_view_structure = is_published | is_facilitator | is_structure_member
can_edit_structure = is_facilitator | is_structure_member
can_see_history = is_facilitator | is_structure_member

rules.add_perm("actors.view_structure", can_view_structure)
rules.add_perm("actors.change_structure", can_edit_structure)
rules.add_perm("actors.view_structure_history", can_see_history)
