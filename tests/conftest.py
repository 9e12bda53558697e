import os

import pytest

from autograder.runner import child_runner

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def runner():
    """One grading runner for the whole run: the fork server imports torch once, not per notebook,
    and its learner workers are forks too (unsandboxed: a sandbox would import torch per notebook).
    The sandbox itself is tested by tests/test_hostile.py and tests/test_grader_robustness.py."""
    with child_runner(sandbox=False) as shared:
        yield shared


@pytest.fixture(scope="session")
def catalogue(runner):
    """Grades the mutant and alternative catalogues a batch at a time (tests/catalogue_grading.py)."""
    from tests.catalogue_grading import CatalogueGrader, every_solution
    return CatalogueGrader(runner, every_solution())
