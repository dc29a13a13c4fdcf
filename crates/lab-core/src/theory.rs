//! Gossip theory for the Scalability experiment: exact finite-n expectations
//! of rumour-spreading time on the complete graph, the classical asymptotics,
//! an approximation (with rigorous bounds) for the all-rumours (CRDT) case,
//! and a small seeded Monte-Carlo helper for tests.
//!
//! # The model (the lab's simulator, [`crate::sim`])
//!
//! `n` nodes, synchronous rounds. In every round every node contacts `k`
//! *distinct* peers drawn uniformly from the `n − 1` other nodes
//! ([`crate::sim::Schedule::peers`], i.e. [`Stream::distinct_excluding`]),
//! independently of every other node and round. Messages carry the sender's
//! state *at the start of the round*, so a rumour moves at most one hop per
//! round. One rumour starts at one node; `T` is the first round after which
//! all `n` nodes know it.
//!
//! - **push**: every informed node sends the rumour to its `k` peers;
//! - **pull**: every uninformed node asks its `k` peers and learns the rumour
//!   if at least one of them is informed;
//! - **push-pull**: both, over every contact: an uninformed node learns if an
//!   informed node contacted it *or* it contacted an informed node.
//!
//! # The Markov chain and its exact transition law
//!
//! By symmetry the number `i` of informed nodes is a Markov chain on
//! `1..=n`, non-decreasing, absorbed at `n`. Write `m = n − i` for the
//! uninformed nodes and `N = n − 1` for the size of every node's peer pool.
//!
//! **Pull** (exact, closed form). An uninformed node stays uninformed iff its
//! `k` distinct peers, a uniform `k`-subset of the `N` others of which `i` are
//! informed, are all uninformed: `q_i = C(N − i, k) / C(N, k)`. Different
//! uninformed nodes choose independently, so the number of newly informed
//! nodes is exactly `Binomial(m, 1 − q_i)`.
//!
//! **Push** (exact, "walk" over `(senders, marked)`). The `k` targets of one
//! informed sender are a uniform `k`-subset of the `N` nodes other than
//! itself; every uninformed node is in that pool, so *restricted to the
//! uninformed set* all senders have the same law and are independent. The
//! hits are not independent across receivers (a sender's targets are
//! distinct), so we do not use `(1 − k/N)^i` per receiver as if independent.
//! Instead let `D_m(t)` be the law of the number of distinct elements of a
//! fixed marked `m`-set hit by `t` independent uniform `k`-subsets of an
//! `N`-set. Two exact moves:
//!
//! 1. *add a sender*: with `h` marked elements already hit, the new sender's
//!    `k`-subset contains `x ~ Hypergeometric(N, m − h, k)` unhit marked
//!    elements, so `h → h + x`;
//! 2. *drop a marked element*: given `h`, the hit set is a uniform `h`-subset
//!    of the marked set (exchangeability), so the hits inside a fixed
//!    `(m−1)`-subset are `h − 1` with probability `h/m` and `h` otherwise.
//!
//! Row `i` needs `D_{n−i}(i)`. Walking `D_{n−1}(0) = δ₀ → D_{n−1}(1) →
//! D_{n−2}(1) → D_{n−2}(2) → …` yields every row with one add and one drop
//! per row, so the whole matrix costs `O(n · w · k)` where `w` is the width
//! of the distribution (`O(√n)` after trimming) — instead of `O(n³)` for a
//! separate sender-by-sender DP per row, and without the catastrophic
//! cancellation of the inclusion–exclusion formula
//! `P(all of S missed) = (C(N − |S|, k)/C(N, k))^i`. (The code walks the
//! unhit count `Y = m − h`, which is what the push-pull walk below needs.)
//!
//! **Push-pull** (exact, the same walk with pull coins). Pull successes
//! are independent of the push targets (chosen by other nodes): each
//! uninformed node fails to pull with probability `q_i`, independently. Walk
//! instead on `Y` = the uninformed nodes that are *neither hit nor pulled
//! successfully* ("protected and unhit"); new = `m − Y`. A sender removes
//! `Hypergeometric(N, Y, k)` of them and a dropped marked node is one of them
//! with probability `Y/m` — the moves only see `Y`, because the coins are
//! independent and exchangeable. The coin probability changes from row to
//! row by the exact ratio `q_{i+1}/q_i = C(N−i−1, k)/C(N−i, k) = 1 − k/(m−1)`,
//! and independent thinnings compose (`B_a ∘ B_b = B_{ab}`) and commute with
//! both moves, so after each drop `Y` is thinned binomially with leave
//! probability `k/(m−1)`; the walk starts from `Y ~ Binomial(n−1, q_1)`.
//! Push is the special case `q ≡ 1`. (A direct mixture
//! `Σ_h P(h)·Binomial(m−h, 1−q_i)` per row gives the same numbers but costs
//! `O(w²)` per row; the two were checked against each other.)
//!
//! # Numerics
//!
//! Every distribution is held as a band of `f64` probabilities; pmfs are
//! built from their mode by exact ratio recurrences (no factorials, no
//! `lgamma`) and normalised by a fixed-order sum; band ends below `1e-24`
//! are trimmed, and the forward propagation skips contributions below
//! `1e-30` (the mass so dropped is far below the `f64` resolution of the
//! results). Everything is a fixed-order sum of non-negative terms; the only
//! transcendental functions are `libm`'s `log1p`, `exp`, `expm1`, `log`,
//! `log10`, `pow`. Same inputs ⇒ same bits, natively and in WebAssembly.
//!
//! From the rows: `E[T]` by first-step analysis backwards from `n`
//! (`E_i = (1 + Σ_{j>i} P_ij E_j) / (1 − P_ii)`, with `1 − P_ii` summed
//! from the off-diagonal terms), and the law `P(T ≤ r)` by propagating the
//! distribution of `i` forward from `δ₁` until `P(T > r) < CDF_TAIL`
//! (`1e-12`).
//!
//! Cost: building the rows is `O(n·w·k)` with `w = O(√n)`; the forward
//! propagation is `O(rounds · n · w)`. Native release build, CPU time of one
//! call, `k = 1`: every protocol at `n = 1,000` in under 10 ms; at
//! `n = 10,000` push 0.06 s, push-pull 0.17 s, pull 0.35 s (pull's slow
//! start keeps every state in play for ~45 rounds of the forward pass).
//! Larger `k` is cheaper (fewer rounds).
//!
//! # Sources
//!
//! - A. M. Frieze, G. R. Grimmett, *The shortest-path problem for graphs with
//!   random arc-lengths*, Discrete Appl. Math. 10 (1985) — push:
//!   `log₂ n + ln n + o(log n)`.
//! - B. Pittel, *On spreading a rumor*, SIAM J. Appl. Math. 47 (1987).
//! - B. Doerr, M. Künnemann, *Tight analysis of randomized rumor spreading in
//!   complete graphs*, ANALCO 2014: `⌊log₂ n⌋ + ln n − 1.116 ≤ E[S_n] ≤
//!   ⌈log₂ n⌉ + ln n + 2.765 + o(1)`.
//! - R. Karp, C. Schindelhauer, S. Shenker, B. Vöcking, *Randomized rumor
//!   spreading*, FOCS 2000: push-pull `log₃ n + O(log log n)`; pull's
//!   quadratic end phase.
//! - B. Doerr, A. Kostrygin, *Randomized rumor spreading revisited*, ICALP
//!   2017 (arXiv:2303.11150): expected times of push, pull, push-pull and
//!   multi-call variants up to additive constants.
//! - K. Panagiotou, A. Pourmiri, T. Sauerwald, *Faster rumor spreading with
//!   multiple calls*, Electron. J. Combin. 22(1) (2015) P1.23.

