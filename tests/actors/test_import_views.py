"""The facilitators' import pages: upload, column mapping, dry run, background run with progress, reports."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from essaim.actors.importers.uploads import import_uploads_purge, private_dir
from essaim.actors.models import (
    ImportRun,
    ImportSource,
    ImportUpload,
    ImportUploadState,
    Structure,
)
from tests.factories import AdminFactory, FacilitatorFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("actors:imports")
CSV = (
    "Réf;Raison sociale;Commune;Courriel;Thématiques\r\n"
    "A1;Recyclerie des Ateliers;Castres;contact@recyclerie.fr;Culture\r\n"
    "A2;;Castres;;\r\n"
    "A3;Épicerie solidaire;Toulouse;pas-un-courriel;Alimentation et circuits courts\r\n"
).encode()


@pytest.fixture
def facilitator_client(client):
    client.force_login(FacilitatorFactory())
    return client


def upload(client, content=CSV, name="adherents.csv", source="Réseau ESS Tarn"):
    return client.post(LIST_URL, {"file": SimpleUploadedFile(name, content), "source": source}, follow=False)


def mapping_post(client, upload_obj, **overrides):
    data = {"key_column": "Réf", "default_family": "association", "map_name": "Raison sociale",
            "map_commune": "Commune", "map_email": "Courriel", "map_themes": "Thématiques"}  # fmt: skip
    data.update(overrides)
    return client.post(reverse("actors:import_mapping", args=[upload_obj.pk]), data)


def test_whole_flow_upload_mapping_dry_run_then_background_run(
    facilitator_client, cog_sample, django_capture_on_commit_callbacks
):
    response = upload(facilitator_client)
    created = ImportUpload.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("actors:import_mapping", args=[created.pk])
    assert created.rows_total == 3
    stored = private_dir() / created.file_path
    assert stored.is_file()

    # The mapping form is pre-filled from the French headers.
    html = facilitator_client.get(response.url).content.decode()
    assert '<option value="Raison sociale" selected>' in html
    assert '<option value="Réf" selected>' in html

    response = mapping_post(facilitator_client, created)
    assert response.status_code == 302
    assert response.url == reverse("actors:import_check", args=[created.pk])
    assert not Structure.objects.exists()  # The dry run wrote nothing.
    assert ImportSource.objects.get().mapping["name"] == "Raison sociale"
    html = facilitator_client.get(response.url).content.decode()
    assert "Essai à blanc" in html and "nom manquant." in html
    assert "courriel « pas-un-courriel » invalide." in html

    with django_capture_on_commit_callbacks(execute=True):
        response = facilitator_client.post(reverse("actors:import_start", args=[created.pk]))
    progress_url = reverse("actors:import_progress", args=[created.pk])
    assert response.url == progress_url
    created.refresh_from_db()
    assert created.state == ImportUploadState.DONE
    assert (created.run.created, created.run.rejected) == (2, 1)
    assert not stored.exists()  # The uploaded file is deleted after the run.
    assert Structure.objects.filter(name="Recyclerie des Ateliers", commune__code="81065").exists()

    page = facilitator_client.get(progress_url).content.decode()
    assert "Import terminé" in page and "hx-trigger" not in page
    partial = facilitator_client.get(progress_url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and "Import terminé" in partial

    # Past runs: the real one and its dry run, each with its report.
    html = facilitator_client.get(LIST_URL).content.decode()
    assert html.count(reverse("actors:import_run", args=[created.run.pk])) == 1
    assert "(essai à blanc)" in html
    report = facilitator_client.get(reverse("actors:import_run", args=[created.run.pk])).content.decode()
    assert "Recyclerie des Ateliers" in report and "nom manquant." in report

    # The import runs once only.
    facilitator_client.post(reverse("actors:import_start", args=[created.pk]))
    assert ImportRun.objects.filter(dry_run=False).count() == 1


def test_progress_partial_polls_while_running(facilitator_client, cog_sample):
    upload(facilitator_client)
    created = ImportUpload.objects.get()
    ImportUpload.objects.filter(pk=created.pk).update(state=ImportUploadState.RUNNING, rows_done=1)
    url = reverse("actors:import_progress", args=[created.pk])
    partial = facilitator_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'hx-get="{url}"' in partial and 'hx-trigger="every 1s"' in partial
    assert '<progress id="import-progress-bar" value="1" max="3">' in partial
    assert "33 %" in partial
    page = facilitator_client.get(url).content.decode()
    assert "<html" in page and "import-progress-bar" in page


def test_remembered_mapping_prefills_the_next_upload(facilitator_client, cog_sample):
    content = "Id;Structure adhérente;Mail\r\n1;Asso des Jardins;j@jardins.fr\r\n".encode()
    upload(facilitator_client, content=content, source="Réseau du Quercy")
    first = ImportUpload.objects.get()
    mapping_post(facilitator_client, first, key_column="Id", map_name="Structure adhérente", map_email="Mail",
                 map_commune="", map_themes="")  # fmt: skip
    upload(facilitator_client, content=content, source="Réseau du Quercy")
    second = ImportUpload.objects.exclude(pk=first.pk).get()
    html = facilitator_client.get(reverse("actors:import_mapping", args=[second.pk])).content.decode()
    assert '<option value="Structure adhérente" selected>' in html
    assert '<option value="Mail" selected>' in html


def test_xlsx_and_datainclusion_uploads(facilitator_client, cog_sample):
    workbook = Workbook()
    workbook.active.append(["Nom", "Commune"])
    workbook.active.append(["Garage solidaire", "Castres"])
    path = private_dir().parent / "tmp.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    response = upload(facilitator_client, content=path.read_bytes(), name="liste.xlsx")
    assert response.status_code == 302 and ImportUpload.objects.get().rows_total == 1

    records = [{"source": "dora", "id": "1", "nom": "Recyclerie", "date_maj": "2025-01-01"}]
    response = upload(facilitator_client, content=json.dumps(records).encode(), name="di.json", source="")
    di_upload = ImportUpload.objects.latest("pk")
    # No mapping step for data·inclusion: straight to the dry run.
    assert response.url == reverse("actors:import_check", args=[di_upload.pk])
    assert di_upload.dry_run.created == 1


@pytest.mark.parametrize(
    ("content", "name", "source", "message"),
    [
        (b"", "vide.csv", "S", "Le fichier soumis est vide"),
        (b"\xef\xbb\xbfNom;Ville\r\n", "entetes.csv", "S", "aucune ligne à importer"),
        (b";;\r\na;b;c\r\n", "sans-entete.csv", "S", "pas d&#x27;en-têtes"),
        (b"Nom\r\n\x81\x8d\r\n", "encodage.csv", "S", "Encodage du fichier non reconnu"),
        (b"Nom\r\nA\r\n", "liste.ods", "S", "Format non pris en charge"),
        (b"Nom\r\nA\r\n", "liste.csv", "", "Indiquez la source du tableau"),
        (b"PK\x03\x04abc", "casse.xlsx", "S", "Classeur XLSX illisible"),
        (b"[1, 2", "di.json", "", "JSON illisible"),
    ],
)
def test_bad_files_get_a_french_error_and_nothing_is_kept(facilitator_client, content, name, source, message):
    response = upload(facilitator_client, content=content, name=name, source=source)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportUpload.objects.exists()
    assert not private_dir().exists() or not any(private_dir().iterdir())


def test_workbook_without_rows_and_size_limit(facilitator_client, settings):
    workbook = Workbook()
    path = private_dir().parent / "vide.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    response = upload(facilitator_client, content=path.read_bytes(), name="vide.xlsx")
    assert "est vide" in response.content.decode()

    settings.ESSAIM_IMPORT_MAX_BYTES = 10
    response = upload(facilitator_client)
    assert "Mo au plus" in response.content.decode()
    assert not ImportUpload.objects.exists()


def test_mapping_without_name_column_is_refused(facilitator_client, cog_sample):
    upload(facilitator_client)
    created = ImportUpload.objects.get()
    response = mapping_post(facilitator_client, created, map_name="")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Choisissez la colonne qui porte le nom des structures" in html
    assert 'id="id_map_name_error"' in html  # The error is linked to its field (aria-describedby).
    created.refresh_from_db()
    assert created.state == ImportUploadState.UPLOADED


@pytest.mark.parametrize(
    ("user_factory", "allowed"),
    [(None, False), (UserFactory, False), (FacilitatorFactory, True), (AdminFactory, True)],
)
def test_permission_matrix(client, user_factory, allowed, cog_sample):
    owner = FacilitatorFactory()
    owner_client = Client()
    owner_client.force_login(owner)
    upload(owner_client)
    created = ImportUpload.objects.get()
    mapping_post(owner_client, created)
    run = ImportRun.objects.get()
    if user_factory is not None:
        client.force_login(user_factory())
    urls = [
        ("get", LIST_URL),
        ("get", reverse("actors:import_mapping", args=[created.pk])),
        ("get", reverse("actors:import_check", args=[created.pk])),
        ("get", reverse("actors:import_progress", args=[created.pk])),
        ("get", reverse("actors:import_run", args=[run.pk])),
        ("post", reverse("actors:import_start", args=[created.pk])),
    ]
    for method, url in urls:
        response = getattr(client, method)(url)
        if allowed:
            assert response.status_code in (200, 302), url
        else:
            assert response.status_code == 404, url
    created.refresh_from_db()
    assert (created.state != ImportUploadState.CHECKED) == allowed


def test_posts_need_the_csrf_token(cog_sample):
    client = Client(enforce_csrf_checks=True)
    client.force_login(FacilitatorFactory())
    response = client.post(LIST_URL, {"file": SimpleUploadedFile("a.csv", CSV), "source": "S"})
    assert response.status_code == 403
    assert not ImportUpload.objects.exists()


def test_uploaded_files_are_stored_privately_under_a_random_name(facilitator_client, settings):
    upload(facilitator_client)
    created = ImportUpload.objects.get()
    stored = private_dir() / created.file_path
    assert stored.is_file() and stored.parent == settings.MEDIA_ROOT / "private" / "imports"
    assert "adherents" not in created.file_path and len(created.file_path) == len("0" * 32 + ".csv")


def test_abandoned_uploads_are_purged(facilitator_client, cog_sample):
    upload(facilitator_client)
    created = ImportUpload.objects.get()
    stored = private_dir() / created.file_path
    assert import_uploads_purge() == 0 and stored.exists()
    ImportUpload.objects.update(created_at=timezone.now() - datetime.timedelta(days=2))
    assert import_uploads_purge() == 1
    created.refresh_from_db()
    assert created.state == ImportUploadState.FAILED and not stored.exists()


def test_sirene_runs_are_listed_with_their_rejected_rows(facilitator_client):
    run = ImportRun.objects.create(
        source="sirene",
        file_name="StockUniteLegale.csv",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        rows_read=3,
        created=2,
        rejected=1,
        rejections=[{"line": 3, "reason": "SIREN « 123 » invalide : 9 chiffres attendus."}],
    )
    assert "StockUniteLegale.csv" in facilitator_client.get(LIST_URL).content.decode()
    html = facilitator_client.get(reverse("actors:import_run", args=[run.pk])).content.decode()
    assert "Import SIRENE" in html and "SIREN « 123 » invalide" in html
