import pytest

from essaim.territories.services import territories_load_cog
from tests.territories.fixtures import write_cog


@pytest.fixture
def cog_dir(tmp_path):
    return write_cog(tmp_path / "cog")


@pytest.fixture
def territories(db, cog_dir):
    """The small hand-made COG, loaded through the real loader."""
    return territories_load_cog(source=cog_dir)