use crate::rng::{Purpose, Stream};
use crate::sim::Protocol;
use serde::{Deserialize, Serialize};

/// Most nodes the exact computation accepts (the simulator's limit).
pub const THEORY_NODES_MAX: u32 = crate::sim::NODES_MAX;
/// Largest fan-out `k` accepted (and `k ≤ n − 1` always).
pub const THEORY_FANOUT_MAX: u32 = 64;
/// Most rounds a computed law (or a Monte-Carlo trial) may span.
pub const THEORY_ROUNDS_MAX: u32 = crate::sim::ROUNDS_MAX;
/// The law `P(T ≤ r)` is tabulated until `P(T > r)` drops below this.
pub const CDF_TAIL: f64 = 1e-12;
/// Most trials one Monte-Carlo call may run.
pub const MONTE_CARLO_TRIALS_MAX: u32 = 1_000_000;
/// Most nodes the all-rumours Monte Carlo accepts (it keeps `n²` bits).
pub const ALL_RUMOURS_MC_NODES_MAX: u32 = 2_000;

/// Band ends below this probability are dropped.
const TRIM: f64 = 1e-24;
/// Forward-propagated masses below this are flushed to zero (they cannot
/// matter at `f64` resolution, and skipping them keeps the propagation to the
/// states the chain can actually be in).
const FLUSH: f64 = 1e-30;
/// Decades of row entries distinguished by the forward propagation: rows
/// are trimmed at `1e-24`, so `10^(−24)` already keeps a whole row.
const DECADES: usize = 24;
/// `10^(−d)`.
fn decade(d: usize) -> f64 {
    libm::pow(10.0, -(d as f64))
}
/// Key of the Monte-Carlo streams (`"theory"`), kept apart from all others.
const MC_TAG: u64 = 0x7468_656f_7279;

/// Why a theory quantity could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TheoryError {
    /// `all-pairs` is a sequential schedule, not a round-based gossip protocol.
    #[error("`{0}` is not a gossip protocol: the rumour-spreading theory does not apply")]
    NotGossip(&'static str),
    /// `n` outside `2..=max`.
    #[error("n = {nodes} nodes is outside 2..={max}")]
    Nodes { nodes: u32, max: u32 },
    /// `k` outside `1..=min(n − 1, max)`.
    #[error("fan-out k = {fanout} is outside 1..=min(n − 1, {max}) for n = {nodes}")]
    Fanout { fanout: u32, nodes: u32, max: u32 },
    /// Too many Monte-Carlo trials requested (or zero).
    #[error("{trials} Monte-Carlo trials is outside 1..={max}")]
    Trials { trials: u32, max: u32 },
    /// A law or a trial did not finish within the round limit.
    #[error("not finished within {max} rounds")]
    RoundsExceeded { max: u32 },
}

