#!/usr/bin/env python3
"""Time the 26 crdt-merge 0.9.5 strategies on the inputs of the Rust bench.

The Rust bench (`crates/lab-core/benches/strategies.rs`) times one resolve
per reference strategy at 10 x 128^2 and 100 x 128^2 contributions. This
script builds bit-identical inputs (both draw them from CPython's
`random.Random(2024)`), calls each strategy exactly as
`CRDTMergeState.resolve()` does (canonical order, `weights=` always,
`base=` only for BASE_REQUIRED, `seed=42` only for STOCHASTIC), and prints
the median wall time. Given the Criterion output folder it also prints the
Rust median and the ratio reference / port.

Usage:
    python3 bench/reference_strategies.py [--sizes 10,100] [--budget 3]
        [--only ties,dare] [--criterion-dir target/criterion]

On first use it creates a virtual environment under /tmp with
`crdt-merge==0.9.5` (and numpy) from PyPI and re-runs itself inside it.
The optimisers are slow in pure Python (evolutionary_merge and
genetic_merge take minutes at n = 100); use --only or --sizes to skip them.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time

from refenv import ensure_venv

SIDE = 128
INPUT_SEED = 2024
STATE_SEED = 42

# Spec order (strategies.md section 2), as in `reference::ALL`.
STRATEGIES = [
    "weight_average", "slerp", "task_arithmetic", "linear", "fisher_merge",
    "regression_mean", "ada_merging", "dam", "weight_scope_alignment",
    "representation_surgery", "evolutionary_merge", "genetic_merge",
    "safe_merge", "led_merge", "ties", "dare", "della", "dare_ties",
    "model_breadcrumbs", "emr", "star", "svd_knot_tying", "adarank",
    "negative_merge", "split_unlearn_merge", "dual_projection",
]




def make_inputs(n, np):
    """Same draws, in the same order, as `make_inputs` in the Rust bench."""
    rng = random.Random(INPUT_SEED)
    d = SIDE * SIDE

    def uniform(count):
        return [2.0 * rng.random() - 1.0 for _ in range(count)]

    base = np.array(uniform(d), dtype=np.float64)
    tensors = []
    for _ in range(n):
        noise = np.array(uniform(d), dtype=np.float64)
        tensors.append((base + 0.5 * noise).reshape(SIDE, SIDE))
    weights = [1.0 + i / 100 for i in range(n)]
    return tensors, weights, base.reshape(SIDE, SIDE)


def time_call(fn, budget):
    """Median of repeated calls: at least one, until `budget` seconds or 10."""
    times = []
    start = time.perf_counter()
    while not times or (time.perf_counter() - start < budget and len(times) < 10):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def criterion_median(criterion_dir, n, name):
    """The Rust median in seconds, or None if that bench has not run."""
    if not criterion_dir:
        return None
    path = os.path.join(
        criterion_dir, f"resolve_{n}x{SIDE}x{SIDE}", name, "new", "estimates.json"
    )
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"] / 1e9
    except (OSError, KeyError, ValueError):
        return None


def main():
    ensure_venv(__file__)
    import numpy as np
    from crdt_merge.model.crdt_state import CRDTMergeState
    from crdt_merge.model.strategies import get_strategy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100")
    parser.add_argument("--budget", type=float, default=3.0,
                        help="seconds of repeats per strategy and size")
    parser.add_argument("--only", default="", help="comma-separated strategy names")
    parser.add_argument("--criterion-dir", default="",
                        help="Criterion output folder, e.g. target/criterion")
    args = parser.parse_args()
    names = [s for s in args.only.split(",") if s] or STRATEGIES
    sizes = [int(s) for s in args.sizes.split(",") if s]

    print(f"{'strategy':<24} {'n':>4} {'crdt-merge ms':>14} {'port ms':>10} {'ratio':>8}")
    for n in sizes:
        tensors, weights, base = make_inputs(n, np)
        for name in names:
            kwargs = {"weights": weights}
            if name in CRDTMergeState.BASE_REQUIRED:
                kwargs["base"] = base
            if name in CRDTMergeState.STOCHASTIC:
                kwargs["seed"] = STATE_SEED
            strategy = get_strategy(name)
            ref = time_call(lambda: strategy.merge(tensors, **kwargs), args.budget)
            port = criterion_median(args.criterion_dir, n, name)
            port_ms = f"{port * 1e3:10.3f}" if port else f"{'-':>10}"
            ratio = f"{ref / port:8.1f}" if port else f"{'-':>8}"
            print(f"{name:<24} {n:>4} {ref * 1e3:14.3f} {port_ms} {ratio}", flush=True)


if __name__ == "__main__":
    main()
