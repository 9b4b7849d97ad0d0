"""schema.org ``Organization`` description of a public structure card, as JSON-LD.

Only what the public card shows goes in: the card's public contact email and phone (the structure publishes
them as its contact), never anything about its members.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder

from essaim.actors.models import Structure

# What json_script escapes: the JSON can then sit inside a <script> element without closing it early.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def structure_jsonld(structure: Structure, *, card_url: str) -> dict:
    """The schema.org Organization of ``structure``; ``card_url`` is the absolute URL of its public card.

    Empty fields are left out. The address carries the commune's first postal code when known.
    """
    data: dict = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "@id": card_url,
        "name": structure.name,
        "url": card_url,
    }
    if structure.acronym:
        data["alternateName"] = structure.acronym
    if structure.description:
        data["description"] = structure.description
    address = {"@type": "PostalAddress", "addressCountry": "FR"}
    if structure.address:
        address["streetAddress"] = structure.address
    commune = structure.commune
    if commune is not None:
        address["addressLocality"] = commune.name
        postal_code = commune.postal_codes.order_by("code").values_list("code", flat=True).first()
        if postal_code:
            address["postalCode"] = postal_code
    if len(address) > 2:
        data["address"] = address
    point = structure.point
    if point is not None:
        data["geo"] = {"@type": "GeoCoordinates", "latitude": point[0], "longitude": point[1]}
    if structure.phone:
        data["telephone"] = structure.phone
    if structure.email:
        data["email"] = structure.email
    if structure.website:
        data["sameAs"] = [structure.website]
    if structure.creation_date:
        data["foundingDate"] = structure.creation_date.isoformat()
    if structure.siren:
        data["identifier"] = {"@type": "PropertyValue", "propertyID": "SIREN", "value": structure.siren}
    return data


def jsonld_script_content(data: dict) -> str:
    """``data`` as JSON safe to place between ``<script>`` and ``</script>`` (as Django's json_script)."""
    return json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder).translate(_SCRIPT_ESCAPES)
