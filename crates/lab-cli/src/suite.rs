//! `lab-cli suite`: Experiments 1–4 in one report; `--preset seed`
//! reproduces the seed lab's default suite.

use crate::invalid;
use crate::workload::{describe, print_files, WorkloadArgs};
use lab_core::experiment::suite::{run_observed, SuiteReport, SuiteSpec, SPEC_FIELDS};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `seed`: the seed lab's default suite (30 nodes, 128×128, 5 orderings,
    /// 3 partitions, all-pairs, Gaussian tensors); it ignores the other
    /// flags and takes no model files. Without a preset the flags below apply.
    #[arg(long)]
    preset: Option<String>,
    #[arg(long, default_value_t = 30)]
    nodes: u32,
    #[arg(long, default_value_t = 128)]
    dim: u32,
    #[arg(long, default_value_t = 5)]
    orderings: u32,
    /// Partitions (i mod P) in the partition experiment.
    #[arg(long, default_value_t = 3)]
    partitions: u32,
    #[arg(long, default_value = "all-pairs")]
    protocol: String,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The workload of every part (custom suites; with F model files the
    /// sweep runs at ≥ F nodes and scalability starts at F nodes).
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Print the schema-1 JSON report instead of a summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    let mut spec = SuiteSpec {
        preset: match args.preset.as_deref() {
            None => "custom".into(),
            Some("seed") => "seed".into(),
            Some(other) => {
                return invalid(format!("--preset: unknown preset '{other}' (known: seed)"))
            }
        },
        nodes: args.nodes,
        dim: args.dim,
        orderings: args.orderings,
        partitions: args.partitions,
        protocol: match args.protocol.parse() {
            Ok(p) => p,
            Err(e) => return invalid(format!("--protocol: {e}")),
        },
        seed: args.seed,
        ..SuiteSpec::default()
    };
    // The seed preset fixes its workload: only `--weights` is read (and refused).
    let fields = (!spec.is_seed()).then_some(SPEC_FIELDS);
    let tensors = match args.workload.ready(fields, &mut spec, SuiteSpec::validate) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let config = spec.config();
    let started = Instant::now();
    let mut phases = Vec::new();
    let mut since = Instant::now();
    let mut part_done = |name: &str| {
        phases.push((name.to_string(), since.elapsed().as_secs_f64() * 1e3));
        since = Instant::now();
    };
    let mut report = match run_observed(&config, tensors.as_ref(), &mut part_done) {
        Ok(r) => r,
        Err(e) => return invalid(e),
    };
    report.execution = Some(crate::native_execution(1, started, phases));
    crate::finish(&report, args.json, |r| print_summary(r, spec.is_seed()))
}

fn print_summary(r: &SuiteReport, preset: bool) {
    println!(
        "Full suite{}",
        if preset {
            " — seed preset (the seed lab's defaults, all-pairs schedule)"
        } else {
            ""
        }
    );
    let c0 = &r.config.convergence;
    println!("workload: {}", describe(&c0.workload, &c0.finetune, c0.dim));
    print_files(&c0.workload);
    println!();
    let times = r
        .execution
        .as_ref()
        .map(|e| e.phases_ms.clone())
        .unwrap_or_default();
    let ms = |k: &str| times.iter().find(|(n, _)| n == k).map_or(0.0, |(_, v)| *v);
    let res = &r.results;
    let c = &res.convergence.results;
    println!(
        "1. convergence   {:>9.1} ms  {} orderings, {} nodes: {} state(s), {} model(s) per ordering",
        ms("convergence"),
        c.orderings.len(),
        res.convergence.config.nodes,
        c.orderings.iter().map(|o| o.distinct_state_digests).max().unwrap_or(0),
        c.orderings.iter().map(|o| o.distinct_resolved_digests).max().unwrap_or(0)
    );
    println!(
        "2. partition     {:>9.1} ms  {} partition(s) converged internally, healed in {} round(s)",
        ms("partition"),
        res.partition
            .results
            .phases
            .iter()
            .map(|p| p.groups.iter().filter(|g| g.converged).count())
            .sum::<usize>(),
        res.partition.results.rounds_after_heal
    );
    let rows = &res.sweep.results.rows;
    println!(
        "3. sweep         {:>9.1} ms  {} of {} strategies converge through Layer 1; pairwise merging diverged for {}",
        ms("sweep"),
        rows.iter().filter(|r| r.layer1_converged).count(),
        rows.len(),
        rows.iter().filter(|r| r.negative_control.as_ref().is_some_and(|n| n.distinct_models > 1)).count()
    );
    println!(
        "4. scalability   {:>9.1} ms  sizes {:?}: all converge = {}",
        ms("scale"),
        res.scale.config.sizes,
        res.scale.results.points.iter().all(|p| p.converged)
    );
    println!();
    crate::print_checks(&r.verdict);
    println!();
    println!(
        "total:       {:.1} ms",
        r.execution.as_ref().map_or(0.0, |e| e.total_ms)
    );
    println!("fingerprint: {}", r.fingerprint);
}
