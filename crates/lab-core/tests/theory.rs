//! Tests of the gossip theory (`lab_core::theory`): the spec's Monte-Carlo
//! table, an independent O(n³) reference implementation, exhaustive
//! enumeration of one round at tiny n, our own seeded Monte Carlo, the
//! Doerr–Künnemann band, monotonicity, the all-rumours estimate and errors.

use lab_core::sim::Protocol;
use lab_core::theory::*;

const GOSSIP: [Protocol; 3] = [Protocol::Push, Protocol::Pull, Protocol::PushPull];

/// The spec's table (spec/simulation.md, "Gossip the lab adds"): 3,000
/// trials per cell; `(n, k, [(mean, p5, p95); push, pull, push-pull])`.
type TableRow = (u32, u32, [(f64, u32, u32); 3]);
const SPEC_TABLE: [TableRow; 6] = [
    (10, 1, [(6.07, 4, 8), (5.08, 3, 7), (3.45, 3, 4)]),
    (30, 1, [(9.22, 7, 12), (7.47, 6, 10), (5.02, 4, 6)]),
    (50, 1, [(10.51, 9, 13), (8.47, 7, 11), (5.67, 5, 7)]),
    (100, 1, [(12.29, 11, 15), (9.87, 8, 12), (6.53, 6, 7)]),
    (100, 2, [(7.38, 7, 9), (6.31, 5, 8), (4.51, 4, 5)]),
    (100, 3, [(5.66, 5, 6), (5.07, 4, 6), (3.93, 3, 5)]),
];
const SPEC_TRIALS: f64 = 3000.0;

// ---------------------------------------------------------------------------
// An independent reference: for every row, a plain sender-by-sender DP with
// binomial coefficients (O(n³)), no trimming, no walk. `replacement` draws
// the k peers independently with replacement instead (not the lab's rule;
// used only to explain the spec table's k ≥ 2 rows).

fn choose(a: usize, b: usize) -> f64 {
    if b > a {
        return 0.0;
    }
    let mut c = 1.0;
    for j in 0..b {
        c = c * (a - j) as f64 / (j + 1) as f64;
    }
    c
}

fn ref_row(protocol: Protocol, n: usize, i: usize, k: usize, replacement: bool) -> Vec<f64> {
    let pool = n - 1;
    let m = n - i;
    let q = if replacement {
        ((pool - i) as f64 / pool as f64).powi(k as i32)
    } else {
        choose(pool - i, k) / choose(pool, k)
    };
    let p = 1.0 - q;
    let binom = |t: usize, y: usize| choose(t, y) * p.powi(y as i32) * q.powi((t - y) as i32);
    if protocol == Protocol::Pull {
        return (0..=m).map(|x| binom(m, x)).collect();
    }
    // Push hits: sender by sender.
    let mut d = vec![0.0; m + 1];
    d[0] = 1.0;
    for _ in 0..i {
        let mut nd = vec![0.0; m + 1];
        for h in 0..=m {
            if d[h] == 0.0 {
                continue;
            }
            let u = m - h;
            let new: Vec<f64> = if replacement {
                // k independent picks, each new with probability (u − x)/pool.
                let mut e = vec![0.0; k + 1];
                e[0] = 1.0;
                for _ in 0..k {
                    let mut ne = vec![0.0; k + 1];
                    for x in 0..=k {
                        let pn = u.saturating_sub(x) as f64 / pool as f64;
                        ne[x] += e[x] * (1.0 - pn);
                        if x < k {
                            ne[x + 1] += e[x] * pn;
                        }
                    }
                    e = ne;
                }
                e
            } else {
                (0..=k)
                    .map(|x| choose(u, x) * choose(pool - u, k - x) / choose(pool, k))
                    .collect()
            };
            for (x, &px) in new.iter().enumerate() {
                if h + x <= m {
                    nd[h + x] += d[h] * px;
                }
            }
        }
        d = nd;
    }
    if protocol == Protocol::Push {
        return d;
    }
    let mut out = vec![0.0; m + 1];
    for (h, &w) in d.iter().enumerate() {
        for y in 0..=m - h {
            out[h + y] += w * binom(m - h, y);
        }
    }
    out
}

