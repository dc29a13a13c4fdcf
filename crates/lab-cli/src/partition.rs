//! `lab-cli partition`: Experiment 2, on synthetic tensors or on one tensor
//! of real `.safetensors` files (`--weights`).

use crate::invalid;
use crate::workload::{describe, print_files, Weights, WorkloadArgs};
use lab_core::experiment::convergence::FileTensors;
use lab_core::experiment::partition::{
    parse_phases, run_with_tensors, PartitionConfig, PartitionReport, FIELDS,
};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of nodes (3…10,000).
    #[arg(long, default_value_t = 30)]
    nodes: u32,
    /// Tensor side (1…1,024).
    #[arg(long, default_value_t = 64)]
    dim: u32,
    /// push, pull or push-pull.
    #[arg(long, default_value = "push-pull")]
    protocol: String,
    /// Peers each node contacts per round.
    #[arg(long, default_value_t = 1)]
    fanout: u32,
    /// Merge strategy (Layer 2).
    #[arg(long, default_value = "weight_average")]
    strategy: String,
    /// Seed of every random choice (0 … 2^53−1).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Phases as shape@start-heal, comma-separated; shapes: halves,
    /// groups:K, mod:K, isolated:NODE, minority:M, bridge, asymmetric.
    #[arg(long, default_value = "mod:3@1-21")]
    phases: String,
    /// Message loss probability while partitioned (0…1).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Message duplication probability while partitioned (0…1).
    #[arg(long, default_value_t = 0.0)]
    duplicate: f64,
    /// Largest message delay in rounds while partitioned (0…64).
    #[arg(long, default_value_t = 0)]
    delay_max: u32,
    /// Give up after this many rounds.
    #[arg(long, default_value_t = 1000)]
    rounds_max: u32,
    #[command(flatten)]
    workload: WorkloadArgs,
    /// In-process executors (the fingerprint must not depend on it).
    #[arg(long, default_value_t = 1)]
    executors: u32,
    /// Print the schema-1 JSON report instead of a table.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// The config and, with `--weights`, the loaded tensors (`Ok(None)`
    /// after listing the files' common tensors).
    fn config(&self) -> Result<Option<(PartitionConfig, Option<FileTensors>)>, String> {
        let mut config = PartitionConfig {
            nodes: self.nodes,
            dim: self.dim,
            protocol: self
                .protocol
                .parse()
                .map_err(|e| format!("--protocol: {e}"))?,
            fanout: self.fanout,
            strategy: self.strategy.clone(),
            seed: self.seed,
            phases: parse_phases(&self.phases).map_err(|e| format!("--{e}"))?,
            loss: self.loss,
            duplicate: self.duplicate,
            delay_max: self.delay_max,
            rounds_max: self.rounds_max,
            ..PartitionConfig::default()
        };
        let tensors = match self.workload.configure(FIELDS, &mut config)? {
            Weights::Synthetic => None,
            Weights::Listed => return Ok(None),
            Weights::Loaded(t) => Some(t),
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(Some((config, tensors)))
    }
}

pub fn run(args: &Args) -> ExitCode {
    let (config, tensors) = match args.config() {
        Ok(Some(c)) => c,
        Ok(None) => return ExitCode::from(2),
        Err(reason) => return invalid(reason),
    };
    if let Err(reason) = crate::check_executors(args.executors) {
        return invalid(reason);
    }
    let started = Instant::now();
    let mut report = match run_with_tensors(&config, args.executors, tensors.as_ref()) {
        Ok(r) => r,
        Err(e) => return invalid(e),
    };
    report.execution = Some(crate::native_execution(args.executors, started, Vec::new()));
    crate::finish(&report, args.json, print_table)
}

fn print_table(r: &PartitionReport) {
    let c = &r.config;
    println!(
        "Experiment 2 — partition and healing: {} nodes, {}, {} (fan-out {}), strategy {}, seed {}",
        c.nodes,
        describe(&c.workload, &c.finetune, c.dim),
        c.protocol.name(),
        c.fanout,
        c.strategy,
        c.seed
    );
    print_files(&c.workload);
    println!();
    for p in &r.results.phases {
        println!(
            "phase rounds {}..{} — {}: {} messages, {} metadata bytes, {} dropped",
            p.start, p.heal, p.label, p.messages, p.metadata_bytes, p.dropped
        );
        for (g, grp) in p.groups.iter().enumerate() {
            println!(
                "  partition {g}: {:>5} nodes  {}  agreed at phase round {}  state {}",
                grp.members,
                if grp.converged {
                    "converged"
                } else {
                    "NOT converged"
                },
                grp.converged_at.map_or("-".to_string(), |r| r.to_string()),
                grp.state_digest.get(..8).unwrap_or("")
            );
        }
    }
    let res = &r.results;
    println!();
    println!(
        "after the last heal: converged in {} round(s), {} messages, {} metadata bytes",
        res.rounds_after_heal, res.messages_after_heal, res.metadata_bytes_after_heal
    );
    println!();
    crate::print_checks(&r.verdict);
    println!();
    println!(
        "verdict:     {}",
        if r.verdict.passed {
            "HEALED — every node holds a bit-identical merged model"
        } else {
            "FAILED"
        }
    );
    println!("fingerprint: {}", r.fingerprint);
}
