"""Themes and labels: services (create, rename, merge, archive, delete) and the facilitators' pages."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.actors.models import Label, Status, Structure, Theme
from essaim.actors.quality import quality_refresh
from essaim.actors.search import structure_search, structures_reindex
from essaim.actors.taxonomy import (
    term_archive,
    term_create,
    term_delete,
    term_merge,
    term_rename,
    term_restore,
)
from essaim.core.models import AuditLogEntry
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def facilitator():
    return FacilitatorFactory()


def _theme(slug: str) -> Theme:
    return Theme.objects.get(slug=slug)


# -- Services ------------------------------------------------------------------------------------------------


def test_create_derives_a_slug_and_logs(facilitator):
    theme = term_create(model=Theme, label="  Économie   du partage ", actor=facilitator)
    assert (theme.slug, theme.label) == ("economie-du-partage", "Économie du partage")
    assert theme.position > _theme("culture").position
    entry = AuditLogEntry.objects.get(verb="actors.theme.created")
    assert entry.actor == facilitator and entry.data["slug"] == "economie-du-partage"


@pytest.mark.parametrize("label", ["", "   ", "culture", "CULTURE", "x" * 151])
def test_create_refuses_empty_duplicate_or_too_long_labels(facilitator, label):
    with pytest.raises(ValidationError) as error:
        term_create(model=Theme, label=label, actor=facilitator)
    assert "label" in error.value.message_dict
    assert not AuditLogEntry.objects.filter(verb="actors.theme.created").exists()


def test_rename_keeps_the_slug(facilitator):
    theme = _theme("culture")
    assert term_rename(term=theme, label="Culture et patrimoine", actor=facilitator)
    theme.refresh_from_db()
    assert (theme.slug, theme.label) == ("culture", "Culture et patrimoine")
    entry = AuditLogEntry.objects.get(verb="actors.theme.renamed")
    assert entry.data == {"from": "Culture", "to": "Culture et patrimoine"}
    assert not term_rename(term=theme, label="Culture et patrimoine", actor=facilitator)
    with pytest.raises(ValidationError):
        term_rename(term=theme, label="santé", actor=facilitator)


def test_merge_moves_the_structures_and_deletes_the_source(facilitator):
    source, target = _theme("environnement"), _theme("economie-circulaire-reemploi")
    only_source = StructureFactory(name="Seulement la source")
    both = StructureFactory(name="Les deux")
    untouched = StructureFactory(name="Autre")
    only_source.themes.add(source)
    both.themes.add(source, target)
    untouched.themes.add(_theme("culture"))

    moved = term_merge(source=source, target=target, actor=facilitator)

    assert moved == 2
    assert not Theme.objects.filter(slug="environnement").exists()
    assert set(target.structures.all()) == {only_source, both}
    assert list(both.themes.all()) == [target]
    assert list(untouched.themes.all()) == [_theme("culture")]
    entry = AuditLogEntry.objects.get(verb="actors.theme.merged")
    assert entry.object_id == str(target.pk)
    assert entry.data == {"from_slug": "environnement", "from_label": "Environnement", "structures": 2}


def _found(text: str) -> set[str]:
    return {structure.name for structure in structure_search(text=text, per_page=50).items}


def test_rename_and_merge_keep_the_search_index_true(facilitator):
    structure = StructureFactory(name="Maison commune", status=Status.PUBLISHED)
    structure.themes.add(_theme("culture"), _theme("environnement"))
    structures_reindex(ids=[structure.pk])
    assert "Maison commune" not in _found("patrimoine")

    term_rename(term=_theme("culture"), label="Patrimoine vivant", actor=facilitator)
    assert "Maison commune" in _found("patrimoine")

    term_merge(source=_theme("environnement"), target=_theme("energie"), actor=facilitator)
    assert "Maison commune" in _found("énergie")
    assert "Maison commune" not in _found("environnement")


def test_merge_refuses_itself_another_taxonomy_and_an_archived_target(facilitator):
    theme, other = _theme("culture"), _theme("sante")
    with pytest.raises(ValidationError):
        term_merge(source=theme, target=theme, actor=facilitator)
    with pytest.raises(ValidationError):
        term_merge(source=theme, target=Label.objects.first(), actor=facilitator)
    term_archive(term=other, actor=facilitator)
    with pytest.raises(ValidationError):
        term_merge(source=theme, target=other, actor=facilitator)
    assert Theme.objects.filter(pk=theme.pk).exists()


def test_merging_themes_keeps_quality_scores_true(facilitator):
    source, target = _theme("habitat"), _theme("energie")
    term_archive(term=target, actor=facilitator)
    term_restore(term=target, actor=facilitator)
    structure = StructureFactory()
    structure.themes.add(source)
    quality_refresh()
    before = Structure.objects.get(pk=structure.pk).quality_score
    term_merge(source=source, target=target, actor=facilitator)
    assert Structure.objects.get(pk=structure.pk).quality_score == before == 10


def test_archive_hides_a_term_but_cards_keep_it(facilitator):
    label = Label.objects.get(slug="tiers-lieu")
    structure = StructureFactory()
    structure.labels.add(label)
    assert term_archive(term=label, actor=facilitator)
    assert not term_archive(term=label, actor=facilitator)
    assert label not in Label.objects.active()
    assert list(structure.labels.all()) == [label]
    assert term_restore(term=label, actor=facilitator)
    assert label in Label.objects.active()
    verbs = list(AuditLogEntry.objects.filter(object_id=str(label.pk)).values_list("verb", flat=True))
    assert sorted(verbs) == ["actors.label.archived", "actors.label.restored"]


def test_a_used_term_cannot_be_deleted(facilitator):
    theme = _theme("mobilite")
    StructureFactory().themes.add(theme)
    with pytest.raises(ValidationError):
        term_delete(term=theme, actor=facilitator)
    assert Theme.objects.filter(pk=theme.pk).exists()
    unused = term_create(model=Theme, label="Nouveau thème", actor=facilitator)
    term_delete(term=unused, actor=facilitator)
    assert not Theme.objects.filter(pk=unused.pk).exists()


# -- Pages ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_factory", "status"),
    [(None, 404), (UserFactory, 404), (FacilitatorFactory, 200), (AdminFactory, 200)],
)
@pytest.mark.parametrize("url_name", ["actors:themes", "actors:labels"])
def test_taxonomy_pages_permissions(client, user_factory, status, url_name):
    if user_factory is not None:
        client.force_login(user_factory())
    assert client.get(reverse(url_name)).status_code == status
    detail = "actors:theme_detail" if url_name == "actors:themes" else "actors:label_detail"
    pk = (Theme if url_name == "actors:themes" else Label).objects.first().pk
    assert client.get(reverse(detail, args=[pk])).status_code == status
    response = client.post(reverse(detail, args=[pk]), {"action": "archive"})
    assert response.status_code == (302 if status == 200 else 404)


def test_a_member_cannot_post_to_taxonomy_pages(client):
    client.force_login(UserFactory())
    response = client.post(reverse("actors:themes"), {"nouvelle-label": "Pirate"})
    assert response.status_code == 404
    assert not Theme.objects.filter(label="Pirate").exists()


def test_list_shows_usage_and_creates(client, facilitator):
    StructureFactory().themes.add(_theme("culture"))
    client.force_login(facilitator)
    html = client.get(reverse("actors:themes")).content.decode()
    assert "Culture" in html and "Emploi et formation" in html
    response = client.post(reverse("actors:themes"), {"nouvelle-label": "Sport"})
    assert response.status_code == 302
    assert Theme.objects.filter(label="Sport").exists()
    response = client.post(reverse("actors:themes"), {"nouvelle-label": "sport"})
    assert response.status_code == 400 and "existe déjà" in response.content.decode()


def test_detail_page_renames_merges_and_archives(client, facilitator):
    client.force_login(facilitator)
    source, target = _theme("numerique"), _theme("education-populaire")
    structure = StructureFactory()
    structure.themes.add(source)
    url = reverse("actors:theme_detail", args=[source.pk])

    assert (
        client.post(url, {"action": "rename", "renommer-label": "Numérique responsable"}).status_code == 302
    )
    assert Theme.objects.get(pk=source.pk).label == "Numérique responsable"
    assert client.post(url, {"action": "rename", "renommer-label": ""}).status_code == 400

    response = client.post(url, {"action": "merge", "fusion-target": target.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("actors:theme_detail", args=[target.pk])
    assert list(structure.themes.all()) == [target]

    target_url = reverse("actors:theme_detail", args=[target.pk])
    assert client.post(target_url, {"action": "archive"}).status_code == 302
    assert Theme.objects.get(pk=target.pk).archived_at is not None
    assert "Réactiver" in client.get(target_url).content.decode()
    response = client.post(target_url, {"action": "delete"})
    assert response.status_code == 400 and "archivez-la" in response.content.decode()
