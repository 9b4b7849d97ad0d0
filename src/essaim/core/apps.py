from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "essaim.core"
    label = "core"
    verbose_name = "Socle"

    def ready(self):
        from essaim.core import checks  # noqa: F401  (registers the system checks)
