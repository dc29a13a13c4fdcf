//! `lab-cli convergence`: Experiment 1, on synthetic tensors or on one
//! tensor of real `.safetensors` files (`--weights`).

use crate::invalid;
use crate::workload::{describe, print_files, WorkloadArgs};
use lab_core::experiment::convergence::{
    run_with, run_with_workload, ConvergenceConfig, ConvergenceReport, Workload,
};
use lab_core::LabError;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of nodes (2…10,000).
    #[arg(long, default_value_t = 30)]
    nodes: u32,
    /// Tensor side: each node contributes a dim×dim tensor (1…1,024).
    #[arg(long, default_value_t = 128)]
    dim: u32,
    /// Number of independent merge orderings / gossip schedules (1…100).
    #[arg(long, default_value_t = 5)]
    orderings: u32,
    /// all-pairs (the seed lab's schedule), push, pull or push-pull.
    #[arg(long, default_value = "all-pairs")]
    protocol: String,
    /// Peers each node contacts per round (below the node count).
    #[arg(long, default_value_t = 1)]
    fanout: u32,
    /// Merge strategy (Layer 2), e.g. weight_average.
    #[arg(long, default_value = "weight_average")]
    strategy: String,
    /// Seed of every random choice (0 … 2^53−1).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Give up after this many gossip rounds (1…10,000).
    #[arg(long, default_value_t = 1000)]
    rounds_max: u32,
    /// every-node (each node resolves its own state) or once-per-state.
    #[arg(long, default_value = "every-node")]
    resolve: String,
    /// Conflict policy for concurrent values of one model id: lww or fww.
    #[arg(long, default_value = "lww")]
    policy: String,
    /// How states are exchanged: full (whole state per message), delta
    /// (request with causal context, reply with only what is missing; pull
    /// and push-pull) or merkle (exchange Merkle roots, descend where they
    /// differ, send only the missing replicas' rows).
    #[arg(long, default_value = "full")]
    anti_entropy: String,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// In-process executors to spread the nodes over (the fingerprint must
    /// not depend on it).
    #[arg(long, default_value_t = 1)]
    executors: u32,
    /// Print the schema-1 JSON report instead of a table.
    #[arg(long)]
    json: bool,
}

impl Args {
    fn config(&self) -> Result<ConvergenceConfig, String> {
        let mut pairs: Vec<(String, String)> = vec![
            ("nodes".into(), self.nodes.to_string()),
            ("dim".into(), self.dim.to_string()),
            ("orderings".into(), self.orderings.to_string()),
            ("protocol".into(), self.protocol.clone()),
            ("fanout".into(), self.fanout.to_string()),
            ("strategy".into(), self.strategy.clone()),
            ("seed".into(), self.seed.to_string()),
            ("rounds_max".into(), self.rounds_max.to_string()),
            ("resolve".into(), self.resolve.clone()),
            ("policy".into(), self.policy.clone()),
            ("anti_entropy".into(), self.anti_entropy.clone()),
        ];
        pairs.extend(self.workload.synthetic.pairs());
        pairs.retain(|(_, v)| !v.is_empty());
        let (config, issues) = ConvergenceConfig::from_query(&pairs);
        if let Some(i) = issues.first() {
            let msg = i.message.split("; ").next().unwrap_or(&i.message);
            return Err(if i.key.starts_with('(') {
                msg.to_string()
            } else {
                format!("--{}: {msg}", i.key.replace('_', "-"))
            });
        }
        Ok(config)
    }
}

pub fn run(args: &Args) -> ExitCode {
    let mut config = match args.config() {
        Ok(c) => c,
        Err(reason) => return invalid(reason),
    };
    if let Err(reason) = crate::check_executors(args.executors) {
        return invalid(reason);
    }
    let tensors = match args
        .workload
        .ready(None, &mut config, ConvergenceConfig::validate)
    {
        Ok(t) => t,
        Err(code) => return code,
    };
    let started = Instant::now();
    let result = match tensors {
        None => run_with(&config, args.executors, &mut |_| true),
        Some(t) => Workload::from_files(&config, t)
            .map_err(LabError::from)
            .and_then(|w| run_with_workload(&config, Arc::new(w), args.executors, &mut |_| true)),
    };
    let mut report = match result {
        Ok(r) => r,
        Err(LabError::Config(e)) => return invalid(e),
        Err(e) => return invalid(e),
    };
    report.execution = Some(crate::native_execution(args.executors, started, Vec::new()));
    crate::finish(&report, args.json, print_table)
}

fn print_table(r: &ConvergenceReport) {
    let c = &r.config;
    let tensors = describe(&c.workload, &c.finetune, c.dim);
    println!(
        "Experiment 1 — convergence: {} nodes, {tensors}, {} orderings, protocol {} (fan-out {}), strategy {}, seed {}",
        c.nodes, c.orderings, c.protocol.name(), c.fanout, c.strategy, c.seed
    );
    print_files(&c.workload);
    println!();
    println!(
        "{:>8} {:>9} {:>7} {:>10} {:>10} {:>14} {:>8} {:>10} {:>10}",
        "ordering",
        "converged",
        "rounds",
        "messages",
        "joins",
        "metadata B",
        "states",
        "state",
        "model"
    );
    for o in &r.results.orderings {
        println!(
            "{:>8} {:>9} {:>7} {:>10} {:>10} {:>14} {:>8} {:>10} {:>10}",
            o.ordering,
            if o.converged { "yes" } else { "NO" },
            o.rounds,
            o.messages,
            o.joins,
            o.metadata_bytes,
            o.distinct_state_digests,
            &o.state_digest[..8],
            &o.resolved_digest[..8]
        );
    }
    let oracle = r.results.metadata_bytes_oracle.max(1) as f64;
    let worst = r
        .results
        .orderings
        .iter()
        .map(|o| o.metadata_bytes)
        .max()
        .unwrap_or(0) as f64;
    println!();
    println!(
        "metadata bytes: an oracle would send {} (every row to every node once); the protocol sent up to {:.1}× that",
        r.results.metadata_bytes_oracle,
        worst / oracle
    );
    println!();
    crate::print_checks(&r.verdict);
    println!();
    println!(
        "verdict:     {}",
        if r.verdict.passed {
            "CONVERGED — every node holds a bit-identical merged model"
        } else {
            "FAILED"
        }
    );
    println!("fingerprint: {}", r.fingerprint);
    if let Some(e) = &r.execution {
        println!(
            "time:        {:.1} ms ({} executor(s), native)",
            e.total_ms, e.workers
        );
    }
}
