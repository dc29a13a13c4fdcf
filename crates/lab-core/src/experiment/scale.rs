//! Experiment 4 — scalability.
//!
//! For a range of network sizes: run Experiment 1 and record rounds to
//! convergence (against the exact finite-n expectation and the asymptotic
//! formula from [`crate::theory`]), messages, joins and bytes on the wire;
//! fit log–log slopes. Costs in time (per join, per resolve, per run) are
//! measured by the caller — the engine has no clock — on states this module
//! prepares ([`join_pair`], [`super::sweep::PreparedResolve`]).

use super::convergence::{
    impl_has_workload, run_with_workload, ConvergenceConfig, FileTensors, FineTuneParams,
    HasWorkload, ResolveMode, Workload, WorkloadKind,
};
use super::params::{protocol_field, workload_fields, Field, QueryIssue};
use crate::crdt::ContributionSet;
use crate::error::{ConfigError, LabError};
use crate::report::{Check, Report, Verdict};
use crate::sim::faults::FaultPlan;
use crate::sim::{Protocol, NODES_MAX};
use crate::theory;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Experiment name used in reports, URLs and the CLI.
pub const NAME: &str = "scale";
/// Most sizes per run.
pub const SIZES_MAX: usize = 32;

/// The configuration of a scalability run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScaleConfig {
    /// Network sizes to run.
    pub sizes: Vec<u32>,
    pub dim: u32,
    /// Independent schedules per size (averaged).
    pub orderings: u32,
    pub protocol: Protocol,
    pub fanout: u32,
    pub strategy: String,
    pub seed: u64,
    /// What the nodes contribute (as in convergence; with model files every
    /// size must be at least the number of files).
    pub workload: WorkloadKind,
    /// Parameters of the fine-tune workload (ignored otherwise).
    pub finetune: FineTuneParams,
}

impl_has_workload!(ScaleConfig);

impl Default for ScaleConfig {
    /// The seed lab's sizes (2…100), but gossiping push-pull so rounds can be
    /// compared with theory; on fine-tunes.
    fn default() -> Self {
        ScaleConfig {
            sizes: vec![2, 5, 10, 20, 30, 50, 75, 100],
            dim: 16,
            orderings: 5,
            protocol: Protocol::PushPull,
            fanout: 1,
            strategy: "weight_average".into(),
            seed: 42,
            workload: WorkloadKind::default(),
            finetune: FineTuneParams::default(),
        }
    }
}

impl ScaleConfig {
    /// The seed lab's sizes up to `max`: {2,5,10,20,30,50,75,100} ∩ [2, max].
    pub fn seed_sizes(max: u32) -> Vec<u32> {
        [2, 5, 10, 20, 30, 50, 75, 100]
            .into_iter()
            .filter(|&n| n <= max)
            .collect()
    }

    /// Experiment 1's config at size `n`.
    pub fn at(&self, n: u32) -> ConvergenceConfig {
        ConvergenceConfig {
            nodes: n,
            dim: self.dim,
            orderings: self.orderings,
            protocol: self.protocol,
            fanout: self.fanout.min(n.saturating_sub(1)).max(1),
            strategy: self.strategy.clone(),
            seed: self.seed,
            resolve: ResolveMode::OncePerState,
            workload: self.workload.clone(),
            finetune: self.finetune,
            ..ConvergenceConfig::default()
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sizes.is_empty() || self.sizes.len() > SIZES_MAX {
            return Err(ConfigError::Invalid(format!("give 1 to {SIZES_MAX} sizes")));
        }
        let mut sorted = self.sizes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted != self.sizes {
            return Err(ConfigError::Invalid(
                "sizes must be strictly increasing".into(),
            ));
        }
        for &n in &self.sizes {
            if !(2..=NODES_MAX).contains(&n) {
                return Err(ConfigError::OutOfRange {
                    name: "sizes",
                    min: 2,
                    max: NODES_MAX as u64,
                    got: n as u64,
                });
            }
            self.at(n).validate()?;
        }
        Ok(())
    }

    /// The equivalent `lab-cli` command line.
    pub fn cli_command(&self) -> String {
        format!(
            "lab-cli scale --sizes {} --dim {} --orderings {} --protocol {} --fanout {} --strategy {} --seed {}",
            format_sizes(&self.sizes),
            self.dim,
            self.orderings,
            self.protocol.name(),
            self.fanout,
            self.strategy,
            self.seed
        ) + &self.workload_flags()
    }
}

impl ScaleConfig {
    /// The config as URL query pairs (schema `v=1`).
    pub fn to_query(&self) -> Vec<(String, String)> {
        super::params::to_query(NAME, FIELDS, self)
    }

