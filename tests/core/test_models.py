import pytest

from essaim.core.models import OutgoingEmail

pytestmark = pytest.mark.django_db


def _email(**recipients):
    return OutgoingEmail.objects.create(from_email="a@exemple.fr", subject="x", body="x", **recipients)


@pytest.mark.parametrize(
    "recipients",
    [
        {"to": ["camille@café.fr"]},
        {"to": ["Camille Lefèvre <camille@café.fr>"]},
        {"cc": ["autre@exemple.fr", "Camille@Café.fr"]},
        {"bcc": ["Élodie <camille@café.fr>"]},
    ],
)
def test_addressed_to_finds_non_ascii_addresses(recipients):
    wanted = _email(**recipients)
    _email(to=["camille@cafe.fr"])
    _email(to=["xcamille@café.fr"])

    assert list(OutgoingEmail.objects.addressed_to(" Camille@café.fr ")) == [wanted]


def test_addressed_to_ascii_addresses_in_both_forms():
    plain = _email(to=["dominique@exemple.fr"])
    named = _email(to=["Dominique Roux <dominique@exemple.fr>"])
    _email(to=["marie-dominique@exemple.fr"])

    assert set(OutgoingEmail.objects.addressed_to("dominique@exemple.fr")) == {plain, named}
