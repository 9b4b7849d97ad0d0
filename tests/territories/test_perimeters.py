import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from essaim.core.models import AuditLogEntry
from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune, Perimeter, PerimeterKind
from essaim.territories.services import home_perimeter_get, perimeter_save, perimeter_set_home
from tests.factories import AdminFactory


def commune_codes(perimeter):
    return set(Commune.objects.in_perimeter(perimeter).values_list("code", flat=True))


@pytest.mark.django_db
def test_perimeter_is_the_union_of_its_units(territories):
    perimeter = perimeter_save(
        slug="pays-test",
        name="Pays test",
        kind=PerimeterKind.CUSTOM,
        epci_codes=["243100633"],
        departement_codes=["82"],
        commune_codes=["31149", "31446"],
    )
    assert commune_codes(perimeter) == {"31446", "31113", "82075", "82121", "31149"}
    assert perimeter.definition == {
        "epci": ["243100633"],
        "departement": ["82"],
        "commune": ["31149", "31446"],
    }


@pytest.mark.django_db
def test_region_perimeter(territories):
    perimeter = perimeter_save(slug="occitanie", name="Occitanie", kind="region", region_codes=["76"])
    assert commune_codes(perimeter) == {"31555", "31446", "31113", "31149", "31999", "82075", "82121"}


@pytest.mark.django_db
def test_saving_again_replaces_the_commune_set_and_keeps_the_row(territories):
    actor = AdminFactory()
    first = perimeter_save(slug="p", name="P", kind="custom", departement_codes=["82"], actor=actor)
    second = perimeter_save(
        slug="p", name="P renommé", kind="custom", commune_codes=["31555"], description="d"
    )
    assert second.pk == first.pk
    assert Perimeter.objects.count() == 1
    assert commune_codes(second) == {"31555"}
    assert Perimeter.objects.get().name == "P renommé"
    verbs = list(AuditLogEntry.objects.order_by("id").values_list("verb", "actor_id"))
    assert verbs[-2:] == [
        ("territories.perimeter.created", actor.pk),
        ("territories.perimeter.updated", None),
    ]


@pytest.mark.django_db
def test_unknown_codes_are_all_named_and_nothing_is_saved(territories):
    with pytest.raises(TerritoryError, match=r"EPCI : 999999999.*communes : 00000, 11111") as excinfo:
        perimeter_save(
            slug="x",
            name="X",
            kind="custom",
            epci_codes=["999999999"],
            commune_codes=["11111", "31555", "00000"],
        )
    assert isinstance(excinfo.value, ValueError)
    assert not Perimeter.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("slug", "name", "kind"), [("", "X", "custom"), ("x", " ", "custom"), ("x", "X", "pays")]
)
def test_invalid_perimeter_input(territories, slug, name, kind):
    with pytest.raises(TerritoryError):
        perimeter_save(slug=slug, name=name, kind=kind, commune_codes=["31555"])


@pytest.mark.django_db
def test_containing_and_in_perimeter_are_single_queries(territories, django_assert_num_queries):
    sicoval = perimeter_save(slug="sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"])
    haute_garonne = perimeter_save(
        slug="hg", name="Haute-Garonne", kind="departement", departement_codes=["31"]
    )
    perimeter_save(slug="tg", name="Tarn-et-Garonne", kind="departement", departement_codes=["82"])
    ramonville = Commune.objects.get(code="31446")
    with django_assert_num_queries(1):
        assert set(Perimeter.objects.containing(ramonville)) == {sicoval, haute_garonne}
    with django_assert_num_queries(1):
        assert [c.code for c in Commune.objects.in_perimeter(sicoval).order_by("code")] == ["31113", "31446"]
    assert list(Perimeter.objects.containing(Commune.objects.get(code="54528"))) == []


@pytest.mark.django_db
def test_only_one_home_perimeter(territories):
    assert home_perimeter_get() is None
    first = perimeter_save(slug="a", name="A", kind="custom", commune_codes=["31555"], is_home=True)
    assert home_perimeter_get() == first
    second = perimeter_save(slug="b", name="B", kind="custom", commune_codes=["31446"], is_home=True)
    assert home_perimeter_get() == second
    assert list(Perimeter.objects.filter(is_home=True)) == [second]
    # Saving without is_home does not take the flag away.
    perimeter_save(slug="b", name="B", kind="custom", commune_codes=["31446"])
    assert home_perimeter_get() == second

    perimeter_set_home(perimeter=first, actor=None)
    assert home_perimeter_get() == first
    assert AuditLogEntry.objects.filter(verb="territories.perimeter.set_home", data__previous="b").exists()
    # The database itself refuses a second home perimeter.
    with pytest.raises(IntegrityError), transaction.atomic():
        Perimeter.objects.filter(slug="b").update(is_home=True)


@pytest.mark.django_db
def test_perimeter_save_command(territories, capsys):
    call_command(
        "perimeter_save",
        "--slug=sicoval",
        "--name=Sicoval",
        "--kind=epci",
        "--epci",
        "243100633",
        "--commune",
        "31555",
        "--home",
    )
    assert "Périmètre « Sicoval » (territoire d'action) : 3 communes." in capsys.readouterr().out
    assert home_perimeter_get().slug == "sicoval"
    with pytest.raises(CommandError, match="communes : 12345"):
        call_command("perimeter_save", "--slug=x", "--name=X", "--kind=custom", "--commune", "12345")