/// (mean, cdf[0..rounds]) of the reference chain.
fn ref_law(
    protocol: Protocol,
    n: usize,
    k: usize,
    replacement: bool,
    rounds: usize,
) -> (f64, Vec<f64>) {
    let rows: Vec<Vec<f64>> = (1..n)
        .map(|i| ref_row(protocol, n, i, k, replacement))
        .collect();
    let mut e = vec![0.0; n + 1];
    for i in (1..n).rev() {
        let r = &rows[i - 1];
        let moved: f64 = r[1..].iter().sum();
        let acc: f64 = (1..r.len()).map(|x| r[x] * e[i + x]).sum();
        e[i] = (1.0 + acc) / moved;
    }
    let mut pi = vec![0.0; n + 1];
    pi[1] = 1.0;
    let mut cdf = vec![0.0];
    for _ in 0..rounds {
        let mut nx = vec![0.0; n + 1];
        for i in 1..n {
            for (x, &v) in rows[i - 1].iter().enumerate() {
                nx[i + x] += pi[i] * v;
            }
        }
        nx[n] = 0.0;
        cdf.push(1.0 - nx.iter().sum::<f64>());
        pi = nx;
    }
    (e[1], cdf)
}

// ---------------------------------------------------------------------------
// (1) The spec's Monte-Carlo table.

/// Every mean of the spec table lies within 3.5 standard errors of the exact
/// mean (SE = exact σ / √3000; plus 0.005 for the table's rounding). 3.5 SE
/// rather than 3: 18 cells are compared at once, and at 3.5 SE the chance of
/// a false alarm somewhere is below 1%. The largest deviations observed are
/// pull n=100 k=1 (+3.1 SE) and the k ≥ 2 rows, which all sit 1–3 SE *above*
/// the exact distinct-peer values (see the next test).
#[test]
fn spec_table_means_within_sampling_error() {
    let mut worst: f64 = 0.0;
    for (n, k, cells) in SPEC_TABLE {
        for (protocol, (mean, _, _)) in GOSSIP.into_iter().zip(cells) {
            let d = expected_rounds(protocol, n, k).unwrap();
            let se = d.std_dev / SPEC_TRIALS.sqrt();
            let z = (mean - d.mean) / se;
            worst = worst.max(z.abs());
            println!(
                "n={n:4} k={k} {:9}: table {mean:6.2}  exact {:8.4}  σ {:.3}  z {z:+.2}",
                protocol.name(),
                d.mean,
                d.std_dev
            );
            assert!(
                (mean - d.mean).abs() <= 3.5 * se + 0.005,
                "{} n={n} k={k}: table {mean} vs exact {} (z = {z:.2})",
                protocol.name(),
                d.mean
            );
        }
    }
    assert!(worst > 0.0);
}

/// The k ≥ 2 rows of the spec table deviate from the lab's rule (k
/// *distinct* peers) in one direction; drawing the k peers *with
/// replacement* explains them much better (sum of squared z-scores). This
/// documents a finding about the table, not a property of the lab.
#[test]
fn spec_table_k_ge_2_rows_look_like_sampling_with_replacement() {
    let (mut chi_distinct, mut chi_replacement) = (0.0, 0.0);
    for (n, k, cells) in SPEC_TABLE.into_iter().filter(|c| c.1 >= 2) {
        for (protocol, (mean, _, _)) in GOSSIP.into_iter().zip(cells) {
            let exact = expected_rounds(protocol, n, k).unwrap();
            let se = exact.std_dev / SPEC_TRIALS.sqrt();
            let (with_repl, _) = ref_law(protocol, n as usize, k as usize, true, 0);
            chi_distinct += ((mean - exact.mean) / se).powi(2);
            chi_replacement += ((mean - with_repl) / se).powi(2);
            // Sampling with replacement repeats contacts, so it is slower.
            assert!(with_repl > exact.mean);
        }
    }
    println!("Σz² over the 6 cells with k ≥ 2: distinct {chi_distinct:.1}, with replacement {chi_replacement:.1}");
    assert!(chi_replacement < chi_distinct / 3.0);
}

