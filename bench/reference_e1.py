"""Experiment 1 of the seed lab at N nodes on crdt-merge 0.9.5: part 1 of
bench/reference_suite.py (128x128, 5 orderings of all-pairs, every node
resolves weight_average) with the node count as a parameter."""
import random, sys, time
import numpy as np
from crdt_merge.model.crdt_state import CRDTMergeState

n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
rng = np.random.default_rng(42)

def states(n, d, strategy, base):
    out = []
    for i in range(n):
        s = CRDTMergeState(strategy, base=base, seed=42)
        s.add(rng.standard_normal((d, d)), model_id=f"m{i:05d}", weight=1.0)
        out.append(s)
    return out

def all_pairs(nodes, r):
    order = list(range(len(nodes)))
    r.shuffle(order)
    for i in order:
        targets = [j for j in range(len(nodes)) if j != i]
        r.shuffle(targets)
        for j in targets:
            nodes[i].merge(nodes[j])

def verdict(nodes):
    hashes = {s.state_hash for s in nodes}
    models = [s.resolve() for s in nodes]
    return len(hashes) == 1 and all(np.array_equal(models[0], m) for m in models[1:])

t = time.perf_counter(); c = time.process_time()
ok = True
for k in range(5):
    base = rng.standard_normal((128, 128))
    nodes = states(n, 128, "weight_average", base)
    all_pairs(nodes, random.Random(k))
    ok &= verdict(nodes)
el = time.perf_counter() - t; cpu = time.process_time() - c
print(f"nodes {n}: wall {el*1e3:.1f} ms, cpu {cpu*1e3:.1f} ms, reference verdict {ok}")
