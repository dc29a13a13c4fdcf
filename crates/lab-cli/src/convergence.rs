//! `lab-cli convergence`: Experiment 1.

use crate::invalid;
use lab_core::experiment::convergence::{run_with, ConvergenceConfig, ConvergenceReport};
use lab_core::LabError;
use std::process::ExitCode;
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
    /// How states are exchanged: full (whole state per message) or delta
    /// (request with causal context, reply with only what is missing; pull
    /// and push-pull).
    #[arg(long, default_value = "full")]
    anti_entropy: String,
    /// Workload: gaussian (independent N(0,1) tensors, the seed lab's) or
    /// finetune (shared base + overlapping low-rank sparse task vectors).
    #[arg(long, default_value = "gaussian")]
    workload: String,
    /// Fine-tune workload: rank of each task vector.
    #[arg(long, default_value_t = 4)]
    ft_rank: u32,
    /// Fine-tune workload: task-vector scale relative to the base.
    #[arg(long, default_value_t = 0.1)]
    ft_scale: f64,
    /// Fine-tune workload: fraction of task-vector entries zeroed.
    #[arg(long, default_value_t = 0.0)]
    ft_sparsity: f64,
    /// Fine-tune workload: expected cosine between task vectors.
    #[arg(long, default_value_t = 0.25)]
    ft_overlap: f64,
    /// Fine-tune workload: dense noise level.
    #[arg(long, default_value_t = 0.01)]
    ft_noise: f64,
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
            ("workload".into(), self.workload.clone()),
            ("ft_rank".into(), self.ft_rank.to_string()),
            ("ft_scale".into(), self.ft_scale.to_string()),
            ("ft_sparsity".into(), self.ft_sparsity.to_string()),
            ("ft_overlap".into(), self.ft_overlap.to_string()),
            ("ft_noise".into(), self.ft_noise.to_string()),
        ];
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
    let config = match args.config() {
        Ok(c) => c,
        Err(reason) => return invalid(reason),
    };
    if let Err(reason) = crate::check_executors(args.executors) {
        return invalid(reason);
    }
    let started = Instant::now();
    let mut report = match run_with(&config, args.executors, &mut |_| true) {
        Ok(r) => r,
        Err(LabError::Config(e)) => return invalid(e),
        Err(e) => return invalid(e),
    };
    report.execution = Some(crate::native_execution(args.executors, started, Vec::new()));
    crate::finish(&report, args.json, print_table)
}

fn print_table(r: &ConvergenceReport) {
    let c = &r.config;
    println!(
        "Experiment 1 — convergence: {} nodes, {}×{} tensors, {} orderings, protocol {} (fan-out {}), strategy {}, seed {}",
        c.nodes, c.dim, c.dim, c.orderings, c.protocol.name(), c.fanout, c.strategy, c.seed
    );
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
