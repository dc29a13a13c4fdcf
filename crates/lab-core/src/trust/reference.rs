//! **Reference semantics — contrast model, not the lab's design.**
//!
//! A small model of the reference's trust lattice (crdt-merge ≤ 0.9.8,
//! `crdt_merge/e4/`, as `shared/spec/trust.md` §1 describes it), kept only
//! so the lab can show its non-convergence next to the corrected layer:
//!
//! - per peer and dimension, a map observer → accumulated evidence ≥ 0;
//! - an untracked dimension scores 0.5, a tracked one `max(0, 1 − Σ evidence)`
//!   (so "full trust" and "unknown" are both 0.5, and the first small
//!   accusation *raises* trust: 0.5 → 0.95 for 0.05 of evidence);
//! - overall trust is the plain mean of the six dimensions;
//! - evidence is not bound to proofs: [`RefLattice::record`] adds any amount
//!   to any slot, and applying the same evidence twice counts it twice;
//! - join is the pointwise max over (peer, dimension, observer);
//! - *homeostasis* (optional here, present up to 0.9.8) rewrites the stored
//!   evidence after every merge so that, per dimension, the scores of all
//!   known peers sum to the peer count.
//!
//! The homeostasis rule is modelled as: for each dimension, with `N` known
//! peers and scores `tₚ` summing to `S > 0`, the target is `t'ₚ = tₚ·N/S`;
//! a tracked slot set is scaled so its sum becomes `max(0, 1 − t'ₚ)` (or, if
//! it was all zero, that amount is written to the merging node's own slot);
//! an untracked dimension becomes tracked the same way when `t'ₚ ≠ 0.5`.
//! This makes the merge depend on what was merged before — neither
//! associative nor idempotent — and [`all_to_all_contrast`] shows nodes
//! ending with different trust roots after all-to-all merging, while the
//! same schedule without homeostasis converges. Arithmetic is plain f64 in a
//! fixed order (deterministic, no transcendentals).

use super::ctx;
use super::identity::NodeId;
use super::state::Dimension;
use crate::hash::Digest;
use crate::rng::{Purpose, Stream};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The reference's score of an untracked dimension.
pub const UNTRACKED: f64 = 0.5;

type Slots = BTreeMap<NodeId, f64>;

/// The reference-semantics trust lattice of one node.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RefLattice {
    /// peer → per dimension (indexed like [`Dimension::ALL`]) → observer → evidence.
    ev: BTreeMap<NodeId, [Slots; 6]>,
}

impl RefLattice {
    /// An empty lattice.
    pub fn new() -> RefLattice {
        RefLattice::default()
    }

    /// Makes `peer` known (all dimensions untracked).
    pub fn know(&mut self, peer: NodeId) {
        self.ev.entry(peer).or_default();
    }

    /// Adds `amount` of evidence by `observer` against `peer` — unchecked and
    /// cumulative, as in the reference.
    pub fn record(&mut self, observer: NodeId, peer: NodeId, dim: Dimension, amount: f64) {
        let slots = &mut self.ev.entry(peer).or_default()[dim as usize];
        *slots.entry(observer).or_insert(0.0) += amount;
    }

    /// The score of `peer` in `dim`.
    pub fn score(&self, peer: NodeId, dim: Dimension) -> f64 {
        match self.ev.get(&peer) {
            None => UNTRACKED,
            Some(dims) => {
                let slots = &dims[dim as usize];
                if slots.is_empty() {
                    UNTRACKED
                } else {
                    let sum: f64 = slots.values().sum();
                    (1.0 - sum).max(0.0)
                }
            }
        }
    }

    /// Plain mean of the six dimensions.
    pub fn overall(&self, peer: NodeId) -> f64 {
        let mut s = 0.0;
        for d in Dimension::ALL {
            s += self.score(peer, d);
        }
        s / 6.0
    }

    /// Pointwise max join, then homeostasis if enabled (`me` is the merging
    /// node, whose slot receives rewritten evidence).
    pub fn merge(&mut self, other: &RefLattice, homeostasis: bool, me: NodeId) {
        for (peer, dims) in &other.ev {
            let mine = self.ev.entry(*peer).or_default();
            for (d, slots) in dims.iter().enumerate() {
                for (obs, v) in slots {
                    let e = mine[d].entry(*obs).or_insert(0.0);
                    if *v > *e {
                        *e = *v;
                    }
                }
            }
        }
        if homeostasis {
            self.homeostasis(me);
        }
    }

