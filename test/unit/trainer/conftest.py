"""Pytest setup for the trainer: its modules live beside train.py, not in a package."""
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as train.py: no spinning OpenMP threads

import pytest

TRAINER = Path(__file__).resolve().parents[3] / "services" / "trainer"
sys.path.insert(0, str(TRAINER))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic import write_features_csv  # noqa: E402


def pytest_configure(config):
    # Same filter as models.py; pytest resets warning filters per test, so repeat it here.
    config.addinivalue_line("filterwarnings", "ignore:X does not have valid feature names")


@pytest.fixture(scope="session")
def features_csv(tmp_path_factory) -> Path:
    """A small synthetic features CSV (train/validation/test weeks of the default splits)."""
    return write_features_csv(tmp_path_factory.mktemp("data") / "features-seed7.csv", seed=7)
