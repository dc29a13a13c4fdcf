#!/usr/bin/env python3
"""Time the reference CRDT layer (crdt-merge 0.9.5, PyPI) on the lab's Layer-1
benchmarks, so BENCHMARKS.md can give ratios measured on the same machine:

1. join of two states of 100 contributions each (identical contents, as in a
   converged gossip exchange), per merge;
2. all-pairs gossip of 100 nodes (the seed lab's schedule: a shuffled node
   order, every node merges every other node's current state: 9,900 merges).

Usage: python3 bench/reference_crdt.py [--nodes 100] [--repeats 5]
Creates (once) a virtual environment under /tmp with crdt-merge==0.9.5 and
numpy, and re-runs itself inside it. Compare with
`cargo bench -p lab-core --bench core` (join_100/*, all_pairs/gossip_100_nodes).
"""

import argparse
import copy
import os
import random
import statistics
import subprocess
import sys
import time

from refenv import ensure_venv





def main():
    ensure_venv(__file__)
    import numpy as np
    from crdt_merge.model.crdt_state import CRDTMergeState

    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--dim", type=int, default=16)
    args = ap.parse_args()
    n = args.nodes
    rng = np.random.default_rng(42)
    tensors = [rng.standard_normal((args.dim, args.dim)) for _ in range(n)]

    def single(i):
        s = CRDTMergeState("weight_average", seed=42)
        s.add(tensors[i], model_id=f"m{i:05d}", weight=1.0)
        return s

    # 1. join of two states of n contributions each.
    full = CRDTMergeState("weight_average", seed=42)
    for i in range(n):
        full.merge(single(i))
    per_merge = []
    for _ in range(args.repeats):
        pairs = [(copy.deepcopy(full), copy.deepcopy(full)) for _ in range(200)]
        t = time.perf_counter()
        for a, b in pairs:
            a.merge(b)
        per_merge.append((time.perf_counter() - t) / len(pairs) * 1e6)
    print(f"join of two states of {n} contributions: median {statistics.median(per_merge):.1f} µs per merge "
          f"(runs: {', '.join(f'{x:.1f}' for x in per_merge)})")

    # 2. all-pairs gossip of n nodes (the seed lab's schedule).
    totals = []
    for rep in range(args.repeats):
        nodes = [single(i) for i in range(n)]
        r = random.Random(rep)
        order = list(range(n))
        r.shuffle(order)
        t = time.perf_counter()
        for i in order:
            targets = [j for j in range(n) if j != i]
            r.shuffle(targets)
            for j in targets:
                nodes[i].merge(nodes[j])
        totals.append((time.perf_counter() - t) * 1e3)
        hashes = {s.state_hash for s in nodes}
        assert len(hashes) == 1, "reference replicas disagree"
    print(f"all-pairs gossip of {n} nodes ({n * (n - 1)} merges): median {statistics.median(totals):.1f} ms "
          f"(runs: {', '.join(f'{x:.1f}' for x in totals)})")


if __name__ == "__main__":
    main()