    fn homeostasis(&mut self, me: NodeId) {
        let peers: Vec<NodeId> = self.ev.keys().copied().collect();
        let n = peers.len() as f64;
        if peers.is_empty() {
            return;
        }
        for d in Dimension::ALL {
            let scores: Vec<f64> = peers.iter().map(|&p| self.score(p, d)).collect();
            let mut sum = 0.0;
            for s in &scores {
                sum += s;
            }
            if sum <= 0.0 {
                continue;
            }
            for (i, &p) in peers.iter().enumerate() {
                let target = scores[i] * n / sum;
                let slots = &mut self.ev.get_mut(&p).expect("known peer")[d as usize];
                if slots.is_empty() && target == UNTRACKED {
                    continue;
                }
                let want = (1.0 - target).max(0.0);
                let have: f64 = slots.values().sum();
                if have > 0.0 {
                    let f = want / have;
                    for v in slots.values_mut() {
                        *v *= f;
                    }
                } else {
                    slots.insert(me, want);
                }
            }
        }
    }

    /// A trust root in the reference's spirit: the derived scores of
    /// `peers`, hashed with fixed formatting (peer u32 LE, six f64 bits).
    pub fn root(&self, peers: &[NodeId]) -> Digest {
        let mut h = blake3::Hasher::new_derive_key(ctx::REFERENCE_ROOT);
        h.update(&(peers.len() as u64).to_le_bytes());
        for &p in peers {
            h.update(&p.to_le_bytes());
            for d in Dimension::ALL {
                h.update(&self.score(p, d).to_bits().to_le_bytes());
            }
        }
        Digest(*h.finalize().as_bytes())
    }
}

/// What the contrast run found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContrastReport {
    pub nodes: u32,
    pub orders: u32,
    pub homeostasis: bool,
    /// Distinct trust roots over all nodes and all orders (1 = converged).
    pub distinct_roots: usize,
    /// Per dimension, the largest spread (max − min) of one peer's score
    /// across the nodes of one order, over all peers and orders.
    pub max_divergence: [f64; 6],
}

/// Every node starts with its own observations (a few accusations of other
/// peers, amounts 0.05–0.25, drawn from `seed`); then, for each of `orders`
/// sequential all-to-all schedules (node order and partner order shuffled),
/// every node merges every other node's *current* lattice — the seed lab's
/// schedule. Reports how many distinct trust roots the nodes end with.
pub fn all_to_all_contrast(
    seed: u64,
    nodes: u32,
    orders: u32,
    homeostasis: bool,
) -> ContrastReport {
    let nodes = nodes.max(2);
    let peers: Vec<NodeId> = (0..nodes).collect();
    let mut initial: Vec<RefLattice> = Vec::with_capacity(nodes as usize);
    for i in 0..nodes {
        let mut s = Stream::keyed(
            seed,
            Purpose::Other,
            &[i as u64],
            b"reference-trust-contrast evidence",
        );
        let mut l = RefLattice::new();
        for &p in &peers {
            l.know(p);
        }
        for _ in 0..3 {
            let peer = s.below(nodes as u64) as NodeId;
            if peer == i {
                continue;
            }
            let dim = Dimension::ALL[s.below(6) as usize];
            let amount = 0.05 * (1 + s.below(5)) as f64;
            l.record(i, peer, dim, amount);
        }
        initial.push(l);
    }
    let mut roots = BTreeSet::new();
    let mut div = [0.0f64; 6];
    for k in 0..orders.max(1) {
        let mut s = Stream::keyed(
            seed,
            Purpose::Other,
            &[k as u64],
            b"reference-trust-contrast order",
        );
        let mut state = initial.clone();
        let mut order: Vec<usize> = (0..nodes as usize).collect();
        s.shuffle(&mut order);
        for &i in &order {
            let mut partners: Vec<usize> = (0..nodes as usize).filter(|&j| j != i).collect();
            s.shuffle(&mut partners);
            for j in partners {
                let other = state[j].clone();
                state[i].merge(&other, homeostasis, i as NodeId);
            }
        }
        for l in &state {
            roots.insert(l.root(&peers));
        }
        for (di, d) in Dimension::ALL.iter().enumerate() {
            for &p in &peers {
                let mut lo = f64::INFINITY;
                let mut hi = f64::NEG_INFINITY;
                for l in &state {
                    let v = l.score(p, *d);
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                div[di] = div[di].max(hi - lo);
            }
        }
    }
    ContrastReport {
        nodes,
        orders: orders.max(1),
        homeostasis,
        distinct_roots: roots.len(),
        max_divergence: div,
    }
}
