from django.apps import AppConfig


class TerritoriesConfig(AppConfig):
    name = "essaim.territories"
    label = "territories"
    verbose_name = "Territoires"
