"""Load the demo data set: territories named in the seeds, their organisations, fictional accounts.

The data lives in ``essaim/demo/data/*.json`` (the project's own files; ``../shared`` is never read). Every
object is upserted by its natural key (perimeter and structure slug, account email, membership pair), so
loading twice gives the same database.
"""

import json
from dataclasses import dataclass, field
from importlib import resources

from django.core.exceptions import ValidationError
from django.db import transaction

from essaim.accounts.models import Role, User
from essaim.actors import services as actors
from essaim.actors.models import STATUS_TRANSITIONS, Status, Structure
from essaim.demo.events import demo_events_load
from essaim.demo.exchange import demo_exchange_load
from essaim.demo.models import DemoMarker
from essaim.demo.workshops import load_workshops
from essaim.territories.models import Commune, Epci, Perimeter
from essaim.territories.services import perimeter_save

TERRITORIES_HINT = "lancez d'abord `essaim territories_load`"


class DemoDataError(Exception):
    """The demo cannot be loaded (territories missing, invalid data file). The message is French."""


@dataclass
class Counter:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __str__(self) -> str:
        return f"{self.created} créé(s), {self.updated} mis à jour, {self.unchanged} inchangé(s)"


@dataclass
class DemoSummary:
    perimeters: Counter = field(default_factory=Counter)
    structures: Counter = field(default_factory=Counter)
    accounts: Counter = field(default_factory=Counter)
    memberships: Counter = field(default_factory=Counter)
    home_perimeter: str = ""
    # (email, password, role label, structures) of the demo accounts, for the command to print.
    account_rows: list[tuple[str, str, str, str]] = field(default_factory=list)


def demo_data(name: str) -> dict:
    """The parsed demo data file ``data/<name>.json``. Raises DemoDataError if it is missing or invalid."""
    try:
        text = resources.files("essaim.demo").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise DemoDataError(
            f"Fichier de données de démonstration illisible : data/{name}.json ({exc})."
        ) from exc


def _check_territories(perimeters: list[dict], structures: list[dict]) -> None:
    if not Commune.objects.exists():
        raise DemoDataError(f"Les territoires ne sont pas chargés : {TERRITORIES_HINT}.")
    epci_codes = {code for p in perimeters for code in p.get("epci_codes", ())}
    commune_codes = {code for p in perimeters for code in p.get("commune_codes", ())}
    commune_codes |= {s["commune"] for s in structures if s.get("commune")}
    missing_epci = sorted(
        epci_codes - set(Epci.objects.filter(code__in=epci_codes).values_list("code", flat=True))
    )
    missing_communes = sorted(
        commune_codes - set(Commune.objects.filter(code__in=commune_codes).values_list("code", flat=True))
    )
    if missing_epci or missing_communes:
        parts = []
        if missing_epci:
            parts.append(f"EPCI {', '.join(missing_epci)}")
        if missing_communes:
            parts.append(f"communes {', '.join(missing_communes)}")
        raise DemoDataError(
            f"Territoires incomplets, codes introuvables : {' ; '.join(parts)}. "
            f"{TERRITORIES_HINT[0].upper()}{TERRITORIES_HINT[1:]} (ou rechargez-les)."
        )


def _definition(item: dict) -> dict:
    # Mirrors how perimeter_save stores its definition; a mismatch only means an extra (harmless) save.
    units = {"epci": item.get("epci_codes", ()), "commune": item.get("commune_codes", ())}
    return {unit: sorted(set(codes)) for unit, codes in units.items() if codes}


def _load_perimeter(item: dict) -> str:
    existing = Perimeter.objects.filter(slug=item["slug"]).first()
    expected = {
        "name": item["name"],
        "kind": item["kind"],
        "description": item.get("description", ""),
        "definition": _definition(item),
    }
    same = existing is not None and all(getattr(existing, key) == value for key, value in expected.items())
    if same and (existing.is_home or not item.get("is_home")):
        return "unchanged"
    perimeter_save(
        slug=item["slug"],
        name=item["name"],
        kind=item["kind"],
        epci_codes=item.get("epci_codes", ()),
        commune_codes=item.get("commune_codes", ()),
        description=item.get("description", ""),
        is_home=bool(item.get("is_home")),
        actor=None,
    )
    return "updated" if existing else "created"


def _move_status(structure: Structure, status: str) -> bool:
    """Bring ``structure`` to ``status``, through draft when there is no direct transition."""
    if structure.status == status:
        return False
    if status not in STATUS_TRANSITIONS[structure.status]:
        actors.structure_set_status(structure=structure, status=Status.DRAFT, actor=None)
    actors.structure_set_status(structure=structure, status=status, actor=None)
    return True


