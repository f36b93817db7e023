"""Test configuration: hypothesis profiles, the gpu marker and --require-gpu."""

from __future__ import annotations

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

# one thread per pytest-xdist worker, and for the processes the tests start (notebook kernels, DDP ranks): with two
# workers on two cores, torch's default of one thread per core oversubscribes them
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)

# `ci`: derandomised (the same examples every run), no deadline (2-core CI machine), few examples.
settings.register_profile("ci", derandomize=True, deadline=None, max_examples=25,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", deadline=None, max_examples=100, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption("--require-gpu", action="store_true", default=False,
                     help="fail (instead of skip) the tests marked gpu when no CUDA device is present")


#: the longest files, longest first (every notebook executed and every claim checked: a third of the suite's time;
#: then the §4 pipeline, the rollouts and the probe's model tests): under pytest-xdist they start first, one a
#: worker, and the short files fill in behind them
SLOW_FIRST = ("test_notebooks.py", "test_reproduce.py", "test_rollouts.py", "test_probe.py")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: each file keeps its order
    for item in items:  # pytest-xdist --dist loadgroup: whole files per worker, so module fixtures are built once
        item.add_marker(pytest.mark.xdist_group(item.path.name))
    if torch.cuda.is_available():
        return
    if config.getoption("--require-gpu"):
        return  # pytest_runtest_setup fails them
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="no CUDA device (use --require-gpu to make this a failure)"))


def pytest_runtest_setup(item):
    """--require-gpu without a CUDA device: each gpu test fails before its fixtures are built (exit code 1)."""
    if "gpu" in item.keywords and item.config.getoption("--require-gpu") and not torch.cuda.is_available():
        pytest.fail("--require-gpu given but no CUDA device is available", pytrace=False)


@pytest.fixture(scope="session")
def rendered_notebooks(tmp_path_factory):
    """Every notebook executed once per session (fresh kernels), as {name: {"notebook", "html"}} with the HTML
    pages under a temporary folder.  The kernels run with another machine's threads and BLAS kernels
    (test_reproducible.OTHER_MACHINE): the committed pages, written with the defaults, must come out the same."""
    from dsproof import notebooks

    from .test_reproducible import OTHER_MACHINE

    return notebooks.render_all(ipynb_dir=None, html_dir=tmp_path_factory.mktemp("report") / "notebooks",
                                env=OTHER_MACHINE)