/// The table's percentiles agree with the exact law: the table's p5 = r is
/// accepted when P(T ≤ r) ≥ 0.05 − δ and P(T ≤ r − 1) ≤ 0.05 + δ (same for
/// p95), δ = 3.5·√(0.05·0.95/3000) — the sampling error of an empirical
/// quantile's level. One entry cannot be matched by any model: push-pull
/// n=100 k=3 lists p95 = 5, but P(T ≥ 5) is 0.0005 (and with p5 = 3 and
/// T ≥ 5 for 5% of the trials the mean would be ≥ 3.98, not 3.93): the
/// table's own mean contradicts it.
#[test]
fn spec_table_percentiles_consistent() {
    let delta = 3.5 * (0.05f64 * 0.95 / SPEC_TRIALS).sqrt();
    for (n, k, cells) in SPEC_TABLE {
        for (protocol, (_, p5, p95)) in GOSSIP.into_iter().zip(cells) {
            let d = expected_rounds(protocol, n, k).unwrap();
            let cdf = |r: u32| d.cdf.get(r as usize).copied().unwrap_or(1.0);
            let below = |r: u32| if r == 0 { 0.0 } else { cdf(r - 1) };
            let ok = |r: u32, level: f64| cdf(r) >= level - delta && below(r) <= level + delta;
            assert!(
                ok(p5, 0.05),
                "{} n={n} k={k}: p5 {p5} vs exact {}",
                protocol.name(),
                d.p5
            );
            if (protocol, n, k) == (Protocol::PushPull, 100, 3) {
                assert_eq!(d.p95, 4);
                assert!(1.0 - cdf(4) < 1e-3);
                continue;
            }
            assert!(
                ok(p95, 0.95),
                "{} n={n} k={k}: p95 {p95} vs exact {}",
                protocol.name(),
                d.p95
            );
        }
    }
}

// ---------------------------------------------------------------------------
// (2) Independent checks of the exact chain.

/// The walk (add a sender / drop a marked node) gives the same law as the
/// plain per-row sender DP, for every protocol and small n, k.
#[test]
fn matches_independent_reference_implementation() {
    for protocol in GOSSIP {
        for n in [2usize, 3, 4, 5, 7, 10, 23, 40] {
            for k in 1..=3.min(n - 1) {
                let d = expected_rounds(protocol, n as u32, k as u32).unwrap();
                let (mean, cdf) = ref_law(protocol, n, k, false, d.cdf.len() - 1);
                assert!(
                    (d.mean - mean).abs() <= 1e-10 * mean,
                    "{} n={n} k={k}: {} vs {mean}",
                    protocol.name(),
                    d.mean
                );
                for (r, (a, b)) in d.cdf.iter().zip(&cdf).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-11,
                        "{} n={n} k={k} r={r}: {a} vs {b}",
                        protocol.name()
                    );
                }
            }
        }
    }
}

/// All k-subsets of `0..n` minus `me`.
fn subsets(n: usize, k: usize, me: usize) -> Vec<Vec<usize>> {
    let others: Vec<usize> = (0..n).filter(|&x| x != me).collect();
    let mut out = Vec::new();
    let mut idx: Vec<usize> = (0..k).collect();
    loop {
        out.push(idx.iter().map(|&j| others[j]).collect());
        let mut j = k;
        while j > 0 && idx[j - 1] == others.len() - k + j - 1 {
            j -= 1;
        }
        if j == 0 {
            return out;
        }
        idx[j - 1] += 1;
        for l in j..k {
            idx[l] = idx[l - 1] + 1;
        }
    }
}

/// One round, enumerated exhaustively: informed nodes `0..i`; every node
/// whose choice matters runs through all its k-subsets. Exact counts.
fn enumerate_row(protocol: Protocol, n: usize, i: usize, k: usize) -> Vec<f64> {
    let push = protocol != Protocol::Pull;
    let pull = protocol != Protocol::Push;
    let choosers: Vec<usize> = (0..n)
        .filter(|&u| (push && u < i) || (pull && u >= i))
        .collect();
    let options: Vec<Vec<Vec<usize>>> = choosers.iter().map(|&u| subsets(n, k, u)).collect();
    let mut counts = vec![0u64; n - i + 1];
    let mut digit = vec![0usize; choosers.len()];
    loop {
        let mut informed: Vec<bool> = (0..n).map(|u| u < i).collect();
        for (c, &u) in choosers.iter().enumerate() {
            for &peer in &options[c][digit[c]] {
                if push && u < i {
                    informed[peer] = true;
                }
                if pull && u >= i && peer < i {
                    informed[u] = true;
                }
            }
        }
        counts[informed.iter().filter(|&&b| b).count() - i] += 1;
        let mut c = 0;
        while c < digit.len() {
            digit[c] += 1;
            if digit[c] < options[c].len() {
                break;
            }
            digit[c] = 0;
            c += 1;
        }
        if c == digit.len() {
            break;
        }
    }
    let total: u64 = counts.iter().sum();
    counts.iter().map(|&c| c as f64 / total as f64).collect()
}

