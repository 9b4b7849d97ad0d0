"""ESS qualification of a structure from its INSEE legal category and SIRENE's ESS flag.

Pure functions, no database access. The table below was derived from the labels of the INSEE level-3 legal
categories ("categories juridiques niveau III"): every code whose label names an association, a cooperative,
a mutual or a foundation, checked one by one.

- Associations (law 1901 and local law): 9210 non déclarée, 9220 déclarée, 9221 d'insertion par
  l'économique, 9222 intermédiaire, 9230 reconnue d'utilité publique, 9260 droit local Alsace-Moselle.
  Left out: 9150 association syndicale libre (owners), 9223 groupement d'employeurs, 9224 association
  d'avocats (professional practice), 9240 congrégation, 7321-7323 (public bodies).
- Cooperatives: SCOP = 5458 (SARL), 5558 (SA à CA), 5658 (SA à directoire); agricultural = 6316 (CUMA),
  6317, 6318 (union); consumers = 5451, 5551, 5651, 6551; every other label with "coopérative" (artisanale,
  de transport, maritime, de construction, HLM, commerçants-détaillants, unions, "autre ... coopérative",
  5195 Alsace-Moselle) and the cooperative banks (5192 banque populaire, 5193/5194/6595 crédit maritime et
  mutuel, 5196 caisse d'épargne, 6596 crédit agricole mutuel, 5191 caution mutuelle) = other cooperative.
  INSEE has no code for SCIC, CAE or coopératives d'habitants (they are SARL/SA/SAS coopératives): that
  kind is set by a facilitator. "Coopération" codes (7349, 7470, 9970) are public or health bodies, not
  cooperatives; SICA (5432, 5532, 5632, 6532) are not cooperatives either.
- Mutuals: 8210 Mutuelle, 8250 Assurance mutuelle agricole, 8290 Autre organisme mutualiste, 6411 Société
  d'assurance à forme mutuelle. Left out: 8140 Mutualité sociale agricole (social security body).
- Foundations: 9300.
- Commercial companies (level 1 = 5, and the other companies registered at the RCS, level 1 = 6) are ESS
  ("entreprise commerciale de l'ESS") only when SIRENE flags them (economieSocialeSolidaireUniteLegale = O).
- Public bodies (level 1 = 3, 4, 7) are public partners; anything else is "other".
"""

from dataclasses import dataclass

from essaim.actors.models import CooperativeKind, Family

ASSOCIATIONS = {
    "9210": "Association non déclarée",
    "9220": "Association déclarée",
    "9221": "Association déclarée d'insertion par l'économique",
    "9222": "Association intermédiaire",
    "9230": "Association déclarée, reconnue d'utilité publique",
    "9260": "Association de droit local (Bas-Rhin, Haut-Rhin et Moselle)",
}
SCOP = {
    "5458": "SARL coopérative de production (SCOP)",
    "5558": "SA coopérative de production (SCOP) à conseil d'administration",
    "5658": "SA coopérative de production (SCOP) à directoire",
}
AGRICULTURAL_COOPERATIVES = {
    "6316": "Coopérative d'utilisation de matériel agricole en commun (CUMA)",
    "6317": "Société coopérative agricole",
    "6318": "Union de sociétés coopératives agricoles",
}
CONSUMER_COOPERATIVES = {
    "5451": "SARL coopérative de consommation",
    "5551": "SA coopérative de consommation à conseil d'administration",
    "5651": "SA coopérative de consommation à directoire",
    "6551": "Société civile coopérative de consommation",
}
OTHER_COOPERATIVES = {
    "5191": "Société de caution mutuelle",
    "5192": "Société coopérative de banque populaire",
    "5193": "Caisse de crédit maritime mutuel",
    "5194": "Caisse (fédérale) de crédit mutuel",
    "5195": "Association coopérative inscrite (droit local Alsace Moselle)",
    "5196": "Caisse d'épargne et de prévoyance à forme coopérative",
    "5203": "Société en nom collectif coopérative",
    "5307": "Société en commandite simple coopérative",
    "5309": "Société en commandite par actions coopérative",
    "5443": "SARL coopérative de construction",
    "5453": "SARL coopérative artisanale",
    "5454": "SARL coopérative d'intérêt maritime",
    "5455": "SARL coopérative de transport",
    "5459": "SARL union de sociétés coopératives",
    "5460": "Autre SARL coopérative",
    "5543": "SA coopérative de construction à conseil d'administration",
    "5547": "SA coopérative de production de HLM à conseil d'administration",
    "5552": "SA coopérative de commerçants-détaillants à conseil d'administration",
    "5553": "SA coopérative artisanale à conseil d'administration",
    "5554": "SA coopérative (d'intérêt) maritime à conseil d'administration",
    "5555": "SA coopérative de transport à conseil d'administration",
    "5559": "SA union de sociétés coopératives à conseil d'administration",
    "5560": "Autre SA coopérative à conseil d'administration",
    "5643": "SA coopérative de construction à directoire",
    "5647": "Société coopérative de production de HLM anonyme à directoire",
    "5652": "SA coopérative de commerçants-détaillants à directoire",
    "5653": "SA coopérative artisanale à directoire",
    "5654": "SA coopérative d'intérêt maritime à directoire",
    "5655": "SA coopérative de transport à directoire",
    "5659": "SA union de sociétés coopératives à directoire",
    "5660": "Autre SA coopérative à directoire",
    "6543": "Société civile coopérative de construction",
    "6554": "Société civile coopérative d'intérêt maritime",
    "6558": "Société civile coopérative entre médecins",
    "6560": "Autre société civile coopérative",
    "6595": "Caisse locale de crédit mutuel",
    "6596": "Caisse de crédit agricole mutuel",
}
MUTUALS = {
    "6411": "Société d'assurance à forme mutuelle",
    "8210": "Mutuelle",
    "8250": "Assurance mutuelle agricole",
    "8290": "Autre organisme mutualiste",
}
FOUNDATIONS = {"9300": "Fondation"}

