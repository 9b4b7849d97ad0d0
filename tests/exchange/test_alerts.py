"""Alerts: matching, due computation, sending (once), unsubscribe link, RSS feed, pages and permissions."""

import datetime
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry, OutgoingEmail
from essaim.exchange import alerts, services
from essaim.exchange.models import Alert, AlertSending
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 3, 10, 7, 10, tzinfo=datetime.UTC)


def publish(*, structure, at, themes=(), **fields):
    """A listing of ``structure`` published at ``at``."""
    fields.setdefault("direction", "offer")
    fields.setdefault("kind", "equipment")
    fields.setdefault("title", "Camion frigorifique")
    listing = services.listing_create(structure=structure, actor=None, themes=themes, **fields)
    return services.listing_publish(listing=listing, actor=None, now=at)


def make_alert(*, user=None, created_at=None, themes=(), **fields):
    alert = alerts.alert_create(user=user or UserFactory(), themes=themes, **fields)
    if created_at is not None:
        Alert.objects.filter(pk=alert.pk).update(created_at=created_at)
        alert.refresh_from_db()
    return alert


def matches(alert, *, since=None):
    alert = Alert.objects.get(pk=alert.pk)
    candidates = alerts.load_candidates(since=NOW - datetime.timedelta(days=60), until=NOW)
    return alerts.matching_ids(alert=alert, candidates=candidates, since=since)


@pytest.fixture
def places(communes):
    return {
        name: StructureFactory(name=f"Structure de {name}", commune=commune)
        for name, commune in communes.items()
    }


# -- Matching ------------------------------------------------------------------------------------------------


def test_matching_by_direction_and_kind(places):
    at = NOW - datetime.timedelta(hours=3)
    offer = publish(structure=places["Caussade"], at=at, direction="offer", kind="premises", title="Salle")
    need = publish(structure=places["Caussade"], at=at, direction="need", kind="premises", title="Bureau")
    other_kind = publish(structure=places["Caussade"], at=at, direction="need", kind="skill", title="Compta")

    assert matches(make_alert(direction="need")) == [other_kind.pk, need.pk]
    assert matches(make_alert(kind="premises")) == [need.pk, offer.pk]
    assert matches(make_alert(direction="offer", kind="premises")) == [offer.pk]
    assert matches(make_alert()) == [other_kind.pk, need.pk, offer.pk]


def test_matching_by_any_of_the_themes(places, themes):
    at = NOW - datetime.timedelta(hours=3)
    food = publish(structure=places["Caussade"], at=at, title="Paniers", themes=[themes["alimentation"]])
    publish(structure=places["Caussade"], at=at, title="Concert", themes=[themes["culture"]])
    publish(structure=places["Caussade"], at=at, title="Sans thème")
    both = publish(
        structure=places["Caussade"],
        at=at,
        title="Cantine",
        themes=[themes["emploi"], themes["alimentation"]],
    )

    alert = make_alert(themes=[themes["alimentation"], themes["emploi"]])

    assert matches(alert) == [both.pk, food.pk]


def test_matching_by_text_uses_the_list_search(places):
    at = NOW - datetime.timedelta(hours=3)
    room = publish(structure=places["Caussade"], at=at, title="Prêt d'une salle de réunion")
    publish(structure=places["Caussade"], at=at, title="Camion")

    assert matches(make_alert(text="PRET  salle")) == [room.pk]
    assert matches(make_alert(text="salle piscine")) == []


def test_matching_by_radius_around_a_commune_or_a_structure(places, communes):
    at = NOW - datetime.timedelta(hours=3)
    caussade = publish(structure=places["Caussade"], at=at, title="À Caussade")
    montauban = publish(structure=places["Montauban"], at=at, title="À Montauban")  # about 22 km away
    publish(structure=places["Nontron"], at=at, title="À Nontron")
    nowhere = publish(structure=StructureFactory(), at=at, title="Sans lieu")

    assert matches(make_alert(commune=communes["Caussade"], radius_km=10)) == [caussade.pk]
    assert matches(make_alert(commune=communes["Caussade"], radius_km=30)) == [montauban.pk, caussade.pk]
    # Without a place, the listings without a point are not left out.
    assert nowhere.pk in matches(make_alert())

    member = UserFactory()
    Membership.objects.create(user=member, structure=places["Montauban"])
    assert matches(make_alert(user=member, structure=places["Montauban"], radius_km=5)) == [montauban.pk]


def test_hidden_expired_and_closed_listings_never_match(places, facilitator_user=None):
    from essaim.exchange.moderation import listing_hide
    from tests.factories import FacilitatorFactory

    at = NOW - datetime.timedelta(hours=3)
    kept = publish(structure=places["Caussade"], at=at, title="Gardée")
    hidden = publish(structure=places["Caussade"], at=at, title="Masquée")
    listing_hide(listing=hidden, actor=FacilitatorFactory(), reason="Spam")
    closed = publish(structure=places["Caussade"], at=at, title="Retirée")
    services.listing_withdraw(listing=closed, actor=None)

    assert matches(make_alert()) == [kept.pk]