    /// Reads a config from URL query pairs. Unknown keys are ignored; every
    /// invalid value falls back to its default and is reported.
    pub fn from_query(pairs: &[(String, String)]) -> (ScaleConfig, Vec<QueryIssue>) {
        super::params::from_query(pairs, FIELDS, ScaleConfig::validate)
    }
}

/// Parses comma-separated, strictly increasing network sizes (as
/// `lab-cli scale --sizes`), e.g. `2,4,8,16`. Each size's range is checked
/// by [`ScaleConfig::validate`].
pub fn parse_sizes(text: &str) -> Result<Vec<u32>, ConfigError> {
    let sizes = text
        .split(',')
        .map(|s| s.trim().parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| ConfigError::Invalid("sizes: give comma-separated whole numbers".into()))?;
    if sizes.is_empty() || sizes.len() > SIZES_MAX {
        return Err(ConfigError::Invalid(format!("give 1 to {SIZES_MAX} sizes")));
    }
    if sizes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ConfigError::Invalid(
            "sizes must be strictly increasing".into(),
        ));
    }
    Ok(sizes)
}

/// Writes sizes in the syntax [`parse_sizes`] reads.
pub fn format_sizes(sizes: &[u32]) -> String {
    sizes
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The URL/CLI fields of the config, in display order.
pub static FIELDS: &[Field<ScaleConfig>] = workload_fields![ScaleConfig;
    Field::text(
        "sizes",
        |c| format_sizes(&c.sizes),
        |c, v| {
            c.sizes = parse_sizes(v)?;
            Ok(())
        },
    ),
    Field::u32("dim", |c| c.dim, |c, v| c.dim = v),
    Field::u32("orderings", |c| c.orderings, |c, v| c.orderings = v),
    protocol_field!(),
    Field::u32("fanout", |c| c.fanout, |c, v| c.fanout = v),
    Field::text(
        "strategy",
        |c| c.strategy.clone(),
        |c, v| {
            c.strategy = v.to_string();
            Ok(())
        },
    ),
    Field::u64("seed", |c| c.seed, |c, v| c.seed = v),
];

/// Theory for one size (gossip protocols only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Theory {
    /// Exact expected rounds for one rumour to reach everyone.
    pub one_rumour_mean: f64,
    /// Approximate expected rounds until every node's rumour is everywhere
    /// (the CRDT case), with rigorous bounds.
    pub all_rumours_estimate: f64,
    pub all_rumours_lower: f64,
    pub all_rumours_upper: f64,
    /// Leading-order asymptotic formula.
    pub asymptotic: f64,
}

/// One size's measurements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScalePoint {
    pub nodes: u32,
    pub converged: bool,
    pub rounds_mean: f64,
    pub rounds_min: u32,
    pub rounds_max: u32,
    /// Per ordering, averaged.
    pub messages_mean: f64,
    pub joins_mean: f64,
    pub metadata_bytes_mean: f64,
    pub tensor_bytes: u64,
    pub theory: Option<Theory>,
    pub state_digest: String,
    pub resolved_digest: String,
}

/// A least-squares fit of log y = a + slope · log n.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slope {
    pub quantity: String,
    pub slope: f64,
    pub points: u32,
}

/// Results of a scalability run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleResults {
    pub points: Vec<ScalePoint>,
    pub slopes: Vec<Slope>,
}

/// The report type of this experiment.
pub type ScaleReport = Report<ScaleConfig, ScaleResults>;

/// Runs one size (synthetic workloads; see [`run_point_with`]).
pub fn run_point(config: &ScaleConfig, n: u32) -> Result<ScalePoint, LabError> {
    run_point_with(config, n, None)
}

