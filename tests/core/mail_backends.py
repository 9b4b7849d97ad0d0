"""Test doubles of the mail transport, selected through ESSAIM_EMAIL_DELIVERY_BACKEND in tests."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FailingBackend(BaseEmailBackend):
    """A mail server that is always down."""

    calls = 0

    def send_messages(self, email_messages):
        type(self).calls += 1
        raise smtplib.SMTPServerDisconnected("Connexion au serveur de courriel perdue")


class FlakyBackend(LocmemBackend):
    """A mail server that refuses the first ``failures_left`` deliveries, then accepts (into mail.outbox)."""

    failures_left = 0

    def send_messages(self, email_messages):
        if FlakyBackend.failures_left > 0:
            FlakyBackend.failures_left -= 1
            raise smtplib.SMTPResponseException(451, b"Service temporairement indisponible")
        return super().send_messages(email_messages)
