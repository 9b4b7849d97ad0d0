from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "essaim.exchange"
    verbose_name = "Offres et besoins"

    def ready(self) -> None:
        from essaim.actors.geo import on_structures_synced

        # Listings carry their structure's point (distance pre-filters) and whether it is published (the
        # public lists): keep both when a card moves or changes status.
        on_structures_synced(_follow_structures)


def _follow_structures(structure_ids: list[int]) -> None:
    from essaim.exchange.search import listings_reindex

    # The documents hold the commune's filter terms: rewritten too (only those that change are written).
    listings_reindex(structure_ids=structure_ids)