/// Runs one size on any workload: a file workload needs its loaded
/// tensors (node `i` contributes file `i mod F` at every size).
pub fn run_point_with(
    config: &ScaleConfig,
    n: u32,
    tensors: Option<&FileTensors>,
) -> Result<ScalePoint, LabError> {
    let c = config.at(n);
    c.validate()?;
    let workload = Workload::for_run(&c, &FaultPlan::default(), tensors)?;
    let report = run_with_workload(&c, Arc::new(workload), 1, &mut |_| true)?;
    let o = &report.results.orderings;
    let k = o.len() as f64;
    let mean =
        |f: &dyn Fn(&super::convergence::OrderingResult) -> f64| o.iter().map(f).sum::<f64>() / k;
    let theory = (c.protocol != Protocol::AllPairs)
        .then(|| theory_at(c.protocol, n, c.fanout))
        .flatten();
    Ok(ScalePoint {
        nodes: n,
        converged: report.verdict.passed,
        rounds_mean: mean(&|x| x.rounds as f64),
        rounds_min: o.iter().map(|x| x.rounds).min().unwrap_or(0),
        rounds_max: o.iter().map(|x| x.rounds).max().unwrap_or(0),
        messages_mean: mean(&|x| x.messages as f64),
        joins_mean: mean(&|x| x.joins as f64),
        metadata_bytes_mean: mean(&|x| x.metadata_bytes as f64),
        tensor_bytes: o.first().map_or(0, |x| x.tensor_bytes),
        theory,
        state_digest: report.results.oracle_state_digest.clone(),
        resolved_digest: report.results.oracle_resolved_digest.clone(),
    })
}

fn theory_at(protocol: Protocol, n: u32, k: u32) -> Option<Theory> {
    let one = theory::expected_rounds(protocol, n, k).ok()?;
    let all = theory::all_rumours_rounds_approx(protocol, n, k).ok()?;
    Some(Theory {
        one_rumour_mean: one.mean,
        all_rumours_estimate: all.estimate,
        all_rumours_lower: all.lower_bound,
        all_rumours_upper: all.upper_bound,
        asymptotic: theory::asymptotic_rounds(protocol, n, k).ok()?,
    })
}

/// Least-squares slope of `ln y` on `ln x` over points with `y > 0`, summed
/// in input order.
pub fn loglog_slope(points: &[(f64, f64)]) -> Option<f64> {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (libm::log(*x), libm::log(*y)))
        .collect();
    if pts.len() < 2 {
        return None;
    }
    let m = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / m, sy / m);
    let (sxy, sxx) = pts.iter().fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Builds the report from the points.
pub fn assemble(config: &ScaleConfig, points: Vec<ScalePoint>) -> ScaleReport {
    let slope = |q: &str, f: &dyn Fn(&ScalePoint) -> f64| {
        let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.nodes as f64, f(p))).collect();
        loglog_slope(&xy).map(|slope| Slope {
            quantity: q.into(),
            slope,
            points: xy.len() as u32,
        })
    };
    let slopes: Vec<Slope> = [
        slope("rounds", &|p| p.rounds_mean),
        slope("messages", &|p| p.messages_mean),
        slope("metadata bytes", &|p| p.metadata_bytes_mean),
        slope("joins", &|p| p.joins_mean),
    ]
    .into_iter()
    .flatten()
    .collect();
    let all = points.iter().all(|p| p.converged);
    let digests = points
        .iter()
        .filter(|p| !p.converged)
        .map(|p| p.nodes.to_string())
        .collect::<Vec<_>>();
    let within: Vec<String> = points
        .iter()
        .filter_map(|p| {
            let t = p.theory.as_ref()?;
            let ok = p.rounds_mean >= t.all_rumours_lower - 1.0
                && p.rounds_mean <= t.all_rumours_upper + 1.0;
            (!ok).then(|| {
                format!(
                    "n={}: {:.2} outside [{:.2}, {:.2}]",
                    p.nodes, p.rounds_mean, t.all_rumours_lower, t.all_rumours_upper
                )
            })
        })
        .collect();
    let with_theory = points.iter().filter(|p| p.theory.is_some()).count();
    let checks = vec![
        Check {
            name: "every size converges".into(),
            passed: all,
            detail: if all {
                format!("all {} sizes: every node bit-identical", points.len())
            } else {
                format!("failed at n = {}", digests.join(", "))
            },
        },
        Check {
            name: "rounds agree with gossip theory".into(),
            passed: within.is_empty(),
            detail: if with_theory == 0 {
                "no theory for the all-pairs schedule (one sequential pass)".into()
            } else if within.is_empty() {
                format!("mean rounds within the rigorous bounds (±1 round of sampling slack) at all {with_theory} sizes")
            } else {
                within.join("; ")
            },
        },
    ];
    Report::new(
        NAME,
        config.clone(),
        ScaleResults { points, slopes },
        Verdict::from_checks(checks),
    )
}

