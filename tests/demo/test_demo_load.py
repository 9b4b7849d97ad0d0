from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from essaim.accounts.models import Role, User
from essaim.actors.access import structure_can_edit
from essaim.actors.models import Membership, Status, Structure
from essaim.actors.services import structure_archive, structure_update
from essaim.demo.services import demo_data
from essaim.territories.models import Perimeter, PerimeterCommune
from tests.demo.cog_sample import load_cog_sample

pytestmark = pytest.mark.django_db

MODELS = (Structure, Membership, User, Perimeter, PerimeterCommune)


def run_demo_load(**options) -> str:
    out = StringIO()
    call_command("demo_load", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "counts": {model.__name__: model.objects.count() for model in MODELS},
        "structures": list(
            Structure.objects.order_by("slug").values_list(
                "slug", "name", "family", "cooperative_kind", "commune__code", "status", "description"
            )
        ),
        "memberships": list(
            Membership.objects.order_by("structure__slug").values_list(
                "user__email", "structure__slug", "role"
            )
        ),
        "perimeters": list(
            Perimeter.objects.order_by("slug").values_list("slug", "name", "kind", "is_home", "definition")
        ),
        "users": list(User.objects.order_by("email").values_list("email", "role", "is_staff", "password")),
    }


def test_refuses_clearly_when_territories_are_not_loaded():
    with pytest.raises(CommandError, match="lancez d'abord `essaim territories_load`"):
        run_demo_load()
    assert all(not model.objects.exists() for model in MODELS)


def test_missing_communes_are_named_and_nothing_is_loaded():
    load_cog_sample(skip_communes=("82179", "31113"))
    with pytest.raises(CommandError) as exc:
        run_demo_load()
    assert "82179" in str(exc.value) and "31113" in str(exc.value)
    assert "essaim territories_load" in str(exc.value)
    assert not Structure.objects.exists()
    assert not Perimeter.objects.exists()
    assert not User.objects.exists()


def test_loads_every_structure_perimeter_and_account_of_the_data_files(cog_sample):
    output = run_demo_load()

    expected = {s["slug"] for s in demo_data("structures")["structures"]}
    assert set(Structure.objects.values_list("slug", flat=True)) == expected
    assert set(Perimeter.objects.values_list("slug", flat=True)) == {
        p["slug"] for p in demo_data("perimeters")["perimeters"]
    }
    accounts = demo_data("accounts")["accounts"]
    assert set(User.objects.values_list("email", flat=True)) == {a["email"] for a in accounts}
    # The accounts table is printed with each password.
    for account in accounts:
        assert account["email"] in output and account["password"] in output


def test_running_twice_gives_the_same_database(cog_sample):
    run_demo_load()
    first = snapshot()
    second_output = run_demo_load()
    assert snapshot() == first
    assert "Structures  : 0 créé(s), 0 mis à jour" in second_output


def test_running_again_brings_back_edited_demo_data(cog_sample):
    run_demo_load()
    first = snapshot()
    jades = Structure.objects.get(slug="jades")
    structure_update(structure=jades, actor=None, name="Nom modifié")
    structure_archive(structure=jades, actor=None)
    Membership.objects.filter(structure=jades).delete()
    User.objects.filter(email="animation@essaim.example").update(role=Role.MEMBER)

    run_demo_load()
    assert snapshot()["counts"] == first["counts"]
    assert snapshot()["structures"] == first["structures"]
    assert snapshot()["memberships"] == first["memberships"]
    assert User.objects.get(email="animation@essaim.example").role == Role.FACILITATOR


def test_structures_are_placed_in_the_right_perimeters(cog_sample):
    run_demo_load()
    home = Perimeter.objects.home().get()
    assert home.slug == "pays-midi-quercy"

    def slugs(perimeter_slug):
        perimeter = Perimeter.objects.get(slug=perimeter_slug)
        return set(Structure.objects.in_perimeter(perimeter).values_list("slug", flat=True))

    assert {"jades", "ozon", "le-tracteur-savant", "cabaret-du-hasard"} <= slugs("pays-midi-quercy")
    assert "grand-montauban" not in slugs("pays-midi-quercy")  # Montauban is not in the Pays
    assert "les-ateliers-castres" not in slugs("pays-midi-quercy")
    assert {"cafe-pluche", "pays-perigord-vert"} <= slugs("perigord-vert")
    assert {"la-rafistolerie", "le-periscope", "sicoval"} <= slugs("sicoval")
    assert {"chrysalide", "la-mijoteuse"} <= slugs("colomiers") <= slugs("toulouse-metropole")
    assert "la-rafistolerie" not in slugs("toulouse-metropole")


def test_demo_accounts_have_the_printed_passwords_and_members_edit_only_their_structure(cog_sample):
    run_demo_load()
    for account in demo_data("accounts")["accounts"]:
        user = User.objects.get(email=account["email"])
        assert user.is_active and user.check_password(account["password"]), account["email"]

    admin = User.objects.get(email="admin@essaim.example")
    assert admin.is_platform_admin and admin.is_staff
    assert User.objects.get(email="animation@essaim.example").is_facilitator
    member = User.objects.get(email="membre.jades@essaim.example")
    assert structure_can_edit(member, Structure.objects.get(slug="jades"))
    assert not structure_can_edit(member, Structure.objects.get(slug="la-rafistolerie"))


def test_demo_contains_no_real_person():
    """Accounts are fictional (reserved .example domain); structures carry no personal contact."""
    for account in demo_data("accounts")["accounts"]:
        assert account["email"].endswith("@essaim.example")
    for structure in demo_data("structures")["structures"]:
        assert not structure.get("email")
        assert structure["seeds"], structure["slug"]


def test_unpublished_demo_structures_stay_hidden(client, cog_sample):
    run_demo_load()
    pending = Structure.objects.exclude(status=Status.PUBLISHED)
    assert pending.exists()
    for structure in pending:
        assert client.get(f"/annuaire/{structure.slug}/").status_code == 404


def test_refused_with_production_settings(settings, cog_sample):
    settings.ESSAIM_ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="production"):
        run_demo_load()
    assert not User.objects.exists()


def test_refused_in_a_database_holding_real_accounts(cog_sample):
    """Whatever the settings module says (``essaim demo`` runs with development settings), demo accounts with
    public passwords never go silently into a database that already has real users."""
    User.objects.create_user("vraie.personne@exemple.fr", "un-mot-de-passe-solide")
    with pytest.raises(CommandError, match="comptes qui ne sont pas ceux de la démonstration"):
        run_demo_load()
    assert list(User.objects.values_list("email", flat=True)) == ["vraie.personne@exemple.fr"]
    assert not Structure.objects.exists()
    assert not Perimeter.objects.exists()


def test_a_demo_database_keeps_loading_after_people_sign_up(cog_sample):
    run_demo_load()
    User.objects.create_user("visiteur@exemple.fr", "un-mot-de-passe-solide")
    output = run_demo_load()
    assert "0 créé(s)" in output
    assert User.objects.filter(email="visiteur@exemple.fr").exists()


def test_allow_production_overrides_the_real_accounts_guard(cog_sample):
    User.objects.create_user("vraie.personne@exemple.fr", "un-mot-de-passe-solide")
    run_demo_load(allow_production=True)
    assert User.objects.filter(email="admin@essaim.example", role=Role.ADMIN).exists()
