"""Sweeps on Dask equal the local run bit for bit; chunks are fixed by the seed, not the backend."""

from __future__ import annotations

import numpy as np
import pytest

import accord
from accord.analysis import sweeps
from accord.analysis.feasibility import feasibility
from accord.analysis.whatif import compile_levers, read_levers, whatif
from accord.results import dumps
from accord.scenario import bundled

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def flagship():
    return accord.load("ukraine-2025")


def _equal(a: sweeps.SweepRun, b: sweeps.SweepRun) -> None:
    assert a.views == b.views and a.lever_names == b.lever_names
    assert a.final.keys() == b.final.keys()
    for m in a.final:
        assert a.final[m].tobytes() == b.final[m].tobytes(), m
    for deal in a.deals:
        for key in a.deals[deal]:
            assert a.deals[deal][key].tobytes() == b.deals[deal][key].tobytes(), (deal, key)


def test_a_dask_sweep_equals_the_local_one_bit_for_bit(flagship, client):
    levers = compile_levers(flagship, read_levers(bundled("ukraine-2025") / "levers.yaml", flagship))
    kw = dict(draws=90, seed=11, levers=levers, models=["mean", "compromise", "median"], chunk=40)
    local = sweeps.run(flagship, backend="local", **kw)
    remote = sweeps.run(flagship, backend="dask", client=client, **kw)
    _equal(local, remote)
    assert local.final["compromise"].shape == (levers.count, len(flagship.views), 90, 15)


def test_the_public_analyses_take_the_dask_backend(flagship, client):
    a = feasibility(flagship, draws=30, seed=4, chunk=16)
    b = feasibility(flagship, draws=30, seed=4, chunk=16, backend="dask", client=client)
    assert dumps(a.to_json()) == dumps(b.to_json())
    path = bundled("eu-emissions") / "levers.yaml"
    sc = accord.load("eu-emissions")
    w1 = whatif(sc, path, models=["median"], draws=3)
    w2 = whatif(sc, path, models=["median"], draws=3, backend="dask", client=client)
    assert dumps(w1.to_json()) == dumps(w2.to_json())


def test_sobol_indices_on_dask_equal_the_local_ones(flagship, client):
    from accord.analysis.sensitivity import sobol

    a = sobol(flagship, model="median", n=8, seed=1, num_resamples=10, chunk=500)
    b = sobol(flagship, model="median", n=8, seed=1, num_resamples=10, chunk=500,
              backend="dask", client=client)
    assert a.evaluations > 500  # several tasks
    assert a.indices.to_json() == b.indices.to_json()


def test_more_draws_extend_a_run_and_the_lever_chunking_changes_nothing(flagship):
    small = sweeps.run(flagship, draws=50, seed=2, models=["compromise"], chunk=50)
    large = sweeps.run(flagship, draws=120, seed=2, models=["compromise"], chunk=50)
    np.testing.assert_array_equal(large.final["compromise"][:, :, :50], small.final["compromise"])
    levers = compile_levers(flagship, read_levers(bundled("ukraine-2025") / "levers.yaml", flagship))
    one = sweeps.run(flagship, draws=20, seed=2, levers=levers, models=["mean"], chunk=20)
    old = sweeps.PROBLEMS_PER_TASK
    try:
        sweeps.PROBLEMS_PER_TASK = 40  # two levers per task
        many = sweeps.run(flagship, draws=20, seed=2, levers=levers, models=["mean"], chunk=20)
    finally:
        sweeps.PROBLEMS_PER_TASK = old
    _equal(one, many)


def test_backend_arguments_are_checked(flagship):
    with pytest.raises(ValueError, match="backend"):
        sweeps.run(flagship, draws=2, backend="spark")
    with pytest.raises(ValueError, match="--scheduler needs --backend dask"):
        sweeps.run(flagship, draws=2, scheduler="tcp://127.0.0.1:1")
