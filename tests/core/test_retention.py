import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.utils import timezone

from essaim.core.models import OutgoingEmail
from essaim.core.retention import retention_purge
from essaim.core.tasks import purge_expired_data

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def _aged(model, days, **fields):
    row = model.objects.create(**fields)
    # created_at / attempt_time are auto_now_add: age them afterwards.
    date_field = "created_at" if model is OutgoingEmail else "attempt_time"
    model.objects.filter(pk=row.pk).update(**{date_field: NOW - datetime.timedelta(days=days)})
    return row


def _email(days, status):
    extra = {"sent_at": NOW} if status == "sent" else {}
    return _aged(
        OutgoingEmail,
        days,
        from_email="a@exemple.fr",
        to=["b@exemple.fr"],
        subject="x",
        body="x",
        status=status,
        **extra,
    )


def _login_record(model, days):
    fields = {"username": "camille@exemple.fr", "ip_address": "192.0.2.1", "user_agent": f"navigateur {days}"}
    if model is AccessAttempt:
        fields.update(get_data="", post_data="", failures_since_start=1)
    return _aged(model, days, **fields)


def test_purge_deletes_delivered_emails_past_the_retention_delay(settings):
    settings.ESSAIM_EMAIL_RETENTION_DAYS = 30
    old_sent, old_failed = _email(31, "sent"), _email(31, "failed")
    kept = [_email(29, "sent"), _email(29, "failed"), _email(90, "pending")]

    result = retention_purge(now=NOW)

    assert set(OutgoingEmail.objects.all()) == set(kept)
    assert result["emails"] == 2
    assert not OutgoingEmail.objects.filter(pk__in=[old_sent.pk, old_failed.pk]).exists()


def test_purge_deletes_login_records_past_the_retention_delay(settings):
    settings.ESSAIM_LOGIN_LOG_RETENTION_DAYS = 365
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        _login_record(model, 366)
        _login_record(model, 364)

    retention_purge(now=NOW)

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        assert model.objects.count() == 1
        assert model.objects.get().attempt_time > NOW - datetime.timedelta(days=365)


def test_a_zero_delay_keeps_everything(settings):
    settings.ESSAIM_EMAIL_RETENTION_DAYS = 0
    settings.ESSAIM_LOGIN_LOG_RETENTION_DAYS = 0
    _email(3000, "sent")
    _login_record(AccessLog, 3000)

    assert retention_purge(now=NOW) == {"emails": 0, "login_records": 0}
    assert OutgoingEmail.objects.count() == AccessLog.objects.count() == 1


def test_the_daily_task_runs_the_purge(settings):
    settings.ESSAIM_EMAIL_RETENTION_DAYS = 30
    _email(31, "sent")

    purge_expired_data.call_local()

    assert not OutgoingEmail.objects.exists()
