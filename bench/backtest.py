"""The backtest of every model on a generated DEU III-layout file of 364 issues in 141 proposals
(target: under 60 s with the default 10 perturbed draws), against a naive implementation
measured in the same run: a Python loop calling each model once per issue (per proposal for
exchange and smp) and per draw, on a sample of the proposals, scaled to the whole file.

    python bench/backtest.py [--issues 364] [--draws 10] [--sample 12]

The naive loop and the batched backtest are checked to give the same forecasts on the
sample (every deterministic model; the exchange model's coin flips come from per-draw
streams, so its draws differ between the two and it is timed only).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from accord.analysis import backtest as bt
from accord.analysis.deu_synthetic import write_synthetic_deu
from accord.analysis.voting_power import deu_capability
from accord.models import Inputs, available, run
from accord.scenario.io.deu import read_deu


def naive(data, models, cap, pos, sal, proposals, seed=0):
    """One model call per unit and draw, d = 1: what a first implementation would write."""
    d1, n, a = pos.shape
    out = {m: np.full((d1, n), np.nan) for m in models}
    for m in models:
        units = list(proposals.values()) if m in bt.JOINT_MODELS else [[k] for ks in proposals.values() for k in ks]
        for ks in units:
            present = ~np.isnan(data.position[ks]).all(axis=0)
            for d in range(d1):
                p = pos[d][ks][:, present].T
                s = sal[d][ks][:, present].T
                c = cap[ks][:, present].mean(axis=0) if m in bt.JOINT_MODELS else cap[ks[0], present]
                inp = Inputs.from_arrays(c, p, s, low=[0.0] * len(ks), high=[100.0] * len(ks),
                                         status_quo=None if m == "smp" else data.reference[ks])
                if m == "exchange":
                    inp = replace(inp, power=cap[ks][:, present].T[None].copy())
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    out[m][d, ks] = run(m, inp, seed=seed)[0].final[0]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--issues", type=int, default=364)
    ap.add_argument("--proposals", type=int, default=141)
    ap.add_argument("--draws", type=int, default=10)
    ap.add_argument("--sample", type=int, default=12, help="proposals timed in the naive loop")
    args = ap.parse_args()
    models = list(available())
    with tempfile.TemporaryDirectory() as tmp:
        path = write_synthetic_deu(Path(tmp) / "Dataset_DEU_III.csv", issues=args.issues,
                                   proposals=args.proposals, seed=0)
        data = read_deu(path)
        cap, _, _ = deu_capability(data)
        pos, sal = bt.perturb(data, 1, 10.0, 0.1, np.random.default_rng(0))
        warm = sorted(k for ks in list(_proposals(data).values())[:3] for k in ks)
        w = _restrict(data, warm)  # compile and warm up
        bt.forecasts(w, models, cap[warm], pos[:, warm], sal[:, warm], joint=True)
        naive(w, models, cap[warm], pos[:1, warm], sal[:1, warm], _proposals(w))

        t0, c0 = time.perf_counter(), time.process_time()
        table = bt.backtest(path, draws=args.draws)
        t_full, c_full = time.perf_counter() - t0, time.process_time() - c0
        print(f"{len(data.issues)} issues ({table.attrs['issues']} scorable) in "
              f"{data.summary['proposals']} proposals × {len(models)} models, {args.draws} draws "
              f"+ the coded data: backtest {t_full:.1f} s wall, {c_full:.1f} s CPU "
              f"(target < 60 s; on a shared machine CPU time is the steadier figure; "
              f"load average {os.getloadavg()[0]:.1f})")

        props = _proposals(data)
        keys = list(props)[:: max(1, len(props) // args.sample)][: args.sample]
        sample = {k: props[k] for k in keys}
        ks_all = sorted(k for ks in sample.values() for k in ks)
        pos, sal = bt.perturb(data, args.draws, 10.0, 0.1, np.random.default_rng(0))
        sub = _restrict(data, ks_all)
        print(f"{'model':<12}{'batched s':>11}{'naive s':>10}{'ratio':>9}   (sample: "
              f"{len(sample)} proposals, {len(ks_all)} issues, scaled to the file)")
        scale = table.attrs["issues"] / len(ks_all)
        tot_b = tot_n = 0.0
        for m in models:
            t0 = time.perf_counter()
            fast, _ = bt.forecasts(sub, [m], cap[ks_all], pos[:, ks_all], sal[:, ks_all], joint=True)
            t_b = time.perf_counter() - t0
            t0 = time.perf_counter()
            slow = naive(sub, [m], cap[ks_all], pos[:, ks_all], sal[:, ks_all], _proposals(sub))
            t_n = time.perf_counter() - t0
            if m != "exchange":
                assert np.allclose(fast[m], slow[m], equal_nan=True, atol=1e-9), m
            tot_b += t_b
            tot_n += t_n
            print(f"{m:<12}{t_b * scale:>11.2f}{t_n * scale:>10.2f}{t_n / t_b:>8.1f}×")
        print(f"{'all':<12}{tot_b * scale:>11.2f}{tot_n * scale:>10.2f}{tot_n / tot_b:>8.1f}×")


def _proposals(data):
    props: dict[str, list[int]] = {}
    for k, p in enumerate(data.proposal):
        if data.scorable[k]:
            props.setdefault(p, []).append(k)
    return props


def _restrict(data, ks):
    return replace(data, issues=tuple(data.issues[k] for k in ks), position=data.position[ks],
                   salience=data.salience[ks], capability=data.capability[ks],
                   reference=data.reference[ks], outcome=data.outcome[ks],
                   lines=tuple(data.lines[k] for k in ks),
                   proposal=tuple(data.proposal[k] for k in ks),
                   procedure=tuple(data.procedure[k] for k in ks),
                   rule=tuple(data.rule[k] for k in ks), decided=tuple(data.decided[k] for k in ks),
                   date_from=tuple(data.date_from[k] for k in ks),
                   reference_filled=data.reference_filled[ks], scorable=data.scorable[ks])


if __name__ == "__main__":
    main()
