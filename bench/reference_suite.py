#!/usr/bin/env python3
"""Time the seed lab's default full suite, re-created on the reference
library (crdt-merge 0.9.5 from PyPI), so `lab-cli suite --preset seed` can be
compared on the same machine.

The seed lab's procedure (shared spec simulation.md, "What the seed lab
did"): 30 nodes with random 128x128 float64 tensors, 5 orderings of
all-pairs merging (a shuffled node order, per node a shuffled target order,
every node merges every other node's current state), every node resolves;
partition by i mod 3 with all-pairs inside each partition, then across all;
a sweep at 10 nodes x 64x64 over the 26 strategies (evolutionary_merge and
genetic_merge skipped by default, as the seed lab did — they take ~20 s
each); scalability for n in {2,5,10,20,30} at 64x64.

This is a re-creation from the spec, not the seed lab's own code (which is
not available here); it calls the same library the same way.

Usage: python3 bench/reference_suite.py [--with-optimisers]
Prints per-part and total wall times, and checks the reference's own
verdicts (equal state hashes, bitwise-equal resolves).
"""

import argparse
import os
import random
import subprocess
import sys
import time

from refenv import ensure_venv





STRATEGIES = [
    "weight_average", "slerp", "task_arithmetic", "linear", "fisher_merge",
    "regression_mean", "ada_merging", "dam", "weight_scope_alignment",
    "representation_surgery", "evolutionary_merge", "genetic_merge",
    "safe_merge", "led_merge", "ties", "dare", "della", "dare_ties",
    "model_breadcrumbs", "emr", "star", "svd_knot_tying", "adarank",
    "negative_merge", "split_unlearn_merge", "dual_projection",
]


def main():
    ensure_venv(__file__)
    import numpy as np
    from crdt_merge.model.crdt_state import CRDTMergeState

    ap = argparse.ArgumentParser()
    ap.add_argument("--with-optimisers", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(42)

    def states(n, d, strategy, base):
        out = []
        for i in range(n):
            s = CRDTMergeState(strategy, base=base, seed=42)
            s.add(rng.standard_normal((d, d)), model_id=f"m{i:05d}", weight=1.0)
            out.append(s)
        return out

    def all_pairs(nodes, r, keep=lambda i, j: True):
        order = list(range(len(nodes)))
        r.shuffle(order)
        for i in order:
            targets = [j for j in range(len(nodes)) if j != i and keep(i, j)]
            r.shuffle(targets)
            for j in targets:
                nodes[i].merge(nodes[j])

    def verdict(nodes):
        hashes = {s.state_hash for s in nodes}
        models = [s.resolve() for s in nodes]
        same = all(np.array_equal(models[0], m) for m in models[1:])
        return len(hashes) == 1 and same

    times = {}
    t0 = time.perf_counter()
    # 1. convergence: 30 nodes, 128x128, 5 orderings.
    t = time.perf_counter()
    ok1 = True
    for k in range(5):
        base = rng.standard_normal((128, 128))
        nodes = states(30, 128, "weight_average", base)
        all_pairs(nodes, random.Random(k))
        ok1 &= verdict(nodes)
    times["convergence"] = time.perf_counter() - t
    # 2. partition: i mod 3, all-pairs inside, then across.
    t = time.perf_counter()
    nodes = states(30, 128, "weight_average", rng.standard_normal((128, 128)))
    all_pairs(nodes, random.Random(7), keep=lambda i, j: i % 3 == j % 3)
    parts_ok = all(len({nodes[i].state_hash for i in range(30) if i % 3 == p}) == 1 for p in range(3))
    all_pairs(nodes, random.Random(8))
    ok2 = parts_ok and verdict(nodes)
    times["partition"] = time.perf_counter() - t
    # 3. sweep: 10 nodes x 64x64 per strategy.
    t = time.perf_counter()
    ok3 = True
    for name in STRATEGIES:
        if name in ("evolutionary_merge", "genetic_merge") and not args.with_optimisers:
            continue
        nodes = states(10, 64, name, rng.standard_normal((64, 64)))
        all_pairs(nodes, random.Random(1))
        ok3 &= verdict(nodes)
    times["sweep"] = time.perf_counter() - t
    # 4. scalability: n in {2,5,10,20,30} at 64x64.
    t = time.perf_counter()
    ok4 = True
    for n in (2, 5, 10, 20, 30):
        nodes = states(n, 64, "weight_average", rng.standard_normal((64, 64)))
        all_pairs(nodes, random.Random(n))
        ok4 &= verdict(nodes)
    times["scale"] = time.perf_counter() - t
    total = time.perf_counter() - t0
    for k, v in times.items():
        print(f"{k:<12} {v * 1e3:10.1f} ms")
    print(f"{'total':<12} {total * 1e3:10.1f} ms  (optimisers {'included' if args.with_optimisers else 'skipped, as the seed lab did'})")
    print(f"reference verdicts: convergence {ok1}, partition {ok2}, sweep {ok3}, scale {ok4}")


if __name__ == "__main__":
    main()
