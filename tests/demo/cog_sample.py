"""A tiny, real extract of the COG: the régions, départements, EPCI and communes the demo data refers to,
plus a few neighbours. Enough for perimeters and demo loads without loading 35,000 communes."""

from essaim.core.text import normalize
from essaim.territories.models import Commune, Departement, Epci, Region

REGIONS = {"76": "Occitanie", "75": "Nouvelle-Aquitaine", "93": "Provence-Alpes-Côte d'Azur",
           "52": "Pays de la Loire", "11": "Île-de-France"}  # fmt: skip
DEPARTEMENTS = {
    "82": ("Tarn-et-Garonne", "76"),
    "81": ("Tarn", "76"),
    "31": ("Haute-Garonne", "76"),
    "24": ("Dordogne", "75"),
    "33": ("Gironde", "75"),
    "79": ("Deux-Sèvres", "75"),
    "13": ("Bouches-du-Rhône", "93"),
    "44": ("Loire-Atlantique", "52"),
    "93": ("Seine-Saint-Denis", "11"),
}
EPCIS = {
    "248200057": ("CC du Quercy Caussadais", "CC"),
    "200066884": ("CC Quercy Vert-Aveyron", "CC"),
    "248200107": ("CC du Quercy Rouergue et des Gorges de l'Aveyron", "CC"),
    "248200099": ("CA Grand Montauban", "CA"),
    "248100430": ("CA de Castres Mazamet", "CA"),
    "200041572": ("CC Dronne et Belle", "CC"),
    "200071819": ("CC du Périgord Nontronnais", "CC"),
    "242400752": ("CC Périgord-Limousin", "CC"),
    "200040400": ("CC du Périgord Ribéracois", "CC"),
    "242401024": ("CC Isle-Loue-Auvézère en Périgord", "CC"),
    "242400935": ("CC du Pays de Saint Aulaye", "CC"),
    "243100633": ("CA du Sicoval", "CA"),
    "243100518": ("Toulouse Métropole", "METRO"),
    "243300316": ("Bordeaux Métropole", "METRO"),
    "200041317": ("CA du Niortais", "CA"),
    "200054807": ("Métropole d'Aix-Marseille-Provence", "METRO"),
    "244400404": ("Nantes Métropole", "METRO"),
    "200054781": ("Métropole du Grand Paris", "METRO"),
}
COMMUNES = {
    "82088": ("Laguépie", "248200107"),
    "82155": ("Saint-Antonin-Noble-Val", "248200107"),
    "82134": ("Nègrepelisse", "200066884"),
    "82179": ("Septfonds", "248200057"),
    "82037": ("Caussade", "248200057"),
    "82121": ("Montauban", "248200099"),
    "81065": ("Castres", "248100430"),
    "24064": ("Brantôme en Périgord", "200041572"),
    "24128": ("Comberanche-et-Épeluche", "200040400"),
    "24311": ("Nontron", "200071819"),
    "24551": ("Thiviers", "242400752"),
    "31113": ("Castanet-Tolosan", "243100633"),
    "31446": ("Ramonville-Saint-Agne", "243100633"),
    "31254": ("Labège", "243100633"),
    "31555": ("Toulouse", "243100518"),
    "31149": ("Colomiers", "243100518"),
    "33063": ("Bordeaux", "243300316"),
    "79191": ("Niort", "200041317"),
    "13055": ("Marseille", "200054807"),
    "44109": ("Nantes", "244400404"),
    "93066": ("Saint-Denis", "200054781"),
}


def load_cog_sample(*, skip_communes: tuple[str, ...] = ()) -> None:
    """Create the sample rows (test databases start empty). ``skip_communes`` leaves some out."""
    Region.objects.bulk_create([Region(code=code, name=name) for code, name in REGIONS.items()])
    Departement.objects.bulk_create(
        [Departement(code=code, name=name, region_id=region) for code, (name, region) in DEPARTEMENTS.items()]
    )
    Epci.objects.bulk_create([Epci(code=code, name=name, kind=kind) for code, (name, kind) in EPCIS.items()])
    Commune.objects.bulk_create(
        [
            Commune(code=code, name=name, search_name=normalize(name), departement_id=code[:2], epci_id=epci)
            for code, (name, epci) in COMMUNES.items()
            if code not in skip_communes
        ]
    )