def test_alert_create_refuses_a_structure_of_someone_else_and_both_places(places, communes):
    with pytest.raises(ValidationError) as error:
        make_alert(structure=places["Caussade"])
    assert "membre" in str(error.value)
    member = UserFactory()
    Membership.objects.create(user=member, structure=places["Caussade"])
    with pytest.raises(ValidationError):
        make_alert(user=member, structure=places["Caussade"], commune=communes["Caussade"])
    with pytest.raises(ValidationError) as error:
        make_alert(radius_km=0)
    assert "rayon" in str(error.value).lower()


# -- Due computation and sending -----------------------------------------------------------------------------


def test_due_daily_and_weekly():
    daily = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=1))
    fresh_daily = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(hours=12))
    weekly = make_alert(frequency="weekly", created_at=NOW - datetime.timedelta(days=7))
    young_weekly = make_alert(frequency="weekly", created_at=NOW - datetime.timedelta(days=3))
    # Yesterday's run started a few minutes later than today's: still due (margin).
    late = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=3))
    Alert.objects.filter(pk=late.pk).update(last_checked_at=NOW - datetime.timedelta(hours=23, minutes=50))
    stopped = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=3))
    alerts.alert_set_email(alert=stopped, actor=None, enabled=False)
    Alert.objects.filter(pk=stopped.pk).update(last_checked_at=NOW - datetime.timedelta(days=3))

    due = set(alerts.due_alerts(now=NOW).values_list("pk", flat=True))

    assert due == {daily.pk, weekly.pk, late.pk}
    assert fresh_daily.pk not in due and young_weekly.pk not in due
    for alert in Alert.objects.all():
        assert alerts.is_due(alert, NOW) == (alert.pk in due)


def test_send_emails_new_matches_once_and_records_the_sending(places):
    user = UserFactory(email="veille@exemple.fr")
    alert = make_alert(
        user=user, frequency="daily", kind="premises", created_at=NOW - datetime.timedelta(days=1)
    )
    publish(
        structure=places["Caussade"], at=NOW - datetime.timedelta(days=2), kind="premises", title="Ancienne"
    )
    new = publish(
        structure=places["Caussade"], at=NOW - datetime.timedelta(hours=5), kind="premises", title="Salle"
    )
    publish(
        structure=places["Caussade"], at=NOW - datetime.timedelta(hours=5), kind="skill", title="Autre type"
    )

    run = alerts.alerts_send(now=NOW)

    assert (run.due, run.emails) == (1, 1)
    email = OutgoingEmail.objects.get()
    assert email.to == ["veille@exemple.fr"]
    assert "Salle" in email.body and "Ancienne" not in email.body and "Autre type" not in email.body
    assert reverse("exchange:detail", args=[new.pk]) in email.body
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = email.headers["List-Unsubscribe"].rstrip("/>").rsplit("/", 1)[1]
    assert alerts.alert_for_unsubscribe_token(token) == alert
    assert token in email.body
    sending = AlertSending.objects.get()
    assert sending.listing_ids == [new.pk]
    alert.refresh_from_db()
    assert alert.last_sent_at == NOW and alert.last_checked_at == NOW

    # Run again (same time, one hour later): nothing is due any more, nothing is sent twice.
    assert alerts.alerts_send(now=NOW).emails == 0
    assert alerts.alerts_send(now=NOW + datetime.timedelta(hours=1)).due == 0
    assert alerts.alert_send(alert=alert, now=NOW + datetime.timedelta(hours=1)) is None
    assert OutgoingEmail.objects.count() == 1
    assert AlertSending.objects.count() == 1

    # Next day: only what was published since the last sending.
    later = publish(
        structure=places["Caussade"], at=NOW + datetime.timedelta(hours=3), kind="premises", title="Bureau"
    )
    assert alerts.alerts_send(now=NOW + datetime.timedelta(days=1)).emails == 1
    assert AlertSending.objects.order_by("-sent_at").first().listing_ids == [later.pk]


def test_no_match_means_no_email_but_the_period_moves_on(places):
    alert = make_alert(frequency="weekly", kind="skill", created_at=NOW - datetime.timedelta(days=8))
    publish(structure=places["Caussade"], at=NOW - datetime.timedelta(days=1), kind="premises")

    run = alerts.alerts_send(now=NOW)

    assert (run.due, run.emails) == (1, 0)
    assert not OutgoingEmail.objects.exists() and not AlertSending.objects.exists()
    alert.refresh_from_db()
    assert alert.last_checked_at == NOW and alert.last_sent_at is None
    assert alerts.due_alerts(now=NOW + datetime.timedelta(days=1)).count() == 0


