"""Files uploaded by facilitators for import, through the web steps: upload, mapping, dry run, background run.

Uploaded files are stored under ``MEDIA_ROOT/private/imports/`` with a random name (never served: the
web server denies ``/media/private/``) and deleted once the import ran or failed.
"""

import datetime
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.datainclusion import SOURCE_NAME, datainclusion_count, datainclusion_import
from essaim.actors.importers.tabular import (
    check_mapping,
    import_source_for,
    import_source_remember,
    open_table,
    table_count_rows,
    table_import,
)
from essaim.actors.models import ImportRun, ImportSourceKind, ImportUpload, ImportUploadState
from essaim.core.audit import log_action

# 10 MB: tens of thousands of rows, far more than a network's list; the reverse proxy allows 20 MB.
TABLE_SUFFIXES = (".csv", ".txt", ".xlsx")
DATAINCLUSION_SUFFIXES = (".json",)
# Progress is written every few rows: each write is a small UPDATE the progress page reads.
PROGRESS_EVERY_SECONDS = 0.5
# Files uploaded but never imported are deleted after this delay (the facilitator left at the dry run).
ABANDONED_AFTER = datetime.timedelta(days=1)


def max_upload_bytes() -> int:
    return settings.ESSAIM_IMPORT_MAX_BYTES


def private_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "private" / "imports"


def _delete_file(upload: ImportUpload) -> None:
    if upload.file_path:
        path = private_dir() / Path(upload.file_path).name
        path.unlink(missing_ok=True)


def upload_path(upload: ImportUpload) -> Path:
    # Only the file name is trusted: the directory is always the private one.
    return private_dir() / Path(upload.file_path).name


def import_upload_create(*, file, source_name: str, actor) -> ImportUpload:
    """Store an uploaded CSV/XLSX/JSON file and check it can be read; return the upload.

    ``file`` is a Django ``UploadedFile``. Raises ImportError_ (French) for an empty or too large file, an
    unsupported extension, an undecodable or headerless table, an empty workbook; nothing is kept then.
    """
    name = Path(file.name or "").name
    suffix = Path(name).suffix.lower()
    if suffix in DATAINCLUSION_SUFFIXES:
        kind, source_name = ImportSourceKind.DATAINCLUSION, SOURCE_NAME
    elif suffix in TABLE_SUFFIXES:
        kind = ImportSourceKind.TABLE
    else:
        raise ImportError_(
            "Format non pris en charge : déposez un fichier .csv, .xlsx ou .json (data·inclusion)."
        )
    if not file.size:
        raise ImportError_("Le fichier est vide.")
    limit = max_upload_bytes()
    if file.size > limit:
        raise ImportError_(
            f"Le fichier pèse {file.size / 1_000_000:.1f} Mo : {limit / 1_000_000:.0f} Mo au plus."
        )
    source = import_source_for(name=source_name, kind=kind)
    directory = private_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{uuid.uuid4().hex}{suffix}"
    with path.open("wb") as out:
        for chunk in file.chunks():
            out.write(chunk)
    try:
        total = table_count_rows(path) if kind == ImportSourceKind.TABLE else datainclusion_count(path)
    except ImportError_:
        path.unlink(missing_ok=True)
        raise
    if not total:
        path.unlink(missing_ok=True)
        raise ImportError_("Le fichier ne contient aucune ligne à importer (seulement les en-têtes).")
    upload = ImportUpload.objects.create(
        source=source, file_path=path.name, original_name=name[:300], uploaded_by=actor, rows_total=total
    )
    log_action(
        actor=actor,
        verb="actors.import.uploaded",
        obj=upload,
        data={"file": upload.original_name, "source": source.name, "rows": total},
    )
    return upload


def import_upload_header(upload: ImportUpload) -> list[str]:
    """The column headers of an uploaded table. Raises ImportError_ if the file is gone or unreadable."""
    with open_table(upload_path(upload)) as table:
        return table.header


