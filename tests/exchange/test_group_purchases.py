import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry
from essaim.exchange import group_purchases as gp
from essaim.exchange import services
from essaim.exchange.models import (
    GroupPurchase,
    GroupPurchaseLine,
    GroupPurchaseParticipation,
    GroupPurchaseStatus,
)
from essaim.exchange.tasks import close_due_group_purchases
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def product_pks(purchase):
    return [product.pk for product in purchase.products.all()]


@pytest.fixture
def purchase(people):
    """Organic baskets and apples, ordered by the épicerie (the initiator's structure)."""
    listing = make_listing(
        structure=people["structure"], direction="need", kind="group_purchase", title="Paniers bio"
    )
    return gp.group_purchase_configure(
        listing=listing,
        actor=people["member"],
        deadline=NOW + datetime.timedelta(days=10),
        products=[
            gp.ProductInput(label="Panier de légumes", unit="panier", unit_price_cents=1250),
            gp.ProductInput(label="Pommes", unit="kg"),
        ],
    )


@pytest.fixture
def others(db):
    """Two other structures, each with one member."""
    result = {}
    for name in ("Café associatif", "Crèche parentale"):
        structure = StructureFactory(name=name)
        member = UserFactory()
        Membership.objects.create(user=member, structure=structure)
        result[name] = (structure, member)
    return result


def join(purchase, structure, baskets=None, apples=None, **kwargs):
    basket_pk, apple_pk = product_pks(purchase)
    return gp.group_purchase_join(
        purchase=purchase,
        structure=structure,
        actor=None,
        quantities={basket_pk: baskets, apple_pk: apples},
        **kwargs,
    )


# --- Services


def test_configure_refuses_a_listing_of_another_kind_and_a_past_deadline(people):
    offer = make_listing(structure=people["structure"], kind="equipment")
    need = make_listing(structure=people["structure"], direction="need", kind="group_purchase")
    product = [gp.ProductInput(label="Panier", unit="panier")]
    future = NOW + datetime.timedelta(days=1)

    with pytest.raises(ValidationError, match="achat groupé"):
        gp.group_purchase_configure(listing=offer, actor=None, deadline=future, products=product)
    with pytest.raises(ValidationError, match="dans le futur"):
        gp.group_purchase_configure(listing=need, actor=None, deadline=NOW, products=product)
    with pytest.raises(ValidationError, match="au moins un produit"):
        gp.group_purchase_configure(listing=need, actor=None, deadline=future, products=[])
    with pytest.raises(ValidationError, match="deux fois"):
        gp.group_purchase_configure(listing=need, actor=None, deadline=future, products=product * 2)
    assert not GroupPurchase.objects.exists()


def test_configure_keeps_renames_and_refuses_removing_an_ordered_product(purchase, others):
    basket_pk, _ = product_pks(purchase)
    structure, _ = others["Café associatif"]
    join(purchase, structure, baskets=2)

    # Swapping two labels must not trip the unique constraint; the unordered product can go.
    gp.group_purchase_configure(
        listing=purchase.listing,
        actor=None,
        deadline=purchase.deadline,
        products=[gp.ProductInput(label="Panier de légumes bio", unit="panier", pk=basket_pk)],
    )
    assert [(p.pk, p.label) for p in purchase.products.all()] == [(basket_pk, "Panier de légumes bio")]
    with pytest.raises(ValidationError, match="déjà commandé"):
        gp.group_purchase_configure(
            listing=purchase.listing,
            actor=None,
            deadline=purchase.deadline,
            products=[gp.ProductInput(label="Œufs", unit="douzaine")],
        )


