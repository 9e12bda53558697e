import os

import pytest

from autograder.runner import child_runner

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def runner():
    """One grading runner for the whole run: the fork server imports torch once, not per notebook."""
    with child_runner() as shared:
        yield shared
