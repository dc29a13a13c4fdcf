//! `lab-cli trust` (experiment E4: signed contributions, PCOs, evidence,
//! Byzantine peers) and `lab-cli pco-bench` (PCO build/verify throughput,
//! real Ed25519).

use crate::invalid;
use crate::workload::{describe, print_files, WorkloadArgs};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::trust::{
    parse_protocol, parse_trust_phases, run_with_tensors, Behaviour, TrustConfig, TrustFaults,
    TrustReport, FIELDS,
};
use lab_core::report::Execution;
use lab_core::trust::bench::{Fixture, Measurement, Work};
use lab_core::trust::Level;
use lab_core::LabError;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Instant;

/// Arguments of `lab-cli trust`.
#[derive(clap::Args, Debug)]
pub struct TrustArgs {
    /// Roster members, honest and Byzantine (3…200).
    #[arg(long, default_value_t = 10)]
    nodes: u32,
    /// Tensor side: each contribution is a dim×dim tensor (1…64).
    #[arg(long, default_value_t = 8)]
    dim: u32,
    /// Members that sign two different tensors for one (model id, version).
    #[arg(long, default_value_t = 1)]
    equivocators: u32,
    /// Members whose tensor bytes do not match the signed digest.
    #[arg(long, default_value_t = 1)]
    corrupters: u32,
    /// Members that sign as another member with their own key.
    #[arg(long, default_value_t = 1)]
    forgers: u32,
    /// Members that re-send every operation they hold, every round.
    #[arg(long, default_value_t = 1)]
    replayers: u32,
    /// Members that send from identities outside the roster (Sybils).
    #[arg(long, default_value_t = 1)]
    outsiders: u32,
    /// Members that stop gossiping after round 1.
    #[arg(long, default_value_t = 1)]
    silent: u32,
    /// Byzantine members as a share of the roster instead of counts:
    /// round(F × nodes) members dealt over --mix (the counts, not F, are
    /// what the report records).
    #[arg(long, value_name = "F", conflicts_with_all = ["equivocators", "corrupters", "forgers", "replayers", "outsiders", "silent"])]
    byzantine_fraction: Option<f64>,
    /// With --byzantine-fraction: the behaviours to deal the members over,
    /// comma-separated, or all.
    #[arg(long, default_value = "all", requires = "byzantine_fraction")]
    mix: String,
    /// push, pull or push-pull.
    #[arg(long, default_value = "push-pull")]
    protocol: String,
    /// Peers each node contacts per round (below the node count).
    #[arg(long, default_value_t = 2)]
    fanout: u32,
    /// Seed of every random choice and every key (0 … 2^53−1).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Give up after this many rounds (1…1,000).
    #[arg(long, default_value_t = 100)]
    rounds_max: u32,
    /// Merge strategy (Layer 2), e.g. weight_average.
    #[arg(long, default_value = "weight_average")]
    strategy: String,
    /// Also run the reference-semantics contrast model (clearly labelled).
    #[arg(long)]
    reference_contrast: bool,
    /// Partition phases, e.g. mod:2@1-20,halves@30-40 (shapes halves,
    /// groups:K, mod:K, isolated:NODE, minority:M, bridge, asymmetric;
    /// start-heal in rounds from 1), or none. A heal after --rounds-max is
    /// allowed and fails the verdict.
    #[arg(long, default_value = "none")]
    phases: String,
    /// Probability a message is lost (0 ≤ p < 1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Probability a message is delivered twice (0…1).
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// Each message copy is delayed by 0…N rounds (0…64).
    #[arg(long, default_value_t = 0)]
    delay_max: u32,
    /// Message faults apply in rounds 1 … N−1 (0: every round).
    #[arg(long, default_value_t = 0)]
    link_until: u32,
    /// The members' tensors: --workload finetune (default) or gaussian and
    /// the --ft-* parameters, or real weights (--weights A B … --tensor NAME
    /// [--base FILE] [--rows S..E | --elements S..E]): member i contributes
    /// file i mod F, and Byzantine members derive their poisoned tensors
    /// from the files' tensors.
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Print the schema-1 JSON report instead of a table.
    #[arg(long)]
    json: bool,
}