def test_join_change_and_withdraw(purchase, others):
    basket_pk, apple_pk = product_pks(purchase)
    cafe, cafe_member = others["Café associatif"]

    participation = gp.group_purchase_join(
        purchase=purchase,
        structure=cafe,
        actor=cafe_member,
        quantities={basket_pk: Decimal("3"), apple_pk: None},
    )
    assert {line.product_id: line.quantity for line in participation.lines.all()} == {basket_pk: 3}

    gp.group_purchase_join(
        purchase=purchase,
        structure=cafe,
        actor=cafe_member,
        quantities={basket_pk: Decimal("0"), apple_pk: Decimal("4.5")},
    )
    assert GroupPurchaseParticipation.objects.filter(purchase=purchase).count() == 1
    assert {line.product_id: line.quantity for line in participation.lines.all()} == {
        apple_pk: Decimal("4.5")
    }

    gp.group_purchase_withdraw(purchase=purchase, structure=cafe, actor=cafe_member)
    assert not GroupPurchaseParticipation.objects.exists()
    assert not GroupPurchaseLine.objects.exists()
    verbs = list(
        AuditLogEntry.objects.filter(verb__startswith="exchange.group_purchase.")
        .order_by("pk")
        .values_list("verb", flat=True)
    )
    assert verbs == [
        "exchange.group_purchase.created",
        "exchange.group_purchase.joined",
        "exchange.group_purchase.changed",
        "exchange.group_purchase.withdrawn",
    ]
    with pytest.raises(ValidationError, match="ne participe pas"):
        gp.group_purchase_withdraw(purchase=purchase, structure=cafe, actor=cafe_member)


def test_join_refuses_bad_quantities(purchase, others):
    cafe, _ = others["Café associatif"]

    with pytest.raises(ValidationError, match="au moins un produit"):
        join(purchase, cafe, baskets=None, apples=Decimal("0"))
    with pytest.raises(ValidationError, match="positive"):
        join(purchase, cafe, baskets=Decimal("-1"))
    with pytest.raises(ValidationError, match="Pommes"):
        join(purchase, cafe, apples=Decimal("1.234"))
    with pytest.raises(ValidationError, match="Produit inconnu"):
        gp.group_purchase_join(purchase=purchase, structure=cafe, actor=None, quantities={-1: Decimal(1)})
    assert not GroupPurchaseParticipation.objects.exists()


