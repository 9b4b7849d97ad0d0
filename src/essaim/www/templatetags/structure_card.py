"""``{% structure_jsonld structure %}`` (schema.org JSON-LD of a public card) and
``{% structure_quality structure %}`` (quality score and missing fields, for facilitators)."""

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from essaim.actors.access import can_see_quality
from essaim.actors.models import Status
from essaim.actors.quality import STALE_AFTER_MONTHS, quality_report
from essaim.www.actors.jsonld import jsonld_script_content, structure_jsonld

register = template.Library()


@register.simple_tag(takes_context=True)
def structure_jsonld_script(context, structure):
    """A ``<script type="application/ld+json">`` describing a published card; nothing for other cards.

    Built here rather than written in a template: templates hold no inline ``<script>`` (CSP test), and the
    JSON is escaped like ``json_script`` does. The script is data, not code; it carries the request's nonce
    all the same so that no CSP reporting flags it.
    """
    if structure.status != Status.PUBLISHED or structure.merged_into_id is not None:
        return ""
    request = context["request"]
    card_url = request.build_absolute_uri(reverse("actors:detail", kwargs={"slug": structure.slug}))
    content = jsonld_script_content(structure_jsonld(structure, card_url=card_url))
    return format_html(
        '<script type="application/ld+json" nonce="{}">{}</script>',
        getattr(request, "csp_nonce", ""),
        mark_safe(content),  # noqa: S308 - escaped for a script element by jsonld_script_content
    )


@register.inclusion_tag("actors/quality/_card_quality.html", takes_context=True)
def structure_quality(context, structure):
    """The card's live quality score, missing fields and stale flag; empty for non-facilitators."""
    if not can_see_quality(context["request"].user) or structure.pk is None:
        return {"report": None}
    return {"report": quality_report(structure), "stale_months": STALE_AFTER_MONTHS}
