"""Demo match records: La Rafistolerie wrote to Le Périscope about its meeting room (the demo member of La
Rafistolerie sees the conversation), and the facilitator introduced Totocar's minibus to Le Tracteur savant's
festival. Loading twice changes nothing; missing structures, listings or accounts are skipped."""

from essaim.accounts.models import User
from essaim.exchange.contacts import contact_send, match_introduce
from essaim.exchange.models import Listing, Match

CONTACT = {
    "listing": ("le-periscope", "Espace de coworking et salle de réunion à partager"),
    "sender": "la-rafistolerie",
    "author": "membre.rafistolerie@essaim.example",
    "body": (
        "Bonjour, nous cherchons une salle pour nos ateliers de réparation, une soirée par mois. "
        "Votre salle de réunion serait-elle disponible le premier jeudi du mois ? Nous pouvons participer "
        "aux frais ou rendre service en échange (réparations du petit électroménager)."
    ),
}
INTRODUCTION = {
    "listing": ("le-tracteur-savant", "Matériel de sonorisation pour un festival"),
    "counterpart": ("totocar", "Prêt d'un minibus"),
    "broker": "animation@essaim.example",
    "body": (
        "Bonjour à vous deux, Totocar prête un minibus aux associations : il pourrait transporter le "
        "matériel et les bénévoles du festival. Je vous laisse échanger !"
    ),
}


def _listing(slug: str, title: str) -> Listing | None:
    return Listing.objects.filter(structure__slug=slug, title=title).select_related("structure").first()


def demo_contacts_load() -> int:
    """Create the demo conversations that do not exist yet; returns how many were created."""
    created = 0
    listing = _listing(*CONTACT["listing"])
    author = User.objects.filter(email=CONTACT["author"]).first()
    sender = author.memberships.filter(structure__slug=CONTACT["sender"]).first() if author else None
    if listing and sender and not Match.objects.filter(listing=listing).exists():
        contact_send(listing=listing, sender_structure=sender.structure, actor=author, body=CONTACT["body"])
        created += 1
    listing = _listing(*INTRODUCTION["listing"])
    counterpart = _listing(*INTRODUCTION["counterpart"])
    broker = User.objects.filter(email=INTRODUCTION["broker"]).first()
    if listing and counterpart and broker and not Match.objects.filter(listing=listing).exists():
        match_introduce(
            listing=listing, counterpart_listing=counterpart, broker=broker, body=INTRODUCTION["body"]
        )
        created += 1
    return created
