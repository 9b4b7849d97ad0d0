"""Tiny HTML helpers for the www tests (stdlib parser: no extra dependency)."""

from html.parser import HTMLParser


class Collector(HTMLParser):
    """Collects start tags with their attributes, in document order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict[str, str | None]]:
    """Attributes of every ``<name>`` element of the page."""
    collector = Collector()
    collector.feed(html)
    return [attrs for tag, attrs in collector.tags if tag == name]