# code -> (label, family, cooperative kind) for the families that are ESS by their statute.
STATUTORY_ESS: dict[str, tuple[str, str, str]] = {
    **{code: (label, Family.ASSOCIATION, "") for code, label in ASSOCIATIONS.items()},
    **{code: (label, Family.COOPERATIVE, CooperativeKind.SCOP) for code, label in SCOP.items()},
    **{
        code: (label, Family.COOPERATIVE, CooperativeKind.AGRICOLE)
        for code, label in AGRICULTURAL_COOPERATIVES.items()
    },
    **{
        code: (label, Family.COOPERATIVE, CooperativeKind.CONSOMMATEURS)
        for code, label in CONSUMER_COOPERATIVES.items()
    },
    **{
        code: (label, Family.COOPERATIVE, CooperativeKind.OTHER) for code, label in OTHER_COOPERATIVES.items()
    },
    **{code: (label, Family.MUTUELLE, "") for code, label in MUTUALS.items()},
    **{code: (label, Family.FONDATION, "") for code, label in FOUNDATIONS.items()},
}

# Level 1 of the INSEE classification: 5 = société commerciale, 6 = other legal person registered at the RCS.
COMPANY_LEVEL1 = frozenset({"5", "6"})
# 3 = foreign legal person of public law, 4 = public legal person subject to commercial law, 7 = public law.
PUBLIC_LEVEL1 = frozenset({"3", "4", "7"})


@dataclass(frozen=True)
class Qualification:
    family: str
    cooperative_kind: str
    is_ess: bool
    rule_text: str


def _family_text(family: str, cooperative_kind: str) -> str:
    if cooperative_kind:
        return f"coopérative ({CooperativeKind(cooperative_kind).label})"
    return Family(family).label[0].lower() + Family(family).label[1:]


def qualify(*, legal_category: str, ess_flag: str | None, label: str = "") -> Qualification:
    """The ESS family, cooperative kind and ESS status of a legal unit, with the rule applied in French.

    ``legal_category`` is the 4-digit INSEE code, ``ess_flag`` SIRENE's
    ``economieSocialeSolidaireUniteLegale`` ("O", "N" or None when unknown), ``label`` the category label
    shown in the rule (the table's own label is used for the ESS codes). Never fails: an unknown or
    malformed code gives the "other" family.
    """
    code = (legal_category or "").strip()
    flagged = (ess_flag or "").strip().upper() == "O"
    if code in STATUTORY_ESS:
        known_label, family, kind = STATUTORY_ESS[code]
        return Qualification(
            family=family,
            cooperative_kind=kind,
            is_ess=True,
            rule_text=f"{code} {known_label} → {_family_text(family, kind)} (ESS par son statut)",
        )
    shown = f"{code} {label}".strip()
    if code[:1] in COMPANY_LEVEL1:
        if flagged:
            return Qualification(
                family=Family.ESUS,
                cooperative_kind="",
                is_ess=True,
                rule_text=(
                    f"{shown} → entreprise commerciale de l'ESS : société signalée ESS par SIRENE "
                    "(economieSocialeSolidaireUniteLegale = O)"
                ),
            )
        return Qualification(
            family=Family.OTHER,
            cooperative_kind="",
            is_ess=False,
            rule_text=f"{shown} → hors ESS : société non signalée ESS par SIRENE",
        )
    if code[:1] in PUBLIC_LEVEL1:
        return Qualification(
            family=Family.PUBLIC,
            cooperative_kind="",
            is_ess=False,
            rule_text=f"{shown} → collectivité ou partenaire public (hors ESS)",
        )
    return Qualification(
        family=Family.OTHER,
        cooperative_kind="",
        is_ess=False,
        rule_text=f"{shown or 'Catégorie juridique inconnue'} → autre partenaire (hors ESS)",
    )