def test_database_refuses_a_zero_quantity_and_a_second_participation(purchase, others):
    cafe, _ = others["Café associatif"]
    participation = join(purchase, cafe, baskets=1)
    _, apple_pk = product_pks(purchase)

    with pytest.raises(IntegrityError), transaction.atomic():
        GroupPurchaseLine.objects.create(participation=participation, product_id=apple_pk, quantity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupPurchaseParticipation.objects.create(purchase=purchase, structure=cafe)
    line = GroupPurchaseLine(participation=participation, product_id=apple_pk, quantity=Decimal("-2"))
    with pytest.raises(ValidationError, match="strictement positive"):
        line.full_clean()


def test_nothing_changes_after_the_deadline_even_before_the_task(purchase, others):
    cafe, _ = others["Café associatif"]
    creche, _ = others["Crèche parentale"]
    join(purchase, cafe, baskets=1)
    later = purchase.deadline + datetime.timedelta(minutes=1)

    with pytest.raises(ValidationError, match="clos"):
        join(purchase, creche, baskets=1, now=later)
    with pytest.raises(ValidationError, match="clos"):
        join(purchase, cafe, baskets=5, now=later)
    with pytest.raises(ValidationError, match="clos"):
        gp.group_purchase_withdraw(purchase=purchase, structure=cafe, actor=None, now=later)
    assert [p.structure for p in purchase.participations.all()] == [cafe]
    assert purchase.participations.get().lines.get().quantity == 1


def test_closing_by_the_initiator_freezes_the_order(purchase, others, people):
    cafe, _ = others["Café associatif"]
    join(purchase, cafe, baskets=1)

    gp.group_purchase_close(purchase=purchase, actor=people["member"])

    purchase.refresh_from_db()
    assert purchase.status == GroupPurchaseStatus.CLOSED and purchase.closed_at is not None
    for attempt in (
        lambda: join(purchase, cafe, baskets=3),
        lambda: gp.group_purchase_withdraw(purchase=purchase, structure=cafe, actor=None),
        lambda: gp.group_purchase_close(purchase=purchase, actor=None),
        lambda: gp.group_purchase_configure(
            listing=purchase.listing,
            actor=None,
            deadline=purchase.deadline,
            products=[gp.ProductInput(label="Pain", unit="kg")],
        ),
    ):
        with pytest.raises(ValidationError):
            attempt()
    assert purchase.participations.get().lines.get().quantity == 1


def test_joining_needs_a_published_listing(purchase, others):
    services.listing_withdraw(listing=purchase.listing, actor=None)
    with pytest.raises(ValidationError, match="pas publié"):
        join(purchase, others["Café associatif"][0], baskets=1)


def test_periodic_task_closes_purchases_past_their_deadline(purchase, people):
    other_listing = make_listing(structure=people["structure"], direction="need", kind="group_purchase")
    soon = gp.group_purchase_configure(
        listing=other_listing,
        actor=None,
        deadline=NOW + datetime.timedelta(hours=1),
        products=[gp.ProductInput(label="Farine", unit="kg")],
    )
    GroupPurchase.objects.filter(pk=soon.pk).update(deadline=timezone.now() - datetime.timedelta(minutes=5))

    close_due_group_purchases.call_local()

    soon.refresh_from_db()
    purchase.refresh_from_db()
    assert soon.status == GroupPurchaseStatus.CLOSED and soon.closed_at is not None
    assert purchase.status == GroupPurchaseStatus.OPEN
    assert AuditLogEntry.objects.filter(verb="exchange.group_purchases.closed", data__count=1).exists()
    assert gp.group_purchases_close_due() == 0


# --- Aggregation and exports


@pytest.fixture
def ordered(purchase, others, people):
    """Three structures: 2 + 3 + 1.5 baskets, 10 + 2.25 kg of apples."""
    join(purchase, people["structure"], baskets=Decimal("2"), apples=Decimal("10"))
    join(purchase, others["Café associatif"][0], baskets=Decimal("3"))
    join(purchase, others["Crèche parentale"][0], baskets=Decimal("1.5"), apples=Decimal("2.25"))
    return purchase


def test_aggregated_order_figures_are_exact(ordered):
    order = gp.group_purchase_order(ordered)

    baskets, apples = order.products
    assert (baskets.quantity, baskets.structures, baskets.amount_cents) == (Decimal("6.5"), 3, 8125)
    assert (apples.quantity, apples.structures, apples.amount_cents) == (Decimal("12.25"), 2, None)
    assert order.structures_count == 3
    assert order.amount_cents == 8125
    by_name = {entry.participation.structure.name: entry for entry in order.structures}
    assert list(by_name) == ["Café associatif", "Crèche parentale", "Épicerie solidaire"]
    assert by_name["Café associatif"].quantities == [Decimal("3"), None]
    assert by_name["Crèche parentale"].quantities == [Decimal("1.5"), Decimal("2.25")]
    assert by_name["Crèche parentale"].amount_cents == 1875
    assert by_name["Épicerie solidaire"].amount_cents == 2500
    assert order.amount_euros == "81,25\u00a0€"


def test_csv_export_parses_back(ordered):
    data = gp.order_csv(gp.group_purchase_order(ordered))

    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    per_product_text, per_structure_text = text.split("\r\n\r\n")
    per_product = list(csv.reader(io.StringIO(per_product_text), delimiter=";"))
    per_structure = list(csv.reader(io.StringIO(per_structure_text), delimiter=";"))
    assert per_product == [
        ["Produit", "Unité", "Prix unitaire (€)", "Quantité totale", "Structures", "Montant (€)"],
        ["Panier de légumes", "panier", "12,5", "6,5", "3", "81,25"],
        ["Pommes", "kg", "", "12,25", "2", ""],
    ]
    assert per_structure[0] == [
        "Structure",
        "SIREN",
        "Courriel",
        "Produit",
        "Unité",
        "Quantité",
        "Montant (€)",
    ]
    rows = [(row[0], row[3], row[5], row[6]) for row in per_structure[1:]]
    assert rows == [
        ("Café associatif", "Panier de légumes", "3", "37,5"),
        ("Crèche parentale", "Panier de légumes", "1,5", "18,75"),
        ("Crèche parentale", "Pommes", "2,25", ""),
        ("Épicerie solidaire", "Panier de légumes", "2", "25"),
        ("Épicerie solidaire", "Pommes", "10", ""),
    ]


def test_xlsx_export_parses_back_and_neutralises_formulas(ordered, others):
    cafe, _ = others["Café associatif"]
    cafe.name = '=HYPERLINK("http://evil")'
    cafe.save(update_fields=["name"])
    ordered.products.filter(label="Pommes").update(label="+Pommes")

    workbook = load_workbook(io.BytesIO(gp.order_xlsx(gp.group_purchase_order(ordered))))

    assert workbook.sheetnames == ["Par produit", "Par structure"]
    per_product = [list(row) for row in workbook["Par produit"].iter_rows(values_only=True)]
    assert per_product[1] == ["Panier de légumes", "panier", 12.5, 6.5, 3, 81.25]
    assert per_product[2] == ["'+Pommes", "kg", None, 12.25, 2, None]
    per_structure = [list(row) for row in workbook["Par structure"].iter_rows(values_only=True)]
    assert per_structure[1][0] == '\'=HYPERLINK("http://evil")'
    assert sum(row[5] for row in per_structure[1:]) == 18.75
    assert gp.order_csv(gp.group_purchase_order(ordered)).decode("utf-8-sig").count("'=HYPERLINK") == 1


# --- Views and permissions


def test_public_page_shows_totals_but_not_the_participants(client, ordered):
    response = client.get(reverse("exchange:group_purchase", args=[ordered.listing.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "6,50 panier" in html
    assert "Café associatif" not in html and "Crèche parentale" not in html
    assert response.context["order"] is None
    detail = client.get(reverse("exchange:detail", args=[ordered.listing.pk])).content.decode()
    assert "Achat groupé" in detail and "Café associatif" not in detail


@pytest.mark.parametrize("who", ["member", "facilitator"])
def test_initiator_and_facilitator_see_the_order_per_structure(client, ordered, people, who):
    client.force_login(people[who])

    response = client.get(reverse("exchange:group_purchase", args=[ordered.listing.pk]))

    html = response.content.decode()
    assert "Café associatif" in html and "Crèche parentale" in html
    assert "81,25\u00a0€" in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_for_the_initiator_and_facilitators_only(client, ordered, people, others, fmt):
    url = reverse("exchange:group_purchase_export", args=[ordered.listing.pk, fmt])

    assert client.get(url).status_code == 302  # anonymous: to the login page
    for user in (people["outsider"], others["Café associatif"][1]):  # a participant is not the initiator
        client.force_login(user)
        assert client.get(url).status_code == 404
    for user in (people["member"], people["facilitator"]):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        assert f"achat-groupe-{ordered.listing.pk}.{fmt}" in response["Content-Disposition"]
    assert (
        client.get(reverse("exchange:group_purchase_export", args=[ordered.listing.pk, "pdf"])).status_code
        == 404
    )


def test_member_joins_changes_and_withdraws_through_the_page(client, purchase, others):
    cafe, member = others["Café associatif"]
    basket_pk, apple_pk = product_pks(purchase)
    url = reverse("exchange:group_purchase_participate", args=[purchase.listing.pk, cafe.slug])
    client.force_login(member)

    page = client.get(reverse("exchange:group_purchase", args=[purchase.listing.pk])).content.decode()
    assert url in page
    assert client.post(url, {f"product_{basket_pk}": "2,5", f"product_{apple_pk}": ""}).status_code == 302
    assert purchase.participations.get(structure=cafe).lines.get().quantity == Decimal("2.5")
    join(purchase, others["Crèche parentale"][0], baskets=Decimal("1"))
    page = client.get(reverse("exchange:group_purchase", args=[purchase.listing.pk]))
    assert page.context["order"] is None  # a participant sees the totals, not the other structures
    assert "Crèche parentale" not in page.content.decode()
    assert "3,50 panier" in page.content.decode()

    response = client.post(url, {f"product_{basket_pk}": "-1"})
    assert response.status_code == 200
    assert "supérieure ou égale à 0" in response.content.decode()

    client.post(url, {"action": "withdraw"})
    assert [p.structure.name for p in purchase.participations.all()] == ["Crèche parentale"]


def test_participation_page_permissions(client, purchase, people, others):
    cafe, _ = others["Café associatif"]
    url = reverse("exchange:group_purchase_participate", args=[purchase.listing.pk, cafe.slug])
    basket_pk, _ = product_pks(purchase)

    assert client.get(url).status_code == 302
    client.force_login(others["Crèche parentale"][1])  # member of another structure
    assert client.get(url).status_code == 404
    assert client.post(url, {f"product_{basket_pk}": "1"}).status_code == 404
    client.force_login(people["member"])  # the initiator does not act for other structures
    assert client.post(url, {f"product_{basket_pk}": "1"}).status_code == 404
    assert not purchase.participations.exists()

    client.force_login(people["facilitator"])  # a facilitator registers a structure
    assert client.post(url, {f"product_{basket_pk}": "4"}).status_code == 302
    assert purchase.participations.get().structure == cafe
    redirect = client.get(
        reverse("exchange:group_purchase_for", args=[purchase.listing.pk]), {"structure": cafe.slug}
    )
    assert redirect.url == url
    for typed in ("", "café associatif", "https://exemple.fr/annuaire/un%20espace/"):
        response = client.get(
            reverse("exchange:group_purchase_for", args=[purchase.listing.pk]), {"structure": typed}
        )
        assert response.status_code == 404


def test_setup_close_and_closed_page(client, people, others):
    listing = make_listing(structure=people["structure"], direction="need", kind="group_purchase")
    setup = reverse("exchange:group_purchase_setup", args=[listing.pk])
    cafe, cafe_member = others["Café associatif"]

    client.force_login(cafe_member)
    assert client.get(setup).status_code == 404
    assert client.get(reverse("exchange:group_purchase", args=[listing.pk])).status_code == 404  # not set up
    client.force_login(people["member"])
    deadline = (timezone.localtime() + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        setup,
        {
            "deadline": deadline,
            "produits-TOTAL_FORMS": "3",
            "produits-INITIAL_FORMS": "0",
            "produits-0-label": "Panier",
            "produits-0-unit": "panier",
            "produits-0-unit_price": "12,50",
            "produits-1-label": "Œufs",
            "produits-1-unit": "",
        },
    )
    assert response.status_code == 200
    assert "Indiquez l&#x27;unité" in response.content.decode()
    response = client.post(
        setup,
        {
            "deadline": deadline,
            "produits-TOTAL_FORMS": "3",
            "produits-INITIAL_FORMS": "0",
            "produits-0-label": "Panier",
            "produits-0-unit": "panier",
            "produits-0-unit_price": "12,50",
        },
    )
    assert response.status_code == 302
    purchase = GroupPurchase.objects.get(listing=listing)
    assert [(p.label, p.unit_price_cents) for p in purchase.products.all()] == [("Panier", 1250)]

    close = reverse("exchange:group_purchase_close", args=[listing.pk])
    client.force_login(cafe_member)
    assert client.post(close).status_code == 404
    client.force_login(people["member"])
    assert client.post(close).status_code == 302
    purchase.refresh_from_db()
    assert purchase.status == GroupPurchaseStatus.CLOSED

    client.force_login(cafe_member)
    url = reverse("exchange:group_purchase_participate", args=[listing.pk, cafe.slug])
    assert "est clos" in client.get(url).content.decode()
    response = client.post(url, {f"product_{purchase.products.get().pk}": "1"})
    assert "est clos" in response.content.decode()
    assert not purchase.participations.exists()


def test_draft_purchase_is_hidden_from_others(client, people, others):
    listing = make_listing(
        structure=people["structure"], direction="need", kind="group_purchase", publish=False
    )
    gp.group_purchase_configure(
        listing=listing,
        actor=None,
        deadline=NOW + datetime.timedelta(days=3),
        products=[gp.ProductInput(label="Panier", unit="panier")],
    )
    url = reverse("exchange:group_purchase", args=[listing.pk])

    assert client.get(url).status_code == 404
    client.force_login(others["Café associatif"][1])
    assert client.get(url).status_code == 404
    client.force_login(people["member"])
    assert client.get(url).status_code == 200


def test_a_closed_listing_keeps_its_order_sheet(purchase, people):
    services.listing_withdraw(listing=purchase.listing, actor=people["member"])
    with pytest.raises(ValidationError, match="Cette annonce est close"):
        gp.group_purchase_configure(
            listing=purchase.listing,
            actor=people["member"],
            deadline=NOW + datetime.timedelta(days=30),
            products=[gp.ProductInput(label="Panier de légumes", unit="panier", unit_price_cents=1250)],
        )
    purchase.refresh_from_db()
    assert purchase.deadline == NOW + datetime.timedelta(days=10)
