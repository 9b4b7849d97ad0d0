import csv
import datetime
import io
import json

import pydantic
import pytest
from data_inclusion.schema import v1 as datainclusion
from django.urls import reverse
from openpyxl import load_workbook

from essaim.actors.exports import ExportFormatError, structures_export
from essaim.actors.models import Establishment, Label, Membership, Status, Structure, Theme
from essaim.territories.models import Commune
from essaim.territories.services import perimeter_save
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

FORMATS = ["csv", "xlsx", "geojson", "datainclusion.json"]


def export_url(fmt):
    return reverse("actors:export", kwargs={"fmt": fmt})


def download(client, fmt, params=None):
    response = client.get(export_url(fmt), params or {})
    assert response.status_code == 200
    assert response.streaming
    return response, b"".join(response.streaming_content)


def csv_rows(content: bytes) -> list[dict]:
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark expected"
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def xlsx_rows(content: bytes) -> list[dict]:
    sheet = load_workbook(io.BytesIO(content), read_only=True)["Structures"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def exported_names(client, fmt, params=None) -> list[str]:
    _, content = download(client, fmt, params)
    if fmt == "csv":
        return [row["Nom"] for row in csv_rows(content)]
    if fmt == "xlsx":
        return [row["Nom"] for row in xlsx_rows(content)]
    if fmt == "geojson":
        return [feature["properties"]["nom"] for feature in json.loads(content)["features"]]
    return [record["nom"] for record in json.loads(content)]


@pytest.fixture
def full_structure(cog_sample):
    structure = StructureFactory(
        name="La Rafistolerie",
        acronym="RAF",
        siren="552100554",
        description="Atelier de réparation de vélos et d'objets.",
        address="12 rue des Ateliers",
        commune=Commune.objects.get(code="31113"),
        latitude=43.5159,
        longitude=1.4986,
        phone="05 61 00 00 00",
        email="contact@rafistolerie.example",
        website="https://rafistolerie.example/",
        creation_date=datetime.date(2015, 3, 2),
        headcount_band="01",
    )
    structure.themes.add(Theme.objects.create(slug="reemploi", label="Économie circulaire et réemploi"))
    structure.labels.add(Label.objects.create(slug="cress", label="Membre de la CRESS"))
    Establishment.objects.create(siret="55210055400019", structure=structure, is_head_office=False)
    Establishment.objects.create(siret="55210055400013", structure=structure, is_head_office=True)
    return structure


def test_csv_has_bom_semicolons_french_headers_and_public_fields(client, full_structure):
    response, content = download(client, "csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="annuaire-ess-' in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.csv"')
    assert content.splitlines()[0].count(b";") >= 10
    (row,) = csv_rows(content)
    assert row["Nom"] == "La Rafistolerie"
    assert row["SIRET du siège"] == "55210055400013"
    assert row["Commune"] == "Castanet-Tolosan"
    assert row["Code commune INSEE"] == "31113"
    assert row["Courriel"] == "contact@rafistolerie.example"
    assert row["Thématiques"] == "Économie circulaire et réemploi"
    assert row["Réseaux et labels"] == "Membre de la CRESS"
    assert row["Tranche d'effectifs"] == "1 ou 2 salariés"
    assert float(row["Latitude"]) == pytest.approx(43.5159)
    assert row["Fiche dans l'annuaire"] == "http://testserver" + reverse(
        "actors:detail", args=[full_structure.slug]
    )


def test_xlsx_loads_back_with_openpyxl(client, full_structure):
    response, content = download(client, "xlsx")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].endswith('.xlsx"')
    (row,) = xlsx_rows(content)
    assert row["Nom"] == "La Rafistolerie"
    assert row["Date de création"].date() == datetime.date(2015, 3, 2)
    assert row["Longitude"] == pytest.approx(1.4986)


def test_geojson_is_an_rfc7946_feature_collection(client, full_structure, cog_sample):
    StructureFactory(name="Sans point connu")
    response, content = download(client, "geojson")
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(content)
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    features = {feature["properties"]["nom"]: feature for feature in collection["features"]}
    located = features["La Rafistolerie"]
    assert located["type"] == "Feature"
    # [longitude, latitude]
    assert located["geometry"] == {"type": "Point", "coordinates": [1.4986, 43.5159]}
    # A structure with no point is kept, with a null geometry.
    assert features["Sans point connu"]["geometry"] is None


