"""Background tasks of the actors app (Huey; run in-process in tests, where HUEY["immediate"] is on)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from essaim.actors.freshness import freshness_send
from essaim.actors.importers.uploads import import_upload_execute, import_uploads_purge
from essaim.actors.quality import quality_refresh


@db_task()
def import_upload_run(upload_id: int) -> None:
    """Run the import of an uploaded file (tabular or data·inclusion) queued by ``import_upload_start``."""
    import_upload_execute(upload_id=upload_id)


# -- Freshness loop and quality score ------------------------------------------------------------------------


@db_periodic_task(crontab(minute="30", hour="9"))
def send_freshness_reminders() -> None:
    """Daily: "is your card still accurate?" emails to one batch of due structures (``actors.freshness``)."""
    freshness_send()


@db_periodic_task(crontab(minute="47", hour="3"))
def refresh_quality_scores() -> None:
    """Daily: the recency part of the quality score changes with time; store the scores that moved."""
    quality_refresh()


@db_task()
def refresh_quality_scores_now() -> None:
    """Recompute every stored quality score (queued at the end of an import run)."""
    quality_refresh()


@db_periodic_task(crontab(minute="41"))
def purge_abandoned_import_uploads() -> None:
    """Hourly: delete uploaded files whose import was never started (kept one day at most)."""
    import_uploads_purge()
