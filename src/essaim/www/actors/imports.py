"""Facilitator pages for imports: upload a CSV/XLSX/data·inclusion file, map its columns, read the dry-run
report, run the import on the task queue with a progress bar, read the reports of past runs.

Every view answers 404 to anyone who is not a facilitator (``actors.access.can_import``).
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from essaim.actors.access import can_import
from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.cards import ACTION_LABELS, CARD_FIELDS, EXTERNAL_ID_LABEL
from essaim.actors.importers.tabular import guess_key_column, guess_mapping
from essaim.actors.importers.uploads import (
    import_upload_check,
    import_upload_create,
    import_upload_header,
    import_upload_start,
    max_upload_bytes,
)
from essaim.actors.models import (
    Family,
    ImportRun,
    ImportSource,
    ImportSourceKind,
    ImportUpload,
    ImportUploadState,
)

RUNS_PER_PAGE = 20
IGNORE = ""
# Card fields named after the model's (reports list the changed fields by these names).
FIELD_LABELS = {**CARD_FIELDS, "commune": "Commune", "cooperative_kind": "Type de coopérative"}


def _require_importer(request) -> None:
    if not can_import(request.user):
        raise Http404("Page introuvable.")


def _upload(pk: int) -> ImportUpload:
    return get_object_or_404(ImportUpload.objects.select_related("source", "dry_run", "run"), pk=pk)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Fichier",
        help_text="Tableau .csv (séparateur ; ou , — UTF-8 ou Windows-1252) ou .xlsx, première ligne "
        "avec les en-têtes de colonnes ; ou fichier .json de structures data·inclusion.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx,.json"}),
    )
    source = forms.CharField(
        label="Source du tableau",
        max_length=150,
        required=False,
        help_text="Par exemple « Adhérents du réseau ESS du Tarn ». Reprenez le même nom à chaque envoi : "
        "la correspondance des colonnes est retenue et les fiches déjà importées sont mises à jour.",
        widget=forms.TextInput(attrs={"list": "import-sources", "autocomplete": "off"}),
    )

    def clean_file(self):
        file = self.cleaned_data["file"]
        limit = max_upload_bytes()
        if file.size > limit:
            raise forms.ValidationError(
                f"Le fichier pèse {file.size / 1_000_000:.1f} Mo : {limit / 1_000_000:.0f} Mo au plus."
            )
        return file

    def clean(self):
        data = super().clean()
        file = data.get("file")
        if file and not file.name.lower().endswith(".json") and not data.get("source", "").strip():
            self.add_error("source", "Indiquez la source du tableau (le réseau ou la liste dont il vient).")
        return data


class MappingForm(forms.Form):
    """One select per card field (which column fills it), the key column and the default family."""

    def __init__(self, *args, header: list[str], source: ImportSource, **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        guessed = guess_mapping(header, source.mapping)
        columns = [(IGNORE, "— ne pas importer —"), *[(column, column) for column in header]]
        self.fields["key_column"] = forms.ChoiceField(
            label=EXTERNAL_ID_LABEL,
            choices=[(IGNORE, "— aucune (SIRET, sinon nom et commune) —"), *columns[1:]],
            required=False,
            initial=guess_key_column(header, source.key_column),
            help_text="La colonne qui identifie chaque ligne dans votre tableau (numéro d'adhérent…) : "
            "au prochain envoi, la même ligne met à jour la même fiche.",
        )
        for name, label in CARD_FIELDS.items():
            self.fields[f"map_{name}"] = forms.ChoiceField(
                label=label, choices=columns, required=False, initial=guessed.get(name, IGNORE)
            )
        self.fields["map_name"].required = True
        self.fields["map_name"].error_messages["required"] = (
            "Choisissez la colonne qui porte le nom des structures : elle est obligatoire."
        )
        self.fields["default_family"] = forms.ChoiceField(
            label="Famille par défaut",
            choices=Family.choices,
            initial=source.default_family,
            help_text="Pour les lignes sans famille reconnue (colonne « Famille » absente ou inconnue).",
        )

    def mapping(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"map_{name}"] for name in CARD_FIELDS if self.cleaned_data[f"map_{name}"]
        }

    def mapping_fields(self):
        return [self[f"map_{name}"] for name in CARD_FIELDS]


def report_context(run: ImportRun | None) -> dict:
    """A run's report as the templates show it: counts, then one line per row with French labels."""
    if run is None:
        return {"run": None, "report_rows": []}
    rows = []
    for entry in run.rows:
        rows.append(
            {
                "line": entry["line"],
                "name": entry.get("name", ""),
                "action": entry["action"],
                "action_label": ACTION_LABELS.get(entry["action"], entry["action"]),
                "fields": [FIELD_LABELS.get(name, name) for name in entry.get("fields", [])],
                "pending": [FIELD_LABELS.get(name, name) for name in entry.get("pending", [])],
                "problems": entry.get("problems", []),
                "reasons": entry.get("reasons", []),
            }
        )
    if not rows and run.rejections:  # SIRENE runs keep only their rejected rows.
        rows = [
            {
                "line": r["line"],
                "name": "",
                "action": "rejected",
                "action_label": ACTION_LABELS["rejected"],
                "fields": [],
                "pending": [],
                "problems": [],
                "reasons": [r["reason"]],
            }
            for r in run.rejections
        ]
    return {"run": run, "report_rows": rows}