def _load_structure(item: dict, communes: dict[str, Commune]) -> str:
    fields = {
        "name": item["name"],
        "acronym": item.get("acronym", ""),
        "family": item["family"],
        "cooperative_kind": item.get("cooperative_kind", ""),
        "commune": communes.get(item.get("commune") or ""),
        "address": item.get("address", ""),
        "website": item.get("website", ""),
        "email": item.get("email", ""),
        "description": item.get("description", ""),
    }
    status = item.get("status", Status.PUBLISHED)
    try:
        structure = Structure.objects.filter(slug=item["slug"]).first()
        if structure is None:
            actors.structure_create(slug=item["slug"], status=status, actor=None, **fields)
            return "created"
        changed = actors.structure_update(structure=structure, actor=None, **fields)
        moved = _move_status(structure, status)
    except ValidationError as exc:
        raise DemoDataError(f"Structure « {item['slug']} » invalide : {'; '.join(exc.messages)}") from exc
    return "updated" if changed or moved else "unchanged"


def _load_account(item: dict) -> str:
    """Create or align a fictional demo account. Demo data is loader-owned, so the ORM is used directly."""
    role = item["role"]
    is_admin = role == Role.ADMIN
    user = User.objects.filter(email=item["email"]).first()
    if user is None:
        User.objects.create_user(item["email"], item["password"], full_name=item["full_name"], role=role)
        return "created"
    wanted = {
        "full_name": item["full_name"],
        "role": role,
        "is_staff": is_admin,
        "is_superuser": is_admin,
        "is_active": True,
    }
    changed = [name for name, value in wanted.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, wanted[name])
    if not user.check_password(item["password"]):
        user.set_password(item["password"])
        changed.append("password")
    if changed:
        user.save(update_fields=changed)
        return "updated"
    return "unchanged"


def _check_target(accounts: list[dict], *, allow_real_database: bool) -> None:
    """Refuse to put demo accounts (public passwords, one of them a platform admin) into a real database.

    A database is a demo database when it was empty of accounts the first time the demo was loaded (a marker
    row records it). Whatever the settings say, a database holding other accounts and no marker is refused.
    """
    if DemoMarker.objects.exists() or allow_real_database:
        return
    demo_emails = {item["email"] for item in accounts}
    if User.objects.exclude(email__in=demo_emails).exists():
        raise DemoDataError(
            "Refusé : cette base contient déjà des comptes qui ne sont pas ceux de la démonstration. Les "
            "données de démonstration créent des comptes dont les mots de passe sont publics (dont un compte "
            "administrateur). Utilisez une base vide pour la démo, ou --allow-production si c'est "
            "vraiment voulu."
        )


@transaction.atomic
def demo_load(*, allow_real_database: bool = False) -> DemoSummary:
    """Load (or bring back) the demo data set; all or nothing.

    Raises DemoDataError (French message) when the territories are not loaded, a data file is invalid, or
    the database holds real accounts and was not set up as a demo (unless ``allow_real_database``); the
    database is then left as it was.
    """
    perimeters = demo_data("perimeters")["perimeters"]
    structures = demo_data("structures")["structures"]
    accounts = demo_data("accounts")["accounts"]
    _check_target(accounts, allow_real_database=allow_real_database)
    _check_territories(perimeters, structures)
    DemoMarker.objects.get_or_create(id=1)
    summary = DemoSummary()

    for item in perimeters:
        summary.perimeters.add(_load_perimeter(item))
        if item.get("is_home"):
            summary.home_perimeter = item["name"]

    codes = {s["commune"] for s in structures if s.get("commune")}
    communes = {commune.code: commune for commune in Commune.objects.filter(code__in=codes)}
    for item in structures:
        summary.structures.add(_load_structure(item, communes))

    role_labels = dict(Role.choices)
    for item in accounts:
        summary.accounts.add(_load_account(item))
        user = User.objects.get(email=item["email"])
        names = []
        for membership in item.get("memberships", ()):
            structure = Structure.objects.filter(slug=membership["structure"]).first()
            if structure is None:
                raise DemoDataError(
                    f"Compte {item['email']} : structure « {membership['structure']} » absente des données."
                )
            before = structure.memberships.filter(user=user).values_list("role", flat=True).first()
            actors.membership_add(user=user, structure=structure, role=membership["role"], actor=None)
            summary.memberships.add(
                "created" if before is None else "unchanged" if before == membership["role"] else "updated"
            )
            names.append(structure.name)
        summary.account_rows.append(
            (item["email"], item["password"], role_labels[item["role"]], ", ".join(names))
        )
    summary.events = demo_events_load()
    summary.listings = demo_exchange_load()
    # After the events: the bouillon's consultation links to its agenda event.
    load_workshops()
    return summary
