import pytest

from tests.demo.cog_sample import load_cog_sample


@pytest.fixture
def cog_sample(db):
    load_cog_sample()
