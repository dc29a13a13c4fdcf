//! `lab-cli scale`: Experiment 4, with per-join, per-resolve and per-run
//! timings measured here (the engine has no clock).

use crate::invalid;
use crate::workload::{describe, print_files, WorkloadArgs};
use lab_core::experiment::scale::{
    assemble, join_pair, loglog_slope, run_point_with, ScaleConfig, ScaleReport, FIELDS,
};
use lab_core::experiment::sweep::{PreparedResolve, SweepConfig};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Comma-separated network sizes, increasing (default: the seed lab's
    /// 2,5,10,20,30,50,75,100).
    #[arg(long, default_value = "2,5,10,20,30,50,75,100")]
    sizes: String,
    /// Tensor side.
    #[arg(long, default_value_t = 16)]
    dim: u32,
    /// Schedules per size.
    #[arg(long, default_value_t = 5)]
    orderings: u32,
    /// all-pairs, push, pull or push-pull.
    #[arg(long, default_value = "push-pull")]
    protocol: String,
    /// Peers per round.
    #[arg(long, default_value_t = 1)]
    fanout: u32,
    /// Merge strategy.
    #[arg(long, default_value = "weight_average")]
    strategy: String,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// Print the schema-1 JSON report instead of a table.
    #[arg(long)]
    json: bool,
}

/// Mean time of `f` in nanoseconds, over batches of at least ~20 ms.
fn time_ns(mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let mut runs = 0u64;
        while runs == 0 || t.elapsed().as_secs_f64() < 0.02 {
            f();
            runs += 1;
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e9 / runs as f64);
    }
    best
}

pub fn run(args: &Args) -> ExitCode {
    let sizes: Result<Vec<u32>, _> = args
        .sizes
        .split(',')
        .map(|s| s.trim().parse::<u32>())
        .collect();
    let Ok(sizes) = sizes else {
        return invalid("--sizes: give comma-separated whole numbers");
    };
    let protocol = match args.protocol.parse() {
        Ok(p) => p,
        Err(e) => return invalid(format!("--protocol: {e}")),
    };
    let mut config = ScaleConfig {
        sizes,
        dim: args.dim,
        orderings: args.orderings,
        protocol,
        fanout: args.fanout,
        strategy: args.strategy.clone(),
        seed: args.seed,
        ..ScaleConfig::default()
    };
    let tensors = match args
        .workload
        .ready(Some(FIELDS), &mut config, ScaleConfig::validate)
    {
        Ok(t) => t,
        Err(code) => return code,
    };
    let started = Instant::now();
    let mut points = Vec::new();
    let mut phases = Vec::new();
    for &n in &config.sizes {
        let t = Instant::now();
        match run_point_with(&config, n, tensors.as_ref()) {
            Ok(p) => points.push(p),
            Err(e) => return invalid(format!("n = {n}: {e}")),
        }
        phases.push((format!("run:{n}"), t.elapsed().as_secs_f64() * 1e3));
        let (full, half) = join_pair(&config, n);
        phases.push((
            format!("join_identical_ns:{n}"),
            time_ns(|| {
                let mut x = full.clone();
                black_box(x.join(black_box(&full)));
            }) - time_ns(|| {
                black_box(full.clone());
            }),
        ));
        phases.push((
            format!("join_half_ns:{n}"),
            time_ns(|| {
                let mut x = half.clone();
                black_box(x.join(black_box(&full)));
            }) - time_ns(|| {
                black_box(half.clone());
            }),
        ));
        let sweep = SweepConfig {
            nodes: n,
            dim: config.dim,
            strategies: vec![config.strategy.clone()],
            workload: config.workload.clone(),
            finetune: config.finetune,
            ..SweepConfig::default()
        };
        if let Ok(prep) = PreparedResolve::with_tensors(&sweep, &config.strategy, tensors.as_ref())
        {
            phases.push((
                format!("resolve_ms:{n}"),
                time_ns(|| {
                    black_box(prep.resolve().ok());
                }) / 1e6,
            ));
        }
    }
    let mut report = assemble(&config, points);
    for key in ["run", "join_identical_ns", "join_half_ns", "resolve_ms"] {
        let xy: Vec<(f64, f64)> = phases
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&format!("{key}:"))
                    .and_then(|n| n.parse::<f64>().ok())
                    .map(|n| (n, *v))
            })
            .collect();
        if let Some(s) = loglog_slope(&xy) {
            phases.push((format!("slope:{key}"), s));
        }
    }
    report.execution = Some(crate::native_execution(1, started, phases));
    crate::finish(&report, args.json, print_table)
}

fn phase(r: &ScaleReport, key: &str) -> Option<f64> {
    r.execution
        .as_ref()?
        .phases_ms
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| *v)
}

fn print_table(r: &ScaleReport) {
    let c = &r.config;
    println!(
        "Experiment 4 — scalability: {} (fan-out {}), {}, {} schedules per size, strategy {}, seed {}",
        c.protocol.name(), c.fanout, describe(&c.workload, &c.finetune, c.dim), c.orderings, c.strategy, c.seed
    );
    print_files(&c.workload);
    println!();
    println!(
        "{:>6} {:>7} {:>13} {:>9} {:>9} {:>9} {:>12} {:>12} {:>11} {:>10}",
        "nodes",
        "rounds",
        "CRDT theory",
        "1-rumour",
        "asympt.",
        "messages",
        "metadata B",
        "join ns",
        "resolve ms",
        "run ms"
    );
    for p in &r.results.points {
        let t = p.theory.as_ref();
        let f = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |x| format!("{x:.d$}"));
        println!(
            "{:>6} {:>7.2} {:>13} {:>9} {:>9} {:>9.0} {:>12.0} {:>12} {:>11} {:>10}",
            p.nodes,
            p.rounds_mean,
            t.map_or("-".into(), |t| format!(
                "{:.2} [{:.1},{:.1}]",
                t.all_rumours_estimate, t.all_rumours_lower, t.all_rumours_upper
            )),
            f(t.map(|t| t.one_rumour_mean), 2),
            f(t.map(|t| t.asymptotic), 2),
            p.messages_mean,
            p.metadata_bytes_mean,
            f(phase(r, &format!("join_half_ns:{}", p.nodes)), 0),
            f(phase(r, &format!("resolve_ms:{}", p.nodes)), 3),
            f(phase(r, &format!("run:{}", p.nodes)), 1),
        );
    }
    println!();
    print!("log–log slopes:");
    for s in &r.results.slopes {
        print!("  {} {:.2}", s.quantity, s.slope);
    }
    for key in ["join_half_ns", "resolve_ms", "run"] {
        if let Some(v) = phase(r, &format!("slope:{key}")) {
            print!("  {key} {v:.2}");
        }
    }
    println!();
    println!();
    crate::print_checks(&r.verdict);
    println!();
    println!("fingerprint: {}", r.fingerprint);
}