/// Every transition row equals exhaustive enumeration of all peer choices.
#[test]
fn transition_rows_match_exhaustive_enumeration() {
    let cases: &[(Protocol, usize, usize)] = &[
        (Protocol::Push, 5, 1),
        (Protocol::Push, 5, 2),
        (Protocol::Push, 6, 2),
        (Protocol::Push, 6, 3),
        (Protocol::Pull, 5, 2),
        (Protocol::Pull, 6, 2),
        (Protocol::Pull, 6, 3),
        (Protocol::PushPull, 5, 1),
        (Protocol::PushPull, 5, 2),
        (Protocol::PushPull, 5, 3),
        (Protocol::PushPull, 6, 1),
        (Protocol::PushPull, 7, 1),
    ];
    for &(protocol, n, k) in cases {
        let rows = transition_rows(protocol, n as u32, k as u32).unwrap();
        assert_eq!(rows.len(), n - 1);
        for row in &rows {
            let i = row.informed as usize;
            let exact = enumerate_row(protocol, n, i, k);
            for (x, &e) in exact.iter().enumerate() {
                let got = x
                    .checked_sub(row.first_new as usize)
                    .and_then(|o| row.probs.get(o))
                    .copied()
                    .unwrap_or(0.0);
                assert!(
                    (got - e).abs() < 1e-13,
                    "{} n={n} k={k} i={i} x={x}: {got} vs {e}",
                    protocol.name()
                );
            }
        }
    }
}