/// The exact law of the number of rounds `T` one rumour needs to reach all
/// `n` nodes from one informed node (see the module docs for the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoundsDistribution {
    pub protocol: Protocol,
    pub nodes: u32,
    pub fanout: u32,
    /// `E[T]`, exact (first-step analysis of the chain; rounding only).
    pub mean: f64,
    /// Standard deviation of `T` (from the tabulated law).
    pub std_dev: f64,
    /// Smallest `r` with `P(T ≤ r) ≥ 0.05`.
    pub p5: u32,
    /// Smallest `r` with `P(T ≤ r) ≥ 0.5`.
    pub median: u32,
    /// Smallest `r` with `P(T ≤ r) ≥ 0.95`.
    pub p95: u32,
    /// `cdf[r] = P(T ≤ r)` for `r = 0, 1, …` until `P(T > r) < CDF_TAIL`.
    pub cdf: Vec<f64>,
}

impl RoundsDistribution {
    /// Smallest `r` with `P(T ≤ r) ≥ p` (the last tabulated round if `p` is
    /// beyond `1 − CDF_TAIL`).
    pub fn quantile(&self, p: f64) -> u32 {
        quantile(&self.cdf, p)
    }
}

/// One row of the transition matrix of the chain on the number of informed
/// nodes: `P(informed → informed + first_new + x) = probs[x]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransitionRow {
    /// Informed nodes at the start of the round (`1 ≤ informed < n`).
    pub informed: u32,
    /// Newly informed count of `probs[0]`.
    pub first_new: u32,
    /// Probabilities of `first_new, first_new + 1, …` newly informed nodes
    /// (trimmed where below `1e-24`, then normalised).
    pub probs: Vec<f64>,
}

/// Estimate and rigorous bounds for the expected number of rounds until *all*
/// `n` rumours (one per node — the CRDT convergence case) are everywhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AllRumoursEstimate {
    pub protocol: Protocol,
    pub nodes: u32,
    pub fanout: u32,
    /// Rigorous lower bound `Σ_r max(P(T_out > r), P(T_in > r))`
    /// (≥ `max(E[T_out], E[T_in])`).
    pub lower_bound: f64,
    /// The approximation `Σ_r (1 − P(T_pull ≤ r)ⁿ)` (push and pull) or
    /// `Σ_r (1 − P(T_pp ≤ r)ⁿ)` (push-pull) — independence across the `n`
    /// start-dominated spreading processes — with every term clamped into
    /// the rigorous per-round bounds. An approximation, not a bound.
    pub estimate: f64,
    /// The 5th and 95th percentiles of the approximate law (smallest `r`
    /// whose approximate `P(T_all ≤ r)` reaches 0.05 / 0.95).
    pub estimate_p5: u32,
    pub estimate_p95: u32,
    /// Rigorous upper bound `Σ_r min(1, n·P(T_out > r), n·P(T_in > r))`
    /// (union bound; the tail beyond `P(T > r) < CDF_TAIL` adds at most
    /// about `2n·CDF_TAIL`).
    pub upper_bound: f64,
}