def test_one_sending_per_day_even_if_the_period_was_reset(places):
    alert = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=2))
    publish(structure=places["Caussade"], at=NOW - datetime.timedelta(hours=2))
    assert alerts.alerts_send(now=NOW).emails == 1
    # Someone resets the period by hand: the daily uniqueness still forbids a second email today.
    Alert.objects.filter(pk=alert.pk).update(last_checked_at=NOW - datetime.timedelta(days=2))
    assert alerts.alerts_send(now=NOW + datetime.timedelta(minutes=5)).emails == 0
    assert OutgoingEmail.objects.count() == 1


def test_a_stale_alert_is_not_sent_twice_nor_after_unsubscribing(places):
    """Two runs reading the same alert: the second one's conditional claim updates nothing."""
    make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=2))
    publish(structure=places["Caussade"], at=NOW - datetime.timedelta(hours=2))
    candidates = alerts.load_candidates(since=NOW - datetime.timedelta(days=3), until=NOW)
    stale_a, stale_b = list(alerts.due_alerts(now=NOW)), list(alerts.due_alerts(now=NOW))

    first = alerts._send(alert=stale_a[0], now=NOW, candidates=candidates, shown=alerts.EmailListings())
    second = alerts._send(
        alert=stale_b[0],
        now=NOW + datetime.timedelta(minutes=1),
        candidates=candidates,
        shown=alerts.EmailListings(),
    )

    assert first is not None and second is None
    assert OutgoingEmail.objects.count() == 1

    other = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=2))
    (stale,) = [a for a in alerts.due_alerts(now=NOW) if a.pk == other.pk]
    alerts.alert_unsubscribe(alert=other)
    assert alerts._send(alert=stale, now=NOW, candidates=candidates, shown=alerts.EmailListings()) is None
    assert OutgoingEmail.objects.count() == 1


def test_a_failing_alert_does_not_stop_the_run(places, monkeypatch):
    broken = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=2))
    fine = make_alert(frequency="daily", created_at=NOW - datetime.timedelta(days=2))
    publish(structure=places["Caussade"], at=NOW - datetime.timedelta(hours=2))
    real = alerts._message

    def message(*, alert, **kwargs):
        if alert.pk == broken.pk:
            raise RuntimeError("gabarit cassé")
        return real(alert=alert, **kwargs)

    monkeypatch.setattr(alerts, "_message", message)
    run = alerts.alerts_send(now=NOW)

    assert (run.emails, run.failed) == (1, 1)
    assert [email.to for email in OutgoingEmail.objects.all()] == [[fine.user.email]]
    broken.refresh_from_db()
    assert broken.last_checked_at is None  # rolled back: it is tried again next time
    assert AlertSending.objects.get().alert == fine


def test_inactive_users_get_nothing(places):
    user = UserFactory(is_active=False)
    make_alert(user=user, frequency="daily", created_at=NOW - datetime.timedelta(days=2))
    publish(structure=places["Caussade"], at=NOW - datetime.timedelta(hours=2))
    assert alerts.alerts_send(now=NOW).due == 0


# -- Unsubscribe link ----------------------------------------------------------------------------------------


def test_unsubscribe_link_get_confirms_post_unsubscribes_logged_out(client):
    alert = make_alert(frequency="daily")
    url = alerts.unsubscribe_url(alert)

    page = client.get(url)
    assert page.status_code == 200
    assert "Ne plus recevoir cette alerte" in page.content.decode()
    alert.refresh_from_db()
    assert alert.email_enabled  # a GET (mail scanners) changes nothing

    done = client.post(url)  # one-click, no CSRF token (RFC 8058)
    assert done.status_code == 200
    alert.refresh_from_db()
    assert not alert.email_enabled
    assert AuditLogEntry.objects.filter(verb="exchange.alert.unsubscribed").exists()
    assert alerts.due_alerts(now=timezone.now() + datetime.timedelta(days=30)).count() == 0


def test_tampered_or_foreign_tokens_are_refused(client):
    alert = make_alert()
    token = alerts.unsubscribe_token(alert)
    tampered = token[:-2] + ("aa" if not token.endswith("aa") else "bb")

    response = client.post(reverse("exchange:alert_unsubscribe", args=[tampered]))
    assert response.status_code == 400
    alert.refresh_from_db()
    assert alert.email_enabled
    # A feed token is no unsubscribe token (different salts), and the reverse.
    assert (
        client.post(reverse("exchange:alert_unsubscribe", args=[alerts.feed_token(alert)])).status_code == 400
    )
    assert client.get(reverse("exchange:alert_feed", args=[token])).status_code == 404
    with pytest.raises(alerts.AlertLinkError):
        alerts.alert_for_unsubscribe_token(tampered)


