"""Factories shared by every app's tests."""

import factory

from essaim.accounts.models import Role, User
from essaim.core.text import normalize

DEFAULT_PASSWORD = "motdepasse-de-test-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    full_name = factory.Faker("name", locale="fr_FR")
    role = Role.MEMBER
    # Django admin access follows the role (a database constraint enforces it).
    is_staff = factory.LazyAttribute(lambda user: user.role == Role.ADMIN)
    is_superuser = factory.LazyAttribute(lambda user: user.role == Role.ADMIN)
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class FacilitatorFactory(UserFactory):
    role = Role.FACILITATOR


class AdminFactory(UserFactory):
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class StructureFactory(factory.django.DjangoModelFactory):
    """A published association; pass ``status`` / ``family`` / ``commune`` to vary it."""

    class Meta:
        model = "actors.Structure"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Structure de test {n}")
    slug = factory.Sequence(lambda n: f"structure-de-test-{n}")
    acronym = ""
    family = "association"
    status = "published"
    search_name = factory.LazyAttribute(lambda s: normalize(f"{s.name} {s.acronym}"))

    @factory.post_generation
    def search_index(obj, create, extracted, **kwargs):
        """Write the full-text document as the services do (factories bypass them)."""
        if create:
            from essaim.actors.search import structures_reindex

            structures_reindex(ids=[obj.pk])

    @factory.post_generation
    def map_snapshot(obj, create, extracted, **kwargs):
        """Put the card on the map as the services do (factories bypass them)."""
        if create:
            from essaim.actors.geo import map_sync

            map_sync(structure_ids=[obj.pk])