def import_upload_check(
    *,
    upload: ImportUpload,
    actor,
    mapping: dict[str, str] | None = None,
    key_column: str = "",
    default_family: str = "",
) -> ImportRun:
    """Remember the mapping on the upload's source, then dry-run the file; return the dry-run report.

    Raises ImportError_ (French) for a mapping without a name column or a file that cannot be read.
    """
    if upload.state not in (ImportUploadState.UPLOADED, ImportUploadState.CHECKED):
        raise ImportError_("Cet import a déjà été lancé.")
    path = upload_path(upload)
    if upload.source.kind == ImportSourceKind.TABLE:
        mapping = {name: column for name, column in (mapping or {}).items() if column}
        check_mapping(import_upload_header(upload), mapping, key_column)
        import_source_remember(
            source=upload.source, mapping=mapping, key_column=key_column, default_family=default_family
        )
        run = table_import(
            path=path,
            source=upload.source,
            mapping=mapping,
            key_column=key_column,
            dry_run=True,
            actor=actor,
            file_name=upload.original_name,
        )
    else:
        run = datainclusion_import(path=path, dry_run=True, actor=actor, file_name=upload.original_name)
    upload.dry_run = run
    upload.state = ImportUploadState.CHECKED
    upload.save(update_fields=["dry_run", "state"])
    return run


@transaction.atomic
def import_upload_start(*, upload: ImportUpload, actor) -> ImportUpload:
    """Queue the real import of a dry-run-checked upload (runs on the task queue once committed).

    Raises ImportError_ when the dry run was not done or the import was already started.
    """
    upload = ImportUpload.objects.select_for_update().get(pk=upload.pk)
    if upload.state != ImportUploadState.CHECKED:
        raise ImportError_("Faites d'abord l'essai à blanc ; un import ne se lance qu'une fois.")
    upload.state = ImportUploadState.QUEUED
    upload.save(update_fields=["state"])
    log_action(actor=actor, verb="actors.import.started", obj=upload, data={"file": upload.original_name})

    from essaim.actors.tasks import import_upload_run

    upload_id = upload.pk
    transaction.on_commit(lambda: import_upload_run(upload_id))
    return upload


def import_upload_execute(*, upload_id: int) -> None:
    """Run a queued upload's import (the task's body), recording progress, then delete the file.

    A file-level error marks the upload failed with its French message; it never raises.
    """
    upload = ImportUpload.objects.select_related("source", "uploaded_by", "dry_run").get(pk=upload_id)
    if upload.state != ImportUploadState.QUEUED:
        return
    ImportUpload.objects.filter(pk=upload.pk).update(state=ImportUploadState.RUNNING, rows_done=0)
    last = [0.0]

    def progress(rows: int, _seconds: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = now
            ImportUpload.objects.filter(pk=upload.pk).update(rows_done=min(rows, upload.rows_total))

    source, path, actor = upload.source, upload_path(upload), upload.uploaded_by
    try:
        if source.kind == ImportSourceKind.TABLE:
            # The mapping the dry run used (the source's may have changed since, by another upload).
            checked = upload.dry_run.options if upload.dry_run else {}
            run = table_import(
                path=path,
                source=source,
                mapping=checked.get("mapping", source.mapping),
                key_column=checked.get("key_column", source.key_column),
                actor=actor,
                file_name=upload.original_name,
                progress=progress,
            )
        else:
            run = datainclusion_import(
                path=path, actor=actor, file_name=upload.original_name, progress=progress
            )
    except ImportError_ as exc:
        ImportUpload.objects.filter(pk=upload.pk).update(state=ImportUploadState.FAILED, error=str(exc))
    except Exception:
        # A bug must not leave the progress page waiting forever; the traceback goes to the task log.
        ImportUpload.objects.filter(pk=upload.pk).update(
            state=ImportUploadState.FAILED,
            error="Erreur inattendue pendant l'import : l'équipe technique est prévenue.",
        )
        raise
    else:
        ImportUpload.objects.filter(pk=upload.pk).update(
            state=ImportUploadState.DONE, run=run, rows_done=upload.rows_total
        )
    finally:
        _delete_file(upload)


def import_uploads_purge(*, older_than: datetime.timedelta = ABANDONED_AFTER) -> int:
    """Delete the files of uploads never run (left at the mapping or dry-run step) for ``older_than``; the
    upload is marked failed with the reason. Returns how many were purged."""
    cutoff = timezone.now() - older_than
    abandoned = ImportUpload.objects.filter(
        state__in=[ImportUploadState.UPLOADED, ImportUploadState.CHECKED], created_at__lt=cutoff
    )
    count = 0
    for upload in abandoned:
        _delete_file(upload)
        ImportUpload.objects.filter(pk=upload.pk).update(
            state=ImportUploadState.FAILED, error="Import non lancé : le fichier déposé a été supprimé."
        )
        count += 1
    return count
