import os
import sys

import pytest

from autograder.runner import child_runner

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# One torch thread per test process. The suite runs two processes on two cores (.ci/run), and
# torch's threads spin while they wait for each other: on a busy machine a test of 13's oracles took
# 43 s with two threads and 1.8 s with one.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "torch" in sys.modules:
    sys.modules["torch"].set_num_threads(1)


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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Under pytest-xdist (--dist loadgroup) the tests of a module that share a module-scoped fixture
    run in one worker, so that fixture (a course set up and graded, a browser started) is built once
    rather than once in each worker that draws one of its tests. A parametrized module fixture (the
    hostile catalogue's two modes) makes one group per parameter: the two can run side by side."""
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if fixtures is None or item.get_closest_marker("xdist_group"):
            continue
        scoped = [name for name, defs in fixtures.name2fixturedefs.items() if defs[-1].scope == "module"]
        if scoped:
            params = getattr(getattr(item, "callspec", None), "params", {})
            keys = [f"{name}={params[name]}" for name in scoped if name in params]
            item.add_marker(pytest.mark.xdist_group("-".join([item.module.__name__, *keys])))