/// Arguments of `lab-cli pco-bench`.
#[derive(clap::Args, Debug)]
pub struct PcoBenchArgs {
    /// Seconds to measure each row (0.01…60).
    #[arg(long, default_value_t = 0.3)]
    seconds: f64,
    /// PCOs per batch for batch verification (1…4,096).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Print a schema-1 style JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

impl TrustArgs {
    /// The config and, with --weights, the loaded tensors; `Err` is the
    /// exit code to stop with (2, the reason printed, or the common tensors
    /// listed).
    fn ready(&self) -> Result<(TrustConfig, Option<FileTensors>), ExitCode> {
        let mut c = self.config().map_err(invalid)?;
        let tensors = self
            .workload
            .ready(None::<&[_]>, &mut c, TrustConfig::validate)?;
        Ok((c, tensors))
    }

    fn config(&self) -> Result<TrustConfig, String> {
        let protocol = parse_protocol(&self.protocol).map_err(|e| format!("--protocol: {e}"))?;
        let mut c = TrustConfig {
            nodes: self.nodes,
            dim: self.dim,
            equivocators: self.equivocators,
            corrupters: self.corrupters,
            forgers: self.forgers,
            replayers: self.replayers,
            outsiders: self.outsiders,
            silent: self.silent,
            protocol,
            fanout: self.fanout,
            seed: self.seed,
            rounds_max: self.rounds_max,
            strategy: self.strategy.clone(),
            reference_contrast: self.reference_contrast,
            faults: TrustFaults {
                phases: parse_trust_phases(&self.phases).map_err(|e| format!("--phases: {e}"))?,
                loss: self.loss,
                duplicate: self.duplicate,
                delay_max: self.delay_max,
                link_until: self.link_until,
            },
            ..TrustConfig::default()
        };
        self.workload.synthetic.apply(FIELDS, &mut c)?;
        if let Some(fraction) = self.byzantine_fraction {
            let mix = Behaviour::parse_mix(&self.mix).map_err(|e| format!("--mix: {e}"))?;
            c.set_byzantine_fraction(fraction, &mix)
                .map_err(|e| format!("--byzantine-fraction: {e}"))?;
        }
        Ok(c)
    }
}

/// Runs `lab-cli trust`: exit 0 verdict holds, 1 fails, 2 invalid input.
pub fn run_trust(args: &TrustArgs) -> ExitCode {
    let (config, tensors) = match args.ready() {
        Ok(ready) => ready,
        Err(code) => return code,
    };
    let started = Instant::now();
    let mut report = match run_with_tensors(&config, tensors.as_ref()) {
        Ok(r) => r,
        Err(LabError::Config(e)) => return invalid(e),
        Err(e) => return invalid(e),
    };
    report.execution = Some(crate::native_execution(1, started, Vec::new()));
    crate::finish(&report, args.json, print_table)
}

fn print_table(r: &TrustReport) {
    let c = &r.config;
    let res = &r.results;
    println!(
        "Experiment E4 — trust: {} members ({} honest), {}, protocol {} (fan-out {}), strategy {}, seed {}",
        c.nodes, res.honest_nodes, describe(&c.workload, &c.finetune, c.dim), c.protocol.name(), c.fanout, c.strategy, c.seed
    );
    print_files(&c.workload);
    println!(
        "Byzantine: {} equivocator, {} corrupter, {} forger, {} replayer, {} outsider, {} silent",
        c.equivocators, c.corrupters, c.forgers, c.replayers, c.outsiders, c.silent
    );
    for i in c.fault_intervals() {
        println!(
            "fault: {} ({}) rounds {}…{}",
            i.kind,
            i.label,
            i.start,
            i.end.saturating_sub(1)
        );
    }
    println!(
        "rounds: honest nodes agreed after round {} ({} run, converged: {}); {} messages, {} operations and {} evidence records sent",
        res.rounds,
        res.rounds_run,
        if res.converged { "yes" } else { "NO" },
        res.messages,
        res.ops_sent,
        res.evidence_sent
    );
    println!(
        "verification: {} signed ops in {} batches; {} PCOs verified ({} applied, {} quarantined) — Ed25519",
        res.ops_verified, res.op_batches, res.pcos_verified, res.pcos_applied, res.pcos_quarantined
    );
    println!();
    println!(
        "{:>5} {:<12} {:>9} {:>10} {:>8}  note",
        "node", "behaviour", "evidence?", "detected", "latency"
    );
    for d in &res.detection {
        println!(
            "{:>5} {:<12} {:>9} {:>10} {:>8}  {}",
            d.node,
            d.behaviour.name(),
            if d.produces_evidence { "yes" } else { "no" },
            format!("{}/{}", d.detected_by, res.honest_nodes),
            d.latency_rounds
                .map(|l| format!("{l} r"))
                .unwrap_or_else(|| "—".into()),
            d.note
        );
    }
    println!();
    println!("detection latency per behaviour (rounds until every honest node holds evidence):");
    for b in Behaviour::BYZANTINE {
        let ds: Vec<_> = res.detection.iter().filter(|d| d.behaviour == b).collect();
        if ds.is_empty() {
            continue;
        }
        let lat = if b.produces_evidence() {
            let ls: Vec<u32> = ds.iter().filter_map(|d| d.latency_rounds).collect();
            if ls.len() == ds.len() {
                format!("max {} round(s)", ls.iter().max().unwrap_or(&0))
            } else {
                format!("{} of {} detected", ls.len(), ds.len())
            }
        } else {
            "no evidence (nothing provable)".into()
        };
        println!("  {:<12} {}", b.name(), lat);
    }
    println!();
    println!("false accusations:        {}", res.false_accusations);
    println!(
        "honest trust roots:       {} distinct ({})",
        res.trust_roots.len(),
        res.trust_roots
            .iter()
            .map(|s| &s[..16])
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("max trust divergence:     {}", res.max_trust_divergence);
    println!(
        "honest resolved models:   {} distinct trust-weighted digest(s); {} distinct unweighted",
        res.resolved_digests.len(),
        res.unweighted_digests.len()
    );
    println!("excluded from the merge:  {:?}", res.excluded);
    println!(
        "deviation from honest-only ({} contributions): {:.4e} with trust weighting, {:.4e} without",
        res.reference_members, res.deviation_weighted, res.deviation_unweighted
    );
    let d = &res.drops;
    println!(
        "dropped (honest nodes, no evidence): bad signature {}, outsider {}, replay {}, bad evidence {}, malformed {}, unbound claims {}, missing history {}, causality {}, distrusted {}, quarantined {}, relay-corrupted {}, in-inbox duplicates {}",
        d.bad_signature,
        d.unknown_identity,
        d.replayed,
        d.bad_evidence,
        d.malformed,
        d.unbound_claims,
        d.missing_history,
        d.causality,
        d.distrusted,
        d.quarantined,
        d.relay_corrupted,
        d.duplicate_in_inbox
    );
    if let Some(rc) = &res.reference_contrast {
        println!();
        println!("{}", rc.label);
        println!(
            "  {} nodes, {} all-to-all orders: with homeostasis {} distinct roots, max divergence {:.3}; without {} distinct, max {:.3}",
            rc.nodes,
            rc.orders,
            rc.distinct_roots_homeostasis,
            rc.max_divergence_homeostasis,
            rc.distinct_roots_plain,
            rc.max_divergence_plain
        );
    }
    println!();
    crate::print_checks(&r.verdict);
    println!();
    println!(
        "verdict:     {}",
        if r.verdict.passed {
            "HOLDS — no false accusations, identical trust roots and models, every provable offence detected"
        } else {
            "FAILED"
        }
    );
    println!("fingerprint: {}", r.fingerprint);
    if let Some(e) = &r.execution {
        println!("time:        {:.1} ms (native)", e.total_ms);
    }
}

// ---------------------------------------------------------------------------
// pco-bench

/// One measured row.
#[derive(Serialize, Debug, Clone)]
struct BenchRow {
    /// "Ed25519" or "no signature (comparison only)".
    label: String,
    /// "build" or "verify".
    operation: String,
    /// Verification level 0–3 (None for build).
    level: Option<u8>,
    /// "single" or "batch".
    mode: String,
    /// Threads that ran it concurrently.
    threads: usize,
    /// Operations completed.
    count: u64,
    seconds: f64,
    per_second: f64,
}

#[derive(Serialize)]
struct BenchConfig {
    seconds: f64,
    batch: usize,
    threads_available: usize,
}

#[derive(Serialize)]
struct BenchReport {
    schema: u32,
    experiment: String,
    lab_version: String,
    config: BenchConfig,
    results: Vec<BenchRow>,
    execution: Execution,
}

/// Runs `work` for about `seconds`, returns (operations, seconds). The
/// fixture and the unit of work live in `lab_core::trust::bench` (the
/// browser's workers run the same chunks a fixed number of times).
fn measure(fx: &Fixture, work: Work, seconds: f64) -> (u64, f64) {
    let mut m = Measurement::new(fx, work);
    let mut done = 0u64;
    let started = Instant::now();
    loop {
        // A chunk of work between clock reads.
        done += m.chunk();
        let el = started.elapsed().as_secs_f64();
        if el >= seconds {
            return (done, el);
        }
    }
}

/// Runs `pco-bench`.
pub fn run_pco_bench(args: &PcoBenchArgs) -> ExitCode {
    if !(args.seconds.is_finite() && (0.01..=60.0).contains(&args.seconds)) {
        return invalid("--seconds must be between 0.01 and 60");
    }
    if !(1..=4096).contains(&args.batch) {
        return invalid("--batch must be between 1 and 4096");
    }
    let fx = match Fixture::new(args.batch) {
        Ok(f) => f,
        Err(e) => return invalid(e),
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let started = Instant::now();
    let works: Vec<(Work, &str, &str, Option<u8>, &str)> = Work::rows()
        .into_iter()
        .map(|w| {
            (
                w,
                w.label(),
                w.operation(),
                w.level().map(Level::as_u8),
                w.mode(),
            )
        })
        .collect();
    let mut rows = Vec::new();
    let mut phases = Vec::new();
    for &(work, label, operation, level, mode) in &works {
        let counts = if threads > 1 {
            vec![1, threads]
        } else {
            vec![1]
        };
        for t in counts {
            let phase = Instant::now();
            let (count, seconds) = if t == 1 {
                measure(&fx, work, args.seconds)
            } else {
                let results: Vec<(u64, f64)> = std::thread::scope(|s| {
                    let hs: Vec<_> = (0..t)
                        .map(|_| s.spawn(|| measure(&fx, work, args.seconds)))
                        .collect();
                    hs.into_iter()
                        .map(|h| h.join().expect("bench thread"))
                        .collect()
                });
                let count = results.iter().map(|r| r.0).sum();
                let secs = results.iter().map(|r| r.1).fold(0.0, f64::max);
                (count, secs)
            };
            phases.push((
                format!(
                    "{operation} L{} {mode} ×{t}",
                    level.map_or("-".to_string(), |l| l.to_string())
                ),
                phase.elapsed().as_secs_f64() * 1e3,
            ));
            rows.push(BenchRow {
                label: label.to_string(),
                operation: operation.to_string(),
                level,
                mode: mode.to_string(),
                threads: t,
                count,
                seconds,
                per_second: count as f64 / seconds.max(1e-9),
            });
        }
    }
    let report = BenchReport {
        schema: lab_core::report::SCHEMA,
        experiment: "pco-bench".into(),
        lab_version: lab_core::LAB_VERSION.to_string(),
        config: BenchConfig {
            seconds: args.seconds,
            batch: args.batch,
            threads_available: threads,
        },
        results: rows,
        execution: Execution {
            executor: "native".into(),
            workers: threads as u32,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
            phases_ms: phases,
            timer_resolution_us: 0.001,
            environment: vec![
                ("os".into(), std::env::consts::OS.into()),
                ("arch".into(), std::env::consts::ARCH.into()),
            ],
        },
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("bench report serializes")
        );
    } else {
        println!(
            "PCO throughput (128-byte PCOs, one operation each; {} s per row, batch {}, {} thread(s) available)",
            args.seconds, args.batch, threads
        );
        println!();
        println!(
            "{:<32} {:<7} {:>5} {:<7} {:>7} {:>14}",
            "signature", "op", "level", "mode", "threads", "per second"
        );
        for r in &report.results {
            println!(
                "{:<32} {:<7} {:>5} {:<7} {:>7} {:>14.0}",
                r.label,
                r.operation,
                r.level.map_or("-".to_string(), |l| l.to_string()),
                r.mode,
                r.threads,
                r.per_second
            );
        }
        println!();
        println!("levels: 0 signature only (header), 1 + claims bound and Merkle root, 2 + causality and trust, 3 = 2 with quarantine");
        println!("the 'no signature' rows recompute the BLAKE3 aggregate only; they are for comparison with the seed's figures (which had no real signatures) and are not a security level");
        println!("time: {:.1} ms", report.execution.total_ms);
    }
    ExitCode::SUCCESS
}
