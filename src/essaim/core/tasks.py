from huey.contrib.djhuey import db_periodic_task, db_task
from huey import crontab

from essaim.core.mail import email_deliver
from essaim.core.models import OutgoingEmail


@db_task(retries=4, retry_delay=60)
def deliver_email(outgoing_id: int) -> None:
    email_deliver(outgoing_id=outgoing_id)


@db_periodic_task(crontab(minute="*/10"))
def deliver_pending_emails() -> None:
    """Safety net: emails whose task was lost (worker down at enqueue time) are picked up again."""
    for pk in OutgoingEmail.objects.filter(status=OutgoingEmail.Status.PENDING).values_list("pk", flat=True)[:500]:
        deliver_email(pk)
