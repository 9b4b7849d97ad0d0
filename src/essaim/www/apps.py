from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "essaim.www"
    label = "www"
    verbose_name = "Site public"