/// Runs every size natively (synthetic workloads).
pub fn run(config: &ScaleConfig) -> Result<ScaleReport, LabError> {
    run_with_tensors(config, None)
}

/// [`run`] on any workload: a file workload needs its loaded tensors.
pub fn run_with_tensors(
    config: &ScaleConfig,
    tensors: Option<&FileTensors>,
) -> Result<ScaleReport, LabError> {
    config.validate()?;
    let points = config
        .sizes
        .iter()
        .map(|&n| run_point_with(config, n, tensors))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(assemble(config, points))
}

/// Two states for timing a join at size `n`: a converged state and the
/// state of a node that has seen half of the contributions. A join costs
/// the same whatever the tensors are (rows carry digests), so these states
/// come from a 1×1 Gaussian workload, even for model files.
pub fn join_pair(config: &ScaleConfig, n: u32) -> (ContributionSet, ContributionSet) {
    let c = config.at(n);
    let w = Workload::synthetic(&ConvergenceConfig {
        dim: 1,
        workload: WorkloadKind::Gaussian,
        ..c.clone()
    });
    let mut full = ContributionSet::new();
    let mut half = ContributionSet::new();
    for i in 0..n {
        let s = w.initial_state(i, c.policy);
        full.join(&s);
        if i % 2 == 0 {
            half.join(&s);
        }
    }
    (full, half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::params::testing::{assert_fields_cover, pairs};

    #[test]
    fn fields_cover_every_config_field() {
        assert_fields_cover::<ScaleConfig>(FIELDS);
    }

    #[test]
    fn query_round_trips() {
        let d = ScaleConfig::default();
        let q = d.to_query();
        assert!(q.contains(&("sizes".into(), "2,5,10,20,30,50,75,100".into())));
        let (back, issues) = ScaleConfig::from_query(&q);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, d);
        let c = ScaleConfig {
            sizes: vec![2, 4, 8, 16],
            dim: 4,
            orderings: 2,
            protocol: Protocol::Pull,
            fanout: 3,
            strategy: "linear".into(),
            seed: 1234,
            workload: WorkloadKind::Gaussian,
            finetune: FineTuneParams {
                rank: 1,
                scale: 2.5,
                sparsity: 0.9,
                overlap: 1.0,
                noise: 0.5,
            },
        };
        assert_ne!(c, d);
        c.validate().unwrap();
        let q = c.to_query();
        assert_eq!(q[1], ("exp".into(), NAME.into()));
        let (back, issues) = ScaleConfig::from_query(&q);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(back, c);
    }

    #[test]
    fn bad_query_values_fall_back_and_name_the_key() {
        for (key, value) in [
            ("sizes", "2,x,8"),
            ("sizes", "8,4"),
            ("sizes", ""),
            ("sizes", "1,4"),
            ("orderings", "0"),
            ("strategy", "no_such_strategy"),
            ("protocol", "smoke"),
            ("workload", "files"),
            ("ft_rank", "1000"),
            ("ft_noise", "inf"),
        ] {
            let (c, issues) = ScaleConfig::from_query(&pairs(&[(key, value), ("dim", "8")]));
            assert_eq!(issues.len(), 1, "{key}={value}: {issues:?}");
            assert_eq!(issues[0].key, key, "{issues:?}");
            let field = FIELDS.iter().find(|f| f.key == key).unwrap();
            assert_eq!(field.get(&c), field.get(&ScaleConfig::default()), "{key}");
            assert_eq!(c.dim, 8);
        }
    }
}
