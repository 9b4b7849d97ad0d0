"""Seed the ESS themes of the Annuaire issue and the first networks/labels (facilitators edit them later)."""

from django.db import migrations

THEMES = [
    ("alimentation-circuits-courts", "Alimentation et circuits courts"),
    ("economie-circulaire-reemploi", "Économie circulaire et réemploi"),
    ("culture", "Culture"),
    ("insertion-activite-economique", "Insertion par l'activité économique"),
    ("mobilite", "Mobilité"),
    ("silver-economie", "Silver économie"),
    ("tourisme-social", "Tourisme social"),
    ("sante", "Santé"),
    ("education-populaire", "Éducation populaire"),
    ("environnement", "Environnement"),
    ("numerique", "Numérique"),
    ("habitat", "Habitat"),
    ("finance-solidaire", "Finance solidaire"),
    ("energie", "Énergie"),
    ("services-a-la-personne", "Services à la personne"),
    ("emploi-formation", "Emploi et formation"),
]

LABELS = [
    ("membre-ptce", "Membre d'un PTCE"),
    ("membre-cress", "Adhérent de la CRESS"),
    ("monnaie-locale", "Accepte la monnaie locale"),
    ("agrement-esus", "Agrément ESUS"),
    ("structure-iae", "Structure conventionnée IAE"),
    ("tiers-lieu", "Tiers-lieu"),
]


def seed(apps, schema_editor):
    for model_name, rows in (("Theme", THEMES), ("Label", LABELS)):
        model = apps.get_model("actors", model_name)
        for position, (slug, label) in enumerate(rows, start=1):
            # get_or_create: a label renamed by facilitators is left as they wrote it.
            model.objects.get_or_create(slug=slug, defaults={"label": label, "position": position})


class Migration(migrations.Migration):
    dependencies = [("actors", "0002_structure_card")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
