//! `lab-cli sweep`: Experiment 3, with per-strategy resolve timings.

use crate::invalid;
use crate::workload::{describe, print_files, WorkloadArgs};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::sweep::{
    assemble, sweep_one_with, PreparedResolve, SweepConfig, SweepReport, FIELDS,
};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Nodes per strategy run.
    #[arg(long, default_value_t = 10)]
    nodes: u32,
    /// Tensor side.
    #[arg(long, default_value_t = 64)]
    dim: u32,
    /// Orderings per strategy.
    #[arg(long, default_value_t = 2)]
    orderings: u32,
    /// all-pairs, push, pull or push-pull.
    #[arg(long, default_value = "all-pairs")]
    protocol: String,
    /// Peers per round (gossip protocols).
    #[arg(long, default_value_t = 1)]
    fanout: u32,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Comma-separated strategy names (default: every registered strategy).
    #[arg(long, default_value = "")]
    strategies: String,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Also check each strategy against a directory of reference vector
    /// files (e.g. crates/lab-core/tests/data/vectors).
    #[arg(long)]
    vectors: Option<std::path::PathBuf>,
    /// Print the schema-1 JSON report instead of a table.
    #[arg(long)]
    json: bool,
}

/// Median wall time of resolving once, in milliseconds (batches of runs so
/// coarse clocks still measure something).
fn time_resolve(config: &SweepConfig, name: &str, tensors: Option<&FileTensors>) -> f64 {
    let Ok(prepared) = PreparedResolve::with_tensors(config, name, tensors) else {
        return f64::NAN;
    };
    let mut samples = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut runs = 0u32;
        while runs == 0 || (t.elapsed().as_secs_f64() < 0.02 && runs < 1000) {
            let _ = prepared.resolve();
            runs += 1;
        }
        samples.push(t.elapsed().as_secs_f64() * 1e3 / runs as f64);
        if t.elapsed().as_secs_f64() > 1.0 {
            break;
        }
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

pub fn run(args: &Args) -> ExitCode {
    let mut config = SweepConfig {
        nodes: args.nodes,
        dim: args.dim,
        orderings: args.orderings,
        protocol: match args.protocol.parse() {
            Ok(p) => p,
            Err(e) => return invalid(format!("--protocol: {e}")),
        },
        fanout: args.fanout,
        seed: args.seed,
        strategies: args
            .strategies
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        ..SweepConfig::default()
    };
    let tensors = match args
        .workload
        .ready(Some(FIELDS), &mut config, SweepConfig::validate)
    {
        Ok(t) => t,
        Err(code) => return code,
    };
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut phases = Vec::new();
    for name in config.selected() {
        match sweep_one_with(&config, name, tensors.as_ref()) {
            Ok(row) => rows.push(row),
            Err(e) => return invalid(format!("{name}: {e}")),
        }
        if !config.lacks_base_for(name) {
            phases.push((
                format!("resolve:{name}"),
                time_resolve(&config, name, tensors.as_ref()),
            ));
        }
    }
    if let Some(dir) = &args.vectors {
        match crate::conform::check_dir(dir) {
            Ok(reports) => {
                for row in &mut rows {
                    row.conformance = reports
                        .iter()
                        .find(|r| r.strategy == row.strategy)
                        .map(Into::into);
                }
            }
            Err(reason) => return invalid(format!("--vectors: {reason}")),
        }
    }
    let mut report = assemble(&config, rows);
    report.execution = Some(crate::native_execution(1, started, phases));
    crate::finish(&report, args.json, print_table)
}

fn print_table(r: &SweepReport) {
    let c = &r.config;
    println!(
        "Experiment 3 — strategy sweep: {} nodes, {}, {} orderings, {}, seed {}",
        c.nodes,
        describe(&c.workload, &c.finetune, c.dim),
        c.orderings,
        c.protocol.name(),
        c.seed
    );
    print_files(&c.workload);
    println!();
    println!(
        "{:<26} {:<10} {:>5} {:>9} {:>10} {:>9} {:>14}  model",
        "strategy", "family", "class", "layer 1", "resolve ms", "pairwise", "pairwise drift"
    );
    let times = r
        .execution
        .as_ref()
        .map(|e| e.phases_ms.clone())
        .unwrap_or_default();
    for row in &r.results.rows {
        let ms = times
            .iter()
            .find(|(k, _)| k == &format!("resolve:{}", row.strategy))
            .map_or("-".to_string(), |(_, v)| format!("{v:.3}"));
        let (models, drift) =
            row.negative_control
                .as_ref()
                .map_or(("-".to_string(), "-".to_string()), |n| {
                    (
                        format!("{} models", n.distinct_models),
                        format!("{:.3e}", n.max_deviation_from_layer2),
                    )
                });
        println!(
            "{:<26} {:<10} {:>5} {:>9} {:>10} {:>9} {:>14}  {}",
            row.strategy,
            format!("{:?}", row.family).to_lowercase(),
            format!("{:?}", row.class),
            if row.layer1_converged {
                "ok"
            } else if row
                .problem
                .as_deref()
                .is_some_and(|p| p.starts_with("failed"))
            {
                "FAIL"
            } else {
                "n/a"
            },
            ms,
            models,
            drift,
            row.resolved_digest.get(..8).unwrap_or("")
        );
        if let Some(p) = &row.problem {
            println!("    {p}");
        }
        if let Some(c) = &row.conformance {
            println!(
                "    vectors: {} exact, {} within tolerance, {} mismatched, {} skipped (worst rel. error {:.1e})",
                c.exact, c.within_tolerance, c.mismatched, c.skipped, c.worst_rel_error
            );
        }
    }
    println!();
    crate::print_checks(&r.verdict);
    println!();
    println!("fingerprint: {}", r.fingerprint);
}