/// Our own seeded Monte Carlo (the simulator's peer rule) against the exact
/// law: z-test of the mean (|z| < 4), every CDF value within 4 binomial
/// standard errors (+1e-3), and p5/p95 equal unless the exact CDF is within
/// that error of the level.
#[test]
fn monte_carlo_agrees_with_exact_law() {
    let trials = 20_000u32;
    for &(n, k) in &[(12u32, 1u32), (16, 3)] {
        for protocol in GOSSIP {
            let exact = expected_rounds(protocol, n, k).unwrap();
            let runs = monte_carlo_rounds(protocol, n, k, 2024, trials).unwrap();
            let t = trials as f64;
            let mean = runs.iter().map(|&r| r as f64).sum::<f64>() / t;
            let z = (mean - exact.mean) / (exact.std_dev / t.sqrt());
            println!(
                "n={n} k={k} {:9}: MC {mean:.4}  exact {:.4}  z {z:+.2}",
                protocol.name(),
                exact.mean
            );
            assert!(z.abs() < 4.0, "{} n={n} k={k}: z = {z}", protocol.name());
            let mut sorted = runs.clone();
            sorted.sort_unstable();
            for (r, &f) in exact.cdf.iter().enumerate().take(40) {
                let emp = sorted.partition_point(|&x| x as usize <= r) as f64 / t;
                let tol = 4.0 * (f * (1.0 - f) / t).sqrt() + 1e-3;
                assert!(
                    (emp - f).abs() <= tol,
                    "{} n={n} k={k} r={r}: {emp} vs {f}",
                    protocol.name()
                );
            }
            for (level, q) in [(0.05, exact.p5), (0.95, exact.p95)] {
                let emp_q = sorted[((level * t) as usize).saturating_sub(1)];
                let near = |r: u32| {
                    (exact.cdf[r as usize] - level).abs() < 4.0 * (level * (1.0 - level) / t).sqrt()
                };
                assert!(
                    emp_q == q || near(q) || (q > 0 && near(q - 1)),
                    "{} n={n} k={k}: empirical quantile {emp_q} vs {q}",
                    protocol.name()
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// (3) The Frieze–Grimmett / Doerr–Künnemann band.

#[test]
fn push_k1_mean_inside_band_up_to_1000() {
    let ns = (2..=256).chain([300, 383, 500, 511, 512, 513, 640, 777, 900, 999, 1000]);
    for n in ns {
        let d = expected_rounds(Protocol::Push, n, 1).unwrap();
        let (lo, hi) = push_band(n);
        assert!(
            lo <= d.mean && d.mean <= hi,
            "n={n}: {lo} ≤ {} ≤ {hi} fails",
            d.mean
        );
    }
    // The band's centre line: log2 n + ln n stays within O(1) of the mean.
    let d = expected_rounds(Protocol::Push, 1000, 1).unwrap();
    let a = asymptotic_rounds(Protocol::Push, 1000, 1).unwrap();
    assert!((d.mean - a).abs() < 2.0, "{} vs {a}", d.mean);
}

// ---------------------------------------------------------------------------
// (4) Monotonicity and structure.

#[test]
fn monotone_in_n_and_k() {
    for protocol in GOSSIP {
        let mut prev = 0.0;
        for n in (2..=60).chain([80, 100, 150, 200, 300]) {
            let d = expected_rounds(protocol, n, 1).unwrap();
            assert!(
                d.mean > prev,
                "{} n={n}: {} ≤ {prev}",
                protocol.name(),
                d.mean
            );
            prev = d.mean;
        }
        for n in [10u32, 64, 200] {
            let mut prev = f64::INFINITY;
            for k in 1..=8 {
                let d = expected_rounds(protocol, n, k).unwrap();
                assert!(
                    d.mean < prev,
                    "{} n={n} k={k}: {} ≥ {prev}",
                    protocol.name(),
                    d.mean
                );
                prev = d.mean;
            }
        }
        // Push-pull is the fastest, push the slowest (k = 1).
        for n in [10u32, 100, 500] {
            let push = expected_rounds(Protocol::Push, n, 1).unwrap().mean;
            let pull = expected_rounds(Protocol::Pull, n, 1).unwrap().mean;
            let pp = expected_rounds(Protocol::PushPull, n, 1).unwrap().mean;
            assert!(pp < pull && pull < push, "n={n}: {pp} {pull} {push}");
        }
    }
}

#[test]
fn degenerate_cases_are_exact() {
    for protocol in GOSSIP {
        // n = 2: the other node is reached in the first round.
        let d = expected_rounds(protocol, 2, 1).unwrap();
        assert_eq!(d.mean, 1.0);
        assert_eq!(d.cdf, vec![0.0, 1.0]);
        // k = n − 1: everyone talks to everyone; one round.
        let d = expected_rounds(protocol, 30, 29).unwrap();
        assert!((d.mean - 1.0).abs() < 1e-12);
        assert_eq!((d.p5, d.median, d.p95), (1, 1, 1));
    }
    // Push, n = 3, k = 1: round 1 informs one more; then each round the
    // last node is missed by both senders with probability 1/4: E = 1 + 4/3.
    let d = expected_rounds(Protocol::Push, 3, 1).unwrap();
    assert!((d.mean - (1.0 + 4.0 / 3.0)).abs() < 1e-14, "{}", d.mean);
}

#[test]
fn law_is_consistent_and_serialisable() {
    for protocol in GOSSIP {
        for &(n, k) in &[(50u32, 1u32), (300, 2), (1000, 1)] {
            let d = expected_rounds(protocol, n, k).unwrap();
            assert_eq!(d.cdf[0], 0.0);
            assert!(d.cdf.windows(2).all(|w| w[0] <= w[1]));
            assert!(1.0 - d.cdf.last().unwrap() < 10.0 * CDF_TAIL);
            let from_law: f64 = d.cdf.iter().map(|c| 1.0 - c).sum();
            assert!(
                (from_law - d.mean).abs() < 1e-9,
                "{} vs {}",
                from_law,
                d.mean
            );
            assert!(d.p5 <= d.median && d.median <= d.p95);
            assert_eq!(d.quantile(0.05), d.p5);
            let again = expected_rounds(protocol, n, k).unwrap();
            assert_eq!(d.mean.to_bits(), again.mean.to_bits());
            let json = serde_json::to_string(&d).unwrap();
            let back: RoundsDistribution = serde_json::from_str(&json).unwrap();
            assert_eq!(back, d);
        }
    }
    let rows = transition_rows(Protocol::PushPull, 200, 2).unwrap();
    for r in &rows {
        let s: f64 = r.probs.iter().sum();
        assert!((s - 1.0).abs() < 1e-13);
        assert!(r.first_new as usize + r.probs.len() - 1 <= 200 - r.informed as usize);
    }
}

#[test]
fn asymptotic_formulas() {
    let ln = |x: f64| x.ln();
    for n in [10u32, 100, 1000, 10_000] {
        let nf = n as f64;
        let push = asymptotic_rounds(Protocol::Push, n, 1).unwrap();
        assert!((push - (nf.log2() + ln(nf))).abs() < 1e-12);
        let pp = asymptotic_rounds(Protocol::PushPull, n, 1).unwrap();
        assert!((pp - (ln(nf) / ln(3.0) + ln(nf).ln() / ln(2.0))).abs() < 1e-12);
        let pull = asymptotic_rounds(Protocol::Pull, n, 1).unwrap();
        assert!((pull - (nf.log2() + ln(nf).log2())).abs() < 1e-12);
        let push3 = asymptotic_rounds(Protocol::Push, n, 3).unwrap();
        assert!((push3 - (ln(nf) / ln(4.0) + ln(nf) / 3.0)).abs() < 1e-12);
    }
    // The exact means stay within a couple of rounds of the leading terms.
    for protocol in GOSSIP {
        for &(n, k) in &[(100u32, 1u32), (1000, 1), (1000, 2), (1000, 4)] {
            let e = expected_rounds(protocol, n, k).unwrap().mean;
            let a = asymptotic_rounds(protocol, n, k).unwrap();
            assert!(
                (e - a).abs() < 2.0,
                "{} n={n} k={k}: exact {e} vs asymptotic {a}",
                protocol.name()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// All rumours (the CRDT convergence case).

/// The measured all-rumours time respects the rigorous bounds, the estimate
/// is within 0.12 rounds of it (its p5/p95 within one round of the measured
/// ones), and push and pull have the same law (time reversal) — checked on
/// their means.
#[test]
fn all_rumours_estimate_against_monte_carlo() {
    let cases = [
        (10u32, 1u32, 3000u32),
        (40, 1, 1000),
        (60, 2, 600),
        (100, 1, 300),
    ];
    for &(n, k, trials) in &cases {
        let mut push_pull_means = Vec::new();
        for protocol in GOSSIP {
            let a = all_rumours_rounds_approx(protocol, n, k).unwrap();
            let runs = monte_carlo_all_rumours(protocol, n, k, 99, trials).unwrap();
            let t = trials as f64;
            let mean = runs.iter().map(|&r| r as f64).sum::<f64>() / t;
            let var = runs.iter().map(|&r| (r as f64 - mean).powi(2)).sum::<f64>() / (t - 1.0);
            let se = (var / t).sqrt();
            let mut sorted = runs.clone();
            sorted.sort_unstable();
            let (p5, p95) = (
                sorted[(trials / 20) as usize],
                sorted[(trials * 19 / 20) as usize],
            );
            println!(
                "n={n} k={k} {:9}: MC {mean:.3} ± {se:.3} [{p5}, {p95}]   lower {:.3}  estimate {:.3} [{}, {}]  upper {:.3}",
                protocol.name(),
                a.lower_bound,
                a.estimate,
                a.estimate_p5,
                a.estimate_p95,
                a.upper_bound
            );
            assert!(a.estimate_p5.abs_diff(p5) <= 1 && a.estimate_p95.abs_diff(p95) <= 1);
            assert!(a.lower_bound <= a.estimate && a.estimate <= a.upper_bound);
            assert!(a.lower_bound <= mean + 4.0 * se && mean <= a.upper_bound + 4.0 * se);
            assert!(
                (a.estimate - mean).abs() < 0.12 + 3.0 * se,
                "estimate {} vs MC {mean}",
                a.estimate
            );
            if protocol != Protocol::PushPull {
                push_pull_means.push((mean, se));
            }
        }
        let ((m1, s1), (m2, s2)) = (push_pull_means[0], push_pull_means[1]);
        assert!(
            (m1 - m2).abs() < 4.0 * (s1 * s1 + s2 * s2).sqrt(),
            "push {m1} vs pull {m2}"
        );
        let push = all_rumours_rounds_approx(Protocol::Push, n, k).unwrap();
        let pull = all_rumours_rounds_approx(Protocol::Pull, n, k).unwrap();
        assert_eq!(
            (push.lower_bound, push.estimate, push.upper_bound),
            (pull.lower_bound, pull.estimate, pull.upper_bound)
        );
    }
}

// ---------------------------------------------------------------------------
// (5) Errors and determinism.

#[test]
fn errors_are_typed() {
    assert!(matches!(
        expected_rounds(Protocol::AllPairs, 10, 1),
        Err(TheoryError::NotGossip(_))
    ));
    assert!(matches!(
        asymptotic_rounds(Protocol::AllPairs, 10, 1),
        Err(TheoryError::NotGossip(_))
    ));
    assert!(matches!(
        all_rumours_rounds_approx(Protocol::AllPairs, 10, 1),
        Err(TheoryError::NotGossip(_))
    ));
    for n in [0, 1, THEORY_NODES_MAX + 1] {
        assert!(matches!(
            expected_rounds(Protocol::Push, n, 1),
            Err(TheoryError::Nodes { .. })
        ));
    }
    for (n, k) in [(10, 0), (10, 10), (10, 11), (1000, THEORY_FANOUT_MAX + 1)] {
        assert!(matches!(
            expected_rounds(Protocol::Pull, n, k),
            Err(TheoryError::Fanout { .. })
        ));
        assert!(matches!(
            transition_rows(Protocol::Pull, n, k),
            Err(TheoryError::Fanout { .. })
        ));
    }
    assert!(matches!(
        monte_carlo_rounds(Protocol::Push, 10, 1, 0, 0),
        Err(TheoryError::Trials { .. })
    ));
    assert!(matches!(
        monte_carlo_rounds(Protocol::Push, 10, 1, 0, MONTE_CARLO_TRIALS_MAX + 1),
        Err(TheoryError::Trials { .. })
    ));
    assert!(matches!(
        monte_carlo_all_rumours(Protocol::Push, ALL_RUMOURS_MC_NODES_MAX + 1, 1, 0, 1),
        Err(TheoryError::Nodes { .. })
    ));
    assert!(matches!(
        monte_carlo_rounds(Protocol::AllPairs, 10, 1, 0, 1),
        Err(TheoryError::NotGossip(_))
    ));
    // Limits are accepted exactly at the boundary.
    assert!(expected_rounds(Protocol::Push, 2, 1).is_ok());
    assert!(expected_rounds(Protocol::Push, 65, THEORY_FANOUT_MAX).is_ok());
}

#[test]
fn monte_carlo_is_seeded() {
    let a = monte_carlo_rounds(Protocol::PushPull, 20, 2, 5, 50).unwrap();
    let b = monte_carlo_rounds(Protocol::PushPull, 20, 2, 5, 50).unwrap();
    let c = monte_carlo_rounds(Protocol::PushPull, 20, 2, 6, 50).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let a = monte_carlo_all_rumours(Protocol::Pull, 20, 1, 5, 20).unwrap();
    assert_eq!(
        a,
        monte_carlo_all_rumours(Protocol::Pull, 20, 1, 5, 20).unwrap()
    );
}

/// Timing at the sizes the lab uses. Run with
/// `cargo test -p lab-core --release --test theory -- --ignored --nocapture`.
#[test]
#[ignore]
fn runtime_report() {
    for n in [1_000u32, 10_000] {
        for k in [1u32, 3] {
            for protocol in GOSSIP {
                let t0 = std::time::Instant::now();
                let d = expected_rounds(protocol, n, k).unwrap();
                let dt = t0.elapsed();
                println!(
                    "n={n:5} k={k} {:9}: mean {:.4} [{}, {}]  asymptotic {:.3}  {:?}",
                    protocol.name(),
                    d.mean,
                    d.p5,
                    d.p95,
                    asymptotic_rounds(protocol, n, k).unwrap(),
                    dt
                );
            }
        }
    }
    let t0 = std::time::Instant::now();
    let a = all_rumours_rounds_approx(Protocol::Push, 10_000, 1).unwrap();
    println!("all-rumours push n=10000: {a:?} in {:?}", t0.elapsed());
}
