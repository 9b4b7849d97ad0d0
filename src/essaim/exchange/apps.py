from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "essaim.exchange"
    verbose_name = "Offres et besoins"

    def ready(self) -> None:
        from essaim.actors.geo import on_structures_moved

        # Listings carry their structure's point for fast distance pre-filters: keep it when a card moves.
        on_structures_moved(_relocate_listings)


def _relocate_listings(structure_ids: list[int]) -> None:
    from essaim.exchange.search import listings_locate

    listings_locate(structure_ids=structure_ids)