/// Checks `protocol`, `n` and `k` for the exact computation.
fn check(protocol: Protocol, n: u32, k: u32) -> Result<(), TheoryError> {
    if protocol == Protocol::AllPairs {
        return Err(TheoryError::NotGossip(protocol.name()));
    }
    if !(2..=THEORY_NODES_MAX).contains(&n) {
        return Err(TheoryError::Nodes {
            nodes: n,
            max: THEORY_NODES_MAX,
        });
    }
    if k == 0 || k > n - 1 || k > THEORY_FANOUT_MAX {
        return Err(TheoryError::Fanout {
            fanout: k,
            nodes: n,
            max: THEORY_FANOUT_MAX,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Banded distributions.

/// A distribution on `lo, lo + 1, …, lo + p.len() − 1`.
#[derive(Clone, Debug)]
struct Band {
    lo: usize,
    p: Vec<f64>,
}

impl Band {
    fn point(x: usize) -> Band {
        Band {
            lo: x,
            p: vec![1.0],
        }
    }

    /// Drops band ends below [`TRIM`] (keeping at least one entry; the
    /// bands here carry mass ≈ 1, so their mode is never dropped).
    fn trim(&mut self) {
        let mut end = self.p.len();
        while end > 1 && self.p[end - 1] < TRIM {
            end -= 1;
        }
        self.p.truncate(end);
        let mut start = 0;
        while start + 1 < self.p.len() && self.p[start] < TRIM {
            start += 1;
        }
        if start > 0 {
            self.p.drain(..start);
            self.lo += start;
        }
    }

    /// Scales to total mass 1 (fixed-order sum).
    fn normalize(&mut self) {
        let s: f64 = self.p.iter().sum();
        for v in &mut self.p {
            *v /= s;
        }
    }
}

/// Builds an unnormalised pmf from its mode outwards: `f(mode) = 1`,
/// `up(x) = f(x+1)/f(x)` for `x` in `mode..hi`, `down(x) = f(x−1)/f(x)` for
/// `x` in `lo+1..=mode`; stops where values fall below [`TRIM`] when `trim`.
fn pmf_from_mode(
    lo: usize,
    hi: usize,
    mode: usize,
    up: impl Fn(usize) -> f64,
    down: impl Fn(usize) -> f64,
    trim: bool,
) -> Band {
    let mut upper = vec![1.0];
    let mut x = mode;
    while x < hi {
        let v = upper[upper.len() - 1] * up(x);
        if trim && v < TRIM {
            break;
        }
        upper.push(v);
        x += 1;
    }
    let mut lower = Vec::new();
    let mut x = mode;
    let mut v = 1.0;
    while x > lo {
        v *= down(x);
        if trim && v < TRIM {
            break;
        }
        lower.push(v);
        x -= 1;
    }
    let start = mode - lower.len();
    lower.reverse();
    lower.extend_from_slice(&upper);
    let mut b = Band {
        lo: start,
        p: lower,
    };
    b.normalize();
    b
}

/// `Binomial(trials, p)` with `q = 1 − p` given separately (for precision).
fn binomial(trials: usize, p: f64, q: f64) -> Band {
    if trials == 0 || p <= 0.0 {
        return Band::point(0);
    }
    if q <= 0.0 {
        return Band::point(trials);
    }
    let t = trials as f64;
    let mode = ((libm::floor((t + 1.0) * p)) as usize).min(trials);
    pmf_from_mode(
        0,
        trials,
        mode,
        |x| ((trials - x) as f64 * p) / ((x + 1) as f64 * q),
        |x| (x as f64 * q) / ((trials - x + 1) as f64 * p),
        true,
    )
}

/// `Hypergeometric(population, successes, draws)`: successes among `draws`
/// items drawn without replacement. Not trimmed (at most `draws + 1` values).
fn hypergeometric(population: usize, successes: usize, draws: usize) -> Band {
    let failures = population - successes;
    let lo = draws.saturating_sub(failures);
    let hi = draws.min(successes);
    let mode_f = ((draws + 1) as f64 * (successes + 1) as f64) / (population + 2) as f64;
    let mode = (libm::floor(mode_f) as usize).clamp(lo, hi);
    pmf_from_mode(
        lo,
        hi,
        mode,
        // f(x+1)/f(x) = (s − x)(d − x) / ((x + 1)(f − d + x + 1))
        |x| {
            ((successes - x) as f64 * (draws - x) as f64)
                / ((x + 1) as f64 * (failures + x + 1 - draws) as f64)
        },
        // f(x−1)/f(x) = x (f − d + x) / ((s − x + 1)(d − x + 1))
        |x| {
            (x as f64 * (failures + x - draws) as f64)
                / ((successes - x + 1) as f64 * (draws - x + 1) as f64)
        },
        false,
    )
}

/// `q_i = C(N − i, k) / C(N, k)` (a pull fails) and `1 − q_i`, via
/// `log1p`/`expm1` so that both are accurate when either is tiny.
fn pull_fail(n: u32, k: u32, informed: u32) -> (f64, f64) {
    let pool = (n - 1) as f64;
    let i = informed as f64;
    if n - 1 - informed < k {
        return (0.0, 1.0);
    }
    let mut l = 0.0;
    for j in 0..k {
        l += libm::log1p(-i / (pool - j as f64));
    }
    (libm::exp(l), -libm::expm1(l))
}

// ---------------------------------------------------------------------------
// The transition matrix.

/// Rows `i = 1..n−1`: the law of the number of newly informed nodes.
fn rows(protocol: Protocol, n: u32, k: u32) -> Vec<Band> {
    let pool = (n - 1) as usize;
    let kk = k as usize;
    let mut out = Vec::with_capacity(pool);
    if protocol == Protocol::Pull {
        for i in 1..n {
            let m = (n - i) as usize;
            let (q, p) = pull_fail(n, k, i);
            out.push(binomial(m, p, q));
        }
        return out;
    }
    let pulls = protocol == Protocol::PushPull;
    // Hypergeometric tables for every count `u` of still-uninformed targets.
    let hyp: Vec<Band> = (0..=pool).map(|u| hypergeometric(pool, u, kk)).collect();
    // Y = uninformed nodes neither hit by push nor pulling successfully, for
    // `m = n − 1` marked nodes, no senders yet, pull-failure coins at q_1.
    let mut y = if pulls {
        let (q, p) = pull_fail(n, k, 1);
        binomial(pool, q, p)
    } else {
        Band::point(pool)
    };
    for i in 1..n {
        let m = (n - i) as usize;
        y = add_sender(&y, &hyp, kk);
        // Row i: m − Y nodes are newly informed.
        let hi = y.lo + y.p.len() - 1;
        let mut row = Band {
            lo: m - hi,
            p: y.p.iter().rev().copied().collect(),
        };
        row.normalize();
        out.push(row);
        if m > 1 {
            y = drop_marked(&y, m);
            if pulls {
                // q_{i+1} / q_i = 1 − k / (m − 1): thin the pull-failure coins.
                y = thin(&y, (kk as f64 / (m - 1) as f64).min(1.0));
            }
        }
    }
    out
}

/// One more sender: `Y → Y − Hypergeometric(N, Y, k)` (`hyp[u]` is the
/// law for `Y = u`).
fn add_sender(y: &Band, hyp: &[Band], k: usize) -> Band {
    let lo = y.lo.saturating_sub(k);
    let mut next = vec![0.0; y.lo + y.p.len() - lo];
    for (off, &w) in y.p.iter().enumerate() {
        let u = y.lo + off;
        let x = &hyp[u];
        for (xo, &px) in x.p.iter().enumerate() {
            next[u - x.lo - xo - lo] += w * px;
        }
    }
    let mut b = Band { lo, p: next };
    b.trim();
    b
}

/// Drops one of the `m` marked nodes, uniformly: `Y → Y − 1` w.p. `Y/m`.
fn drop_marked(y: &Band, m: usize) -> Band {
    let inv = 1.0 / m as f64;
    let lo = y.lo.saturating_sub(1);
    let mut next = vec![0.0; y.lo + y.p.len() - lo];
    for (off, &w) in y.p.iter().enumerate() {
        let v = y.lo + off;
        next[v - lo] += w * ((m - v) as f64 * inv);
        if v > 0 {
            next[v - 1 - lo] += w * (v as f64 * inv);
        }
    }
    let mut b = Band { lo, p: next };
    b.trim();
    b
}

/// Binomial thinning: each of the `Y` nodes leaves independently with
/// probability `s`. The law of the leavers, `Binomial(Y, s)`, is stepped
/// from one `Y` to the next in place by convolving with `Bernoulli(s)`.
fn thin(y: &Band, s: f64) -> Band {
    if s >= 1.0 {
        return Band::point(0);
    }
    let keep = 1.0 - s;
    let mut gone = binomial(y.lo, s, keep);
    let lo = y.lo.saturating_sub(gone.lo + gone.p.len() + y.p.len());
    let mut next = vec![0.0; y.lo + y.p.len() - lo];
    for (off, &w) in y.p.iter().enumerate() {
        let v = y.lo + off;
        if off > 0 {
            // Binomial(v − 1, s) → Binomial(v, s).
            let g = &mut gone.p;
            g.push(0.0);
            let mut carry = 0.0;
            for v in g.iter_mut() {
                let here = *v;
                *v = here * keep + carry;
                carry = here * s;
            }
            gone.trim();
        }
        // next[v − j − lo] += w · P(j gone), j = gone.lo, …
        let top = v - gone.lo - lo;
        let dst = &mut next[top + 1 - gone.p.len()..=top];
        for (d, &pj) in dst.iter_mut().rev().zip(&gone.p) {
            *d += w * pj;
        }
    }
    let mut b = Band { lo, p: next };
    b.trim();
    b
}

/// The exact transition rows of the chain on the number of informed nodes,
/// for `i = 1, …, n − 1` (see the module docs for the derivation).
pub fn transition_rows(
    protocol: Protocol,
    n: u32,
    k: u32,
) -> Result<Vec<TransitionRow>, TheoryError> {
    check(protocol, n, k)?;
    Ok(rows(protocol, n, k)
        .into_iter()
        .enumerate()
        .map(|(idx, b)| TransitionRow {
            informed: idx as u32 + 1,
            first_new: b.lo as u32,
            probs: b.p,
        })
        .collect())
}

/// The chain's answers: exact mean, survival `P(T > r)` (accurate in the
/// tail) and `P(T ≤ r)` (accumulated absorption: monotone, accurate when
/// small), both for `r = 0, 1, …` until `P(T > r) < CDF_TAIL`.
struct Solved {
    mean: f64,
    survival: Vec<f64>,
    cdf: Vec<f64>,
}

/// Solves the chain (see the module docs).
fn solve(protocol: Protocol, n: u32, k: u32) -> Result<Solved, TheoryError> {
    check(protocol, n, k)?;
    let rows = rows(protocol, n, k);
    let nn = n as usize;
    // E_i, backwards from E_n = 0.
    let mut e = vec![0.0; nn + 1];
    for i in (1..nn).rev() {
        let r = &rows[i - 1];
        let mut moved = 0.0;
        let mut acc = 0.0;
        for (off, &pr) in r.p.iter().enumerate() {
            let x = r.lo + off;
            if x > 0 {
                moved += pr;
                acc += pr * e[i + x];
            }
        }
        e[i] = (1.0 + acc) / moved;
    }
    // The law of T, forwards from δ₁. A state of mass w only needs the row
    // entries ≥ FLUSH / w: `cuts[i][d]` is the index range of row i holding
    // every entry ≥ 10^(−d) (found by scanning in from both ends).
    let thresholds: [f64; DECADES + 1] = core::array::from_fn(decade);
    let cuts: Vec<[(usize, usize); DECADES + 1]> = rows
        .iter()
        .map(|r| {
            let mut c = [(0, 0); DECADES + 1];
            let (mut a, mut b) = (0, r.p.len());
            for d in (0..=DECADES).rev() {
                let t = thresholds[d];
                while a < b && r.p[a] < t {
                    a += 1;
                }
                while b > a && r.p[b - 1] < t {
                    b -= 1;
                }
                c[d] = (a, b);
            }
            c
        })
        .collect();
    let mut pi = vec![0.0; nn + 1];
    pi[1] = 1.0;
    let mut survival = vec![1.0];
    let mut cdf = vec![0.0];
    loop {
        if survival.len() > THEORY_ROUNDS_MAX as usize {
            return Err(TheoryError::RoundsExceeded {
                max: THEORY_ROUNDS_MAX,
            });
        }
        let mut next = vec![0.0; nn + 1];
        for i in 1..nn {
            let w = pi[i];
            if w == 0.0 {
                continue;
            }
            // Smallest d with 10^(−d) ≤ FLUSH / w (entries below add < FLUSH).
            let d = libm::ceil(libm::log10(w / FLUSH)).clamp(0.0, DECADES as f64) as usize;
            let r = &rows[i - 1];
            let (a, b) = cuts[i - 1][d];
            let base = i + r.lo;
            for (dst, &pr) in next[base + a..base + b].iter_mut().zip(&r.p[a..b]) {
                *dst += w * pr;
            }
        }
        let done = (cdf[cdf.len() - 1] + next[nn]).min(1.0);
        cdf.push(done);
        next[nn] = 0.0; // absorbed mass leaves the transient states
        let mut s = 0.0;
        for v in next.iter_mut() {
            if *v < FLUSH {
                *v = 0.0;
            }
            s += *v;
        }
        survival.push(s);
        pi = next;
        if s < CDF_TAIL {
            break;
        }
    }
    Ok(Solved {
        mean: e[1],
        survival,
        cdf,
    })
}

fn quantile(cdf: &[f64], p: f64) -> u32 {
    cdf.iter()
        .position(|&c| c >= p)
        .unwrap_or(cdf.len().saturating_sub(1)) as u32
}

/// The exact law of the number of synchronous rounds for one rumour to reach
/// all `n` nodes of the complete graph from one informed node, with fan-out
/// `k` distinct uniform peers per node and round (the simulator's model).
///
/// Exact for every protocol (module docs: closed-form binomial rows for pull,
/// the add-sender/drop-marked walk for push, and their mixture for
/// push-pull); `mean` by first-step analysis, percentiles from the
/// tabulated law. `2 ≤ n ≤ THEORY_NODES_MAX`, `1 ≤ k ≤ min(n − 1,
/// THEORY_FANOUT_MAX)`; `all-pairs` is rejected.
pub fn expected_rounds(
    protocol: Protocol,
    n: u32,
    k: u32,
) -> Result<RoundsDistribution, TheoryError> {
    let Solved {
        mean,
        survival,
        cdf,
    } = solve(protocol, n, k)?;
    let mut m2 = 0.0;
    for (r, &s) in survival.iter().enumerate() {
        m2 += (2 * r + 1) as f64 * s;
    }
    let var = (m2 - mean * mean).max(0.0);
    Ok(RoundsDistribution {
        protocol,
        nodes: n,
        fanout: k,
        mean,
        std_dev: libm::sqrt(var),
        p5: quantile(&cdf, 0.05),
        median: quantile(&cdf, 0.5),
        p95: quantile(&cdf, 0.95),
        cdf,
    })
}

/// The protocol whose single-rumour time is the time for *all* nodes'
/// information to reach one fixed node (time reversal: push ↔ pull;
/// push-pull is self-dual).
pub fn dual(protocol: Protocol) -> Protocol {
    match protocol {
        Protocol::Push => Protocol::Pull,
        Protocol::Pull => Protocol::Push,
        p => p,
    }
}

/// Expected rounds until all `n` rumours — one starting at every node, the
/// CRDT convergence case — are known everywhere: an **approximation**
/// between two rigorous bounds.
///
/// Let `T_all = max_{v,w} T(v→w)`. Facts used (all exact):
/// - `T_all = max_v T_out(v) = max_w T_in(w)`, where `T_out(v)` is the
///   single-rumour time of the protocol and, by reversing the order of the
///   (i.i.d.) rounds, `T_in(w)` — the time until every node's rumour has
///   reached `w` — has the law of the single-rumour time of the [`dual`]
///   protocol. The same reversal shows that push and pull have *the same*
///   law of `T_all` for equal `n` and `k`.
/// - Hence `P(T_all > r) ≥ max(P(T_out > r), P(T_in > r))` (summed:
///   `lower_bound`, at least `max(E[T_out], E[T_in])`), and by the union
///   bound `P(T_all > r) ≤ min(1, n·P(T_out > r), n·P(T_in > r))` (summed:
///   `upper_bound`).
///
/// The `estimate` treats `n` of those processes as independent,
/// `P(T_all ≤ r) ≈ F(r)ⁿ`, choosing the side whose lateness comes from its
/// *start* — a node nobody pushes to / a source nobody pulls from, events
/// that involve different nodes' choices and are nearly independent — which
/// is the pull-type law for push and pull, and the push-pull law itself for
/// push-pull. Independence over the push-type side (whose lateness is the
/// shared end phase: an unlucky late node misses *every* rumour at once)
/// overestimates badly — push, n = 100, k = 1: 16.9 rounds against a
/// measured 14.4. Compared with our Monte Carlo (`monte_carlo_all_rumours`,
/// see `tests/theory.rs`) the estimate is within about 0.06 rounds for
/// n = 10…100, k = 1, 2, and its p5/p95 match the measured ones (n = 100,
/// k = 1: push 14.46 [13, 17] vs 14.40 ± 0.08 [13, 17]; push-pull, a little
/// high throughout: 7.94 vs 7.91 ± 0.02). The lab shows the measured values
/// beside it.
pub fn all_rumours_rounds_approx(
    protocol: Protocol,
    n: u32,
    k: u32,
) -> Result<AllRumoursEstimate, TheoryError> {
    check(protocol, n, k)?;
    let s_out = solve(protocol, n, k)?.survival;
    let s_in = if dual(protocol) == protocol {
        s_out.clone()
    } else {
        solve(dual(protocol), n, k)?.survival
    };
    let s_est = if protocol == Protocol::Push {
        &s_in
    } else {
        &s_out
    };
    let nf = n as f64;
    // Beyond its table a survival is below its last entry and above 0.
    let below = |s: &[f64], r: usize| s.get(r).copied().unwrap_or(0.0);
    let above = |s: &[f64], r: usize| s.get(r).or(s.last()).copied().unwrap_or(0.0);
    let len = s_out.len().max(s_in.len());
    let (mut lower, mut estimate, mut upper) = (0.0, 0.0, 0.0);
    let mut approx_cdf = Vec::with_capacity(len);
    for r in 0..len {
        // Per round: max(S_out, S_in) ≤ P(T_all > r) ≤ min(1, n·S_out, n·S_in).
        let lo = below(&s_out, r).max(below(&s_in, r));
        let hi = (nf * above(&s_out, r))
            .min(nf * above(&s_in, r))
            .min(1.0)
            .max(lo);
        let at = below;
        // 1 − (1 − S)ⁿ, accurately for small S.
        let se = at(s_est, r).min(1.0);
        let est = (-libm::expm1(nf * libm::log1p(-se))).clamp(lo, hi);
        lower += lo;
        upper += hi;
        estimate += est;
        approx_cdf.push(1.0 - est);
    }
    Ok(AllRumoursEstimate {
        protocol,
        nodes: n,
        fanout: k,
        lower_bound: lower,
        estimate,
        estimate_p5: quantile(&approx_cdf, 0.05),
        estimate_p95: quantile(&approx_cdf, 0.95),
        upper_bound: upper,
    })
}

/// Leading-order asymptotic expectation of the single-rumour time (the
/// "second line" drawn beside the exact values; additive `O(1)` terms are
/// omitted, so at `n ≤ 100` expect it about a round low).
///
/// Two-phase argument: while few nodes are informed each round multiplies
/// them by the growth factor `g`; once a constant fraction is informed the
/// uninformed fraction `p` contracts. With fan-out `k`:
/// - push: `g = 1 + k`, `p ← p·e^{−k}` ⇒ `log_{1+k} n + (ln n)/k`; for
///   `k = 1` this is Frieze–Grimmett/Pittel's `log₂ n + ln n`;
/// - pull: `g = 1 + k`, `p ← p^{k+1}` ⇒ `log_{1+k} n + log_{1+k} ln n`
///   (`k = 1`: `log₂ n + log₂ ln n`, the quadratic end phase of Karp et al.);
/// - push-pull: `g = 1 + 2k`, `p ← p^{k+1}e^{−k}` ⇒ `log_{1+2k} n +
///   log_{1+k} ln n` (`k = 1`: Karp et al.'s `log₃ n + O(log log n)` with the
///   `log₂ ln n` end phase).
///
/// The fan-out generalisations follow the same two-phase argument (Doerr &
/// Kostrygin 2017 and Panagiotou, Pourmiri & Sauerwald 2015 treat multiple
/// calls per round); only the `k = 1` push formula comes with the proven
/// tight band ([`push_band`]).
pub fn asymptotic_rounds(protocol: Protocol, n: u32, k: u32) -> Result<f64, TheoryError> {
    check(protocol, n, k)?;
    let ln_n = libm::log(n as f64);
    let kf = k as f64;
    let log_base = |x: f64, b: f64| libm::log(x) / libm::log(b);
    // ln ln n is negative for n < 3; the end-phase term is then taken as 0.
    let lnln = if ln_n > 1.0 { ln_n } else { 1.0 };
    Ok(match protocol {
        Protocol::Push => ln_n / libm::log(1.0 + kf) + ln_n / kf,
        Protocol::Pull => ln_n / libm::log(1.0 + kf) + log_base(lnln, 1.0 + kf),
        Protocol::PushPull => ln_n / libm::log(1.0 + 2.0 * kf) + log_base(lnln, 1.0 + kf),
        Protocol::AllPairs => unreachable!("rejected by check"),
    })
}

/// The Doerr–Künnemann band for push with `k = 1`:
/// `(⌊log₂ n⌋ + ln n − 1.116, ⌈log₂ n⌉ + ln n + 2.765)`. The upper bound is
/// proven up to an `o(1)` term (ANALCO 2014); the exact means of this module
/// lie inside it for every `n ≤ 1,000` (tested).
pub fn push_band(n: u32) -> (f64, f64) {
    let n = n.max(1);
    let floor = (31 - n.leading_zeros()) as f64;
    let ceil = floor + if n.is_power_of_two() { 0.0 } else { 1.0 };
    let ln_n = libm::log(n as f64);
    (floor + ln_n - 1.116, ceil + ln_n + 2.765)
}

// ---------------------------------------------------------------------------
// Monte Carlo (for tests and cross-checks).

fn check_mc(protocol: Protocol, n: u32, k: u32, trials: u32) -> Result<(), TheoryError> {
    check(protocol, n, k)?;
    if trials == 0 || trials > MONTE_CARLO_TRIALS_MAX {
        return Err(TheoryError::Trials {
            trials,
            max: MONTE_CARLO_TRIALS_MAX,
        });
    }
    Ok(())
}

fn mc_stream(kind: u64, protocol: Protocol, n: u32, k: u32, seed: u64, trial: u32) -> Stream {
    let code = Protocol::ALL
        .iter()
        .position(|&p| p == protocol)
        .unwrap_or(0) as u64;
    Stream::new(
        seed,
        Purpose::Other,
        &[MC_TAG, kind, code, n as u64, k as u64, trial as u64],
    )
}

/// Seeded Monte Carlo of the single-rumour time: `trials` independent runs
/// from node 0, peers drawn exactly as [`crate::sim::Schedule::peers`] does
/// ([`Stream::distinct_excluding`]), one stream per trial keyed by
/// `(seed, trial)`. Returns the rounds of every trial. Only the nodes whose
/// choice matters draw (informed for push, uninformed for pull, all for
/// push-pull); choices are independent, so the law is the simulator's.
pub fn monte_carlo_rounds(
    protocol: Protocol,
    n: u32,
    k: u32,
    seed: u64,
    trials: u32,
) -> Result<Vec<u32>, TheoryError> {
    check_mc(protocol, n, k, trials)?;
    let nn = n as usize;
    let push = matches!(protocol, Protocol::Push | Protocol::PushPull);
    let pull = matches!(protocol, Protocol::Pull | Protocol::PushPull);
    let mut out = Vec::with_capacity(trials as usize);
    for t in 0..trials {
        let mut s = mc_stream(1, protocol, n, k, seed, t);
        let mut informed = vec![false; nn];
        informed[0] = true;
        let mut count = 1;
        let mut rounds = 0u32;
        while count < nn {
            rounds += 1;
            if rounds > THEORY_ROUNDS_MAX {
                return Err(TheoryError::RoundsExceeded {
                    max: THEORY_ROUNDS_MAX,
                });
            }
            let mut next = informed.clone();
            for u in 0..nn {
                let draws = (push && informed[u]) || (pull && !informed[u]);
                if !draws {
                    continue;
                }
                for peer in s.distinct_excluding(n, k, u as u32) {
                    let peer = peer as usize;
                    if push && informed[u] {
                        next[peer] = true;
                    }
                    if pull && informed[peer] {
                        next[u] = true;
                    }
                }
            }
            informed = next;
            count = informed.iter().filter(|&&b| b).count();
        }
        out.push(rounds);
    }
    Ok(out)
}

/// Seeded Monte Carlo of the all-rumours time: every node starts with its
/// own rumour; a trial ends when every node knows all `n`. Same peer rule
/// and synchronous semantics as the simulator (messages carry the state at
/// the start of the round). `n ≤ ALL_RUMOURS_MC_NODES_MAX`.
pub fn monte_carlo_all_rumours(
    protocol: Protocol,
    n: u32,
    k: u32,
    seed: u64,
    trials: u32,
) -> Result<Vec<u32>, TheoryError> {
    check_mc(protocol, n, k, trials)?;
    if n > ALL_RUMOURS_MC_NODES_MAX {
        return Err(TheoryError::Nodes {
            nodes: n,
            max: ALL_RUMOURS_MC_NODES_MAX,
        });
    }
    let nn = n as usize;
    let words = nn.div_ceil(64);
    let full: Vec<u64> = (0..words)
        .map(|w| {
            let bits = (nn - 64 * w).min(64);
            if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            }
        })
        .collect();
    let push = matches!(protocol, Protocol::Push | Protocol::PushPull);
    let pull = matches!(protocol, Protocol::Pull | Protocol::PushPull);
    let mut out = Vec::with_capacity(trials as usize);
    for t in 0..trials {
        let mut s = mc_stream(2, protocol, n, k, seed, t);
        let mut state = vec![0u64; nn * words];
        for u in 0..nn {
            state[u * words + u / 64] |= 1u64 << (u % 64);
        }
        let mut rounds = 0u32;
        let done = |st: &[u64]| st.chunks(words).all(|row| row == full.as_slice());
        while !done(&state) {
            rounds += 1;
            if rounds > THEORY_ROUNDS_MAX {
                return Err(TheoryError::RoundsExceeded {
                    max: THEORY_ROUNDS_MAX,
                });
            }
            let old = state.clone();
            for u in 0..nn {
                for peer in s.distinct_excluding(n, k, u as u32) {
                    let peer = peer as usize;
                    for w in 0..words {
                        if push {
                            state[peer * words + w] |= old[u * words + w];
                        }
                        if pull {
                            state[u * words + w] |= old[peer * words + w];
                        }
                    }
                }
            }
        }
        out.push(rounds);
    }
    Ok(out)
}