def test_datainclusion_export_validates_against_the_schema(client, full_structure):
    StructureFactory(name="Minimal")
    # Values the schema refuses are left out of optional fields, never break the export.
    StructureFactory(name="Bizarre.", email="pas-un-courriel", website="pas une url", description="abc")
    StructureFactory(name="AB")  # Under the schema's 3 characters: cannot be exported there.
    response, content = download(client, "datainclusion.json")
    assert response["Content-Type"] == "application/json"
    records = json.loads(content)
    assert isinstance(records, list)
    errors = []
    for record in records:
        try:
            datainclusion.Structure.model_validate(record, context={"ignore_warnings": False})
        except pydantic.ValidationError as error:
            errors.append(error)
    assert errors == []
    by_name = {record["nom"]: record for record in records}
    assert set(by_name) == {"La Rafistolerie", "Minimal", "Bizarre"}
    raf = by_name["La Rafistolerie"]
    assert raf["siret"] == "55210055400013"
    assert raf["code_insee"] == "31113"
    assert raf["courriel"] == "contact@rafistolerie.example"
    assert raf["source"] == "essaim" and raf["id"].startswith("essaim--")
    assert raf["lien_source"].startswith("http://testserver/annuaire/")
    assert "courriel" not in by_name["Bizarre"] and "site_web" not in by_name["Bizarre"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unpublished_structures_are_never_exported(client, fmt):
    StructureFactory(name="Publiée")
    for status in (Status.DRAFT, Status.PENDING, Status.ARCHIVED):
        StructureFactory(name=f"Cachée {status}", status=status)
    assert exported_names(client, fmt, {"territoire": "tous"}) == ["Publiée"]


def test_the_service_exports_only_published_structures_whatever_the_queryset():
    StructureFactory(name="Publiée")
    StructureFactory(name="Brouillon", status=Status.DRAFT)
    export = structures_export(queryset=Structure.objects.all(), fmt="geojson")
    names = [f["properties"]["nom"] for f in json.loads(b"".join(export.chunks))["features"]]
    assert names == ["Publiée"]
    with pytest.raises(ExportFormatError):
        structures_export(queryset=Structure.objects.all(), fmt="pdf")


@pytest.mark.parametrize("fmt", FORMATS)
def test_exports_apply_the_directory_filters(client, cog_sample, fmt):
    perimeter_save(
        slug="pays-midi-quercy",
        name="Pays Midi-Quercy",
        kind="custom",
        epci_codes=["248200057", "200066884", "248200107"],
        is_home=True,
    )
    StructureFactory(name="Association Jades", commune=Commune.objects.get(code="82179"))
    StructureFactory(
        name="Coopérative des Jades",
        commune=Commune.objects.get(code="82179"),
        family="cooperative",
        cooperative_kind="scop",
    )
    StructureFactory(name="Totocar", commune=Commune.objects.get(code="31555"))

    # The home perimeter is the default, as on the directory page.
    assert exported_names(client, fmt) == ["Association Jades", "Coopérative des Jades"]
    assert exported_names(client, fmt, {"territoire": "tous"}) == [
        "Association Jades",
        "Coopérative des Jades",
        "Totocar",
    ]
    assert exported_names(client, fmt, {"territoire": "tous", "famille": "cooperative"}) == [
        "Coopérative des Jades"
    ]
    assert exported_names(client, fmt, {"territoire": "tous", "q": "toto"}) == ["Totocar"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_spreadsheet_formula_injection_is_neutralised(client, fmt):
    StructureFactory(
        name='=HYPERLINK("http://evil.example","clic")',
        acronym="+SUM(1,2)",
        address="-2+3",
        description="@SUM(A1)",
        opening_hours="\tlundi",
        naf_label="\rcmd",
        phone="+33 5 61 00 00 00",
    )
    _, content = download(client, fmt)
    (row,) = csv_rows(content) if fmt == "csv" else xlsx_rows(content)
    assert row["Nom"] == '\'=HYPERLINK("http://evil.example","clic")'
    assert row["Sigle"] == "'+SUM(1,2)"
    assert row["Adresse"] == "'-2+3"
    assert row["Présentation"] == "'@SUM(A1)"
    assert row["Horaires d'ouverture"] == "'\tlundi"
    # XML turns a carriage return into a line feed in the XLSX file.
    assert row["Activité principale (NAF)"] in ("'\rcmd", "'\ncmd")
    assert row["Téléphone"] == "'+33 5 61 00 00 00"
    for value in row.values():
        assert not str(value).startswith(("=", "+", "-", "@", "\t", "\r")), value


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_member_data_in_exports(client, fmt):
    structure = StructureFactory(name="Avec membres", email="contact@structure.example")
    member = UserFactory(email="membre.prive@personnel.example", full_name="Personne Très Privée")
    Membership.objects.create(user=member, structure=structure, role="manager")
    _, content = download(client, fmt, {"territoire": "tous"})
    text = content.decode("utf-8-sig") if fmt != "xlsx" else str(xlsx_rows(content))
    assert "Avec membres" in text
    assert "contact@structure.example" in text
    assert "membre.prive" not in text
    assert "personnel.example" not in text
    assert "Très Privée" not in text


def test_unknown_format_is_404(client):
    assert client.get("/annuaire/export.pdf").status_code == 404


def test_directory_page_links_to_exports_with_the_current_filters(client):
    StructureFactory(name="Association Jades")
    html = client.get(reverse("actors:list"), {"famille": "association", "q": "jades"}).content.decode()
    assert "Télécharger ces résultats" in html
    assert "Licence Ouverte 2.0 (Etalab)" in html
    for fmt in FORMATS:
        assert f'href="{export_url(fmt)}?' in html
    assert "famille=association" in html and "q=jades" in html
    # Live filtering swaps the links out-of-band so they keep following the filters.
    fragment = client.get(
        reverse("actors:list"), {"q": "jades"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'id="telechargements"' in fragment and 'hx-swap-oob="true"' in fragment
    assert f"{export_url('csv')}?q=jades" in fragment
