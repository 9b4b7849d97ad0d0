"""Demo workshops: the Périgord Vert "bouillon de territoire" of 28/11/2016 (``data/workshops.json``).

Each consultation is replayed through the workshops services, as a facilitator would have run it: needs
prepared, consultation opened, the room's two proposals typed in, paper dots entered, post-its copied, then
closed, the five groups' proposals recorded and the synthesis published. A published consultation is frozen,
so a consultation already present (by slug) is left as it is: loading twice gives the same database.
"""

import datetime

from django.core.exceptions import ValidationError

from essaim.accounts.models import User
from essaim.actors.models import Structure
from essaim.events.models import Event
from essaim.workshops import services
from essaim.workshops.models import CommentCategory, Consultation, Phase


def _load_consultation(data: dict) -> str:
    from essaim.demo.services import DemoDataError

    if Consultation.objects.filter(slug=data["slug"]).exists():
        return "unchanged"
    owner = User.objects.filter(email=data["owner"]).first()
    if owner is None:
        raise DemoDataError(f"Consultation « {data['slug']} » : compte {data['owner']} absent des données.")
    try:
        consultation = services.consultation_create(
            title=data["title"],
            slug=data["slug"],
            owner=owner,
            actor=None,
            description=data.get("description", ""),
            held_on=datetime.date.fromisoformat(data["held_on"]) if data.get("held_on") else None,
            structure=Structure.objects.filter(slug=data.get("structure") or "").first(),
            event=Event.objects.filter(slug=data.get("event") or "").first(),
            green_limit=None,
            red_limit=None,
        )
        items = {}
        prepared = [item for item in data["items"] if not item.get("proposed_in_room")]
        in_room = [item for item in data["items"] if item.get("proposed_in_room")]
        for item in prepared:
            items[item["key"]] = services.item_create(
                consultation=consultation,
                title=item["title"],
                description=item.get("description", ""),
                actor=None,
            )
        services.consultation_set_phase(consultation=consultation, phase=Phase.OPEN, actor=None)
        for item in in_room:
            items[item["key"]] = services.item_create(
                consultation=consultation,
                title=item["title"],
                description=item.get("description", ""),
                parent=items[item["parent"]] if item.get("parent") else None,
                proposed_in_room=True,
                actor=None,
            )
        for item in data["items"]:
            if "green" in item or "red" in item:
                services.paper_tally_set(
                    item=items[item["key"]], green=item.get("green", 0), red=item.get("red", 0), actor=None
                )
            for text in item.get("comments", ()):
                category = CommentCategory.QUESTION if text.rstrip().endswith("?") else CommentCategory.REMARK
                services.comment_post(
                    item=items[item["key"]], participant=None, text=text, category=category, actor=None
                )
        services.consultation_set_phase(consultation=consultation, phase=Phase.CLOSED, actor=None)
        for group_data in data.get("groups", ()):
            group = services.group_save(
                consultation=consultation,
                number=group_data["number"],
                name=group_data.get("name", ""),
                actor=None,
            )
            for proposal in group_data["proposals"]:
                services.proposal_create(
                    group=group,
                    text=proposal["text"],
                    items=[items[key] for key in proposal.get("items", ())],
                    tags=proposal.get("tags", ()),
                    actor=None,
                )
        services.consultation_set_phase(consultation=consultation, phase=Phase.PUBLISHED, actor=None)
    except (ValidationError, KeyError) as exc:
        detail = "; ".join(exc.messages) if isinstance(exc, ValidationError) else f"clé {exc}"
        raise DemoDataError(f"Consultation « {data['slug']} » invalide : {detail}") from exc
    return "created"


def load_workshops() -> dict[str, int]:
    """Load the demo consultations missing from the database; returns how many were created / unchanged.

    Raises DemoDataError (French message) when the data file is invalid or names a missing account.
    """
    from essaim.demo.services import demo_data

    counts = {"created": 0, "unchanged": 0}
    for data in demo_data("workshops")["consultations"]:
        counts[_load_consultation(data)] += 1
    return counts
