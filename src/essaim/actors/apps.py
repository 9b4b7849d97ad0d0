from django.apps import AppConfig


class ActorsConfig(AppConfig):
    name = "essaim.actors"
    label = "actors"
    verbose_name = "Acteurs et structures"
