from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "essaim.accounts"
    label = "accounts"
    verbose_name = "Comptes"
