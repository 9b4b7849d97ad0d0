from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "essaim.events"
    verbose_name = "Agenda et inscriptions"