@require_http_methods(["GET", "POST"])
def import_list(request):
    """The upload form and the reports of past runs (newest first)."""
    _require_importer(request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            upload = import_upload_create(
                file=form.cleaned_data["file"], source_name=form.cleaned_data["source"], actor=request.user
            )
        except ImportError_ as exc:
            form.add_error("file", str(exc))
        else:
            if upload.source.kind == ImportSourceKind.DATAINCLUSION:
                return _check_and_redirect(request, upload)
            return redirect("actors:import_mapping", pk=upload.pk)
    runs = Paginator(ImportRun.objects.select_related("import_source"), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    uploads = ImportUpload.objects.filter(
        state__in=[ImportUploadState.QUEUED, ImportUploadState.RUNNING]
    ).select_related("source")
    return render(
        request,
        "actors/imports/list.html",
        {
            "form": form,
            "runs": runs,
            "uploads": uploads,
            "sources": ImportSource.objects.filter(kind=ImportSourceKind.TABLE),
            "max_megabytes": max_upload_bytes() // 1_000_000,
        },
    )


def _check_and_redirect(request, upload: ImportUpload, **options):
    try:
        import_upload_check(upload=upload, actor=request.user, **options)
    except ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect("actors:imports")
    return redirect("actors:import_check", pk=upload.pk)


@require_http_methods(["GET", "POST"])
def import_mapping(request, pk: int):
    """Which column fills which card field (guessed, or remembered for the source); POST runs the dry run."""
    _require_importer(request)
    upload = _upload(pk)
    if upload.source.kind != ImportSourceKind.TABLE or upload.state not in (
        ImportUploadState.UPLOADED,
        ImportUploadState.CHECKED,
    ):
        return redirect("actors:import_progress", pk=upload.pk)
    try:
        header = import_upload_header(upload)
    except ImportError_ as exc:
        messages.error(request, str(exc))
        return redirect("actors:imports")
    form = MappingForm(request.POST or None, header=header, source=upload.source)
    if request.method == "POST" and form.is_valid():
        try:
            import_upload_check(
                upload=upload,
                actor=request.user,
                mapping=form.mapping(),
                key_column=form.cleaned_data["key_column"],
                default_family=form.cleaned_data["default_family"],
            )
        except ImportError_ as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("actors:import_check", pk=upload.pk)
    return render(request, "actors/imports/mapping.html", {"upload": upload, "form": form, "header": header})


def import_check(request, pk: int):
    """The dry-run report and the button that runs the import for real."""
    _require_importer(request)
    upload = _upload(pk)
    if upload.state != ImportUploadState.CHECKED or upload.dry_run is None:
        return redirect("actors:import_progress", pk=upload.pk)
    return render(request, "actors/imports/check.html", {"upload": upload, **report_context(upload.dry_run)})


@require_POST
def import_start(request, pk: int):
    """Queue the real import, then show its progress."""
    _require_importer(request)
    upload = _upload(pk)
    try:
        import_upload_start(upload=upload, actor=request.user)
    except ImportError_ as exc:
        messages.error(request, str(exc))
    return redirect("actors:import_progress", pk=upload.pk)


@vary_on_headers("HX-Request")
def import_progress(request, pk: int):
    """The import's progress bar, polled over HTMX (the partial) until the run ends, then its report."""
    _require_importer(request)
    upload = _upload(pk)
    if upload.state in (ImportUploadState.UPLOADED, ImportUploadState.CHECKED):
        return redirect(
            "actors:import_check" if upload.state == ImportUploadState.CHECKED else "actors:import_mapping",
            pk=upload.pk,
        )
    context = {
        "upload": upload,
        "finished": upload.state in (ImportUploadState.DONE, ImportUploadState.FAILED),
        **report_context(upload.run),
    }
    if request.htmx:
        return render(request, "actors/imports/_progress.html", context)
    return render(request, "actors/imports/progress.html", context)


def import_run_detail(request, pk: int):
    """The report of one run (any source, SIRENE included)."""
    _require_importer(request)
    run = get_object_or_404(ImportRun.objects.select_related("import_source"), pk=pk)
    return render(request, "actors/imports/run.html", report_context(run))
