from django.apps import AppConfig


class WorkshopsConfig(AppConfig):
    name = "essaim.workshops"
    label = "workshops"
    verbose_name = "Ateliers participatifs"