# -- RSS feed ------------------------------------------------------------------------------------------------


def test_rss_feed_lists_matching_listings(client, places):
    alert = make_alert(kind="premises")
    room = publish(
        structure=places["Caussade"],
        at=timezone.now() - datetime.timedelta(days=1),
        kind="premises",
        title="Salle à partager",
    )
    publish(
        structure=places["Caussade"],
        at=timezone.now() - datetime.timedelta(days=1),
        kind="skill",
        title="Comptabilité",
    )
    publish(
        structure=places["Caussade"],
        at=timezone.now() - datetime.timedelta(days=90),
        kind="premises",
        title="Trop ancienne",
    )

    response = client.get(alerts.feed_url(alert))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ElementTree.fromstring(response.content).find("channel")  # noqa: S314 (our own feed)
    items = channel.findall("item")
    assert [item.findtext("title") for item in items] == ["Offre — Salle à partager"]
    assert items[0].findtext("link").endswith(reverse("exchange:detail", args=[room.pk]))
    assert "Structure de Caussade" in items[0].findtext("description")

    assert client.get(reverse("exchange:alert_feed", args=["pas-un-jeton"])).status_code == 404
    alert.delete()
    assert client.get(alerts.feed_url(alert)).status_code == 404


# -- Pages ---------------------------------------------------------------------------------------------------


def test_create_alert_from_the_list_filters(client, themes, communes):
    user = UserFactory()
    client.force_login(user)

    form = client.get(
        reverse("exchange:alert_create"),
        {"sens": "need", "type": "premises", "theme": "alimentation", "q": "salle"},
    )
    assert form.status_code == 200
    assert form.context["form"].initial["sens"] == "need"
    assert form.context["form"].initial["themes"] == ["alimentation"]

    response = client.post(
        reverse("exchange:alert_create"),
        {
            "sens": "need",
            "type": "premises",
            "themes": ["alimentation"],
            "q": "salle",
            "commune": "82037",
            "rayon": "20",
            "frequence": "daily",
        },
    )

    assert response.status_code == 302
    alert = Alert.objects.get(user=user)
    assert (alert.direction, alert.kind, alert.text, alert.commune, alert.radius_km, alert.frequency) == (
        "need",
        "premises",
        "salle",
        communes["Caussade"],
        20,
        "daily",
    )
    assert list(alert.themes.all()) == [themes["alimentation"]]


def test_create_alert_shows_french_errors(client, communes):
    client.force_login(UserFactory())
    response = client.post(
        reverse("exchange:alert_create"),
        {"commune": "Introuvableville", "rayon": "5000", "frequence": "daily"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "Aucune commune" in errors["commune"][0]
    assert "rayon" in errors and not Alert.objects.exists()


def test_alert_pages_need_login_and_ownership(client):
    owner, other = UserFactory(), UserFactory()
    alert = make_alert(user=owner)

    assert client.get(reverse("exchange:alerts")).status_code == 302
    assert client.get(reverse("exchange:alert_create")).status_code == 302

    client.force_login(other)
    assert client.post(reverse("exchange:alert_delete", args=[alert.pk])).status_code == 404
    assert client.post(reverse("exchange:alert_email", args=[alert.pk]), {"envoi": "non"}).status_code == 404
    assert alerts.describe(alert) not in client.get(reverse("exchange:alerts")).content.decode()
    assert Alert.objects.filter(pk=alert.pk, email_enabled=True).exists()

    client.force_login(owner)
    page = client.get(reverse("exchange:alerts"))
    assert alerts.feed_url(alert) in page.content.decode()
    client.post(reverse("exchange:alert_email", args=[alert.pk]), {"envoi": "non"})
    assert not Alert.objects.get(pk=alert.pk).email_enabled
    client.post(reverse("exchange:alert_email", args=[alert.pk]), {"envoi": "oui"})
    assert Alert.objects.get(pk=alert.pk).email_enabled
    client.post(reverse("exchange:alert_delete", args=[alert.pk]))
    assert not Alert.objects.exists()


def test_list_page_links_to_alert_creation_with_its_filters(client, people):
    response = client.get(reverse("exchange:list"), {"sens": "need", "territoire": "tous"})
    # Anonymous: straight to the login page, which comes back to the alert form with the filters.
    next_url = quote(reverse("exchange:alert_create") + "?sens=need", safe="")
    assert f"{reverse('accounts:login')}?next={next_url}" in response.content.decode()

    client.force_login(people["outsider"])
    response = client.get(reverse("exchange:list"), {"sens": "need", "territoire": "tous"})
    assert reverse("exchange:alert_create") + "?sens=need" in response.content.decode()
