from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "essaim.exchange"
    verbose_name = "Offres et besoins"
