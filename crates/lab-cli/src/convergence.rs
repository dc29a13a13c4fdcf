//! `lab-cli convergence`: Experiment 1, on synthetic tensors or on one
//! tensor of real `.safetensors` files (`--weights`).

use crate::invalid;
use lab_core::experiment::convergence::{
    load_files, run_with, run_with_workload, ConvergenceConfig, ConvergenceReport, FileTensors,
    Workload, WorkloadKind,
};
use lab_core::loader::{self, Limits, Slice};
use lab_core::LabError;
use std::path::{Path, PathBuf};
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
    /// Real weights instead of a synthetic workload (boxed: the other
    /// subcommands' arguments stay small).
    #[command(flatten)]
    files: Box<WeightsArgs>,
    /// In-process executors to spread the nodes over (the fingerprint must
    /// not depend on it).
    #[arg(long, default_value_t = 1)]
    executors: u32,
    /// Print the schema-1 JSON report instead of a table.
    #[arg(long)]
    json: bool,
}

/// The real-weights flags of `lab-cli convergence`.
#[derive(clap::Args, Debug)]
struct WeightsArgs {
    /// Merge real weights instead of a synthetic workload: two or more
    /// .safetensors files (F64, F32, F16 or BF16 tensors). Node i contributes
    /// file i mod F, so --nodes must be at least the number of files. The
    /// report records each file's name (without its directory), size, BLAKE3
    /// and loaded-tensor digest.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with = "workload")]
    weights: Vec<PathBuf>,
    /// The tensor to merge (a name every file has). Without it, the tensors
    /// the files have in common are listed.
    #[arg(long, requires = "weights")]
    tensor: Option<String>,
    /// Base model file, for strategies that need one (task_arithmetic,
    /// ties, dare, …).
    #[arg(long, requires = "weights", value_name = "FILE")]
    base: Option<PathBuf>,
    /// Load only rows START..END of the tensor's first dimension.
    #[arg(
        long,
        requires = "weights",
        value_name = "START..END",
        conflicts_with = "elements"
    )]
    rows: Option<String>,
    /// Load only the flat (row-major) elements START..END, as a 1-D tensor.
    #[arg(long, requires = "weights", value_name = "START..END")]
    elements: Option<String>,
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

/// A file read whole, with the name recorded in the report.
struct ReadFile {
    name: String,
    bytes: Vec<u8>,
}

/// Reads `path`, refusing it before reading when it is above the limit.
fn read_file(path: &Path) -> Result<ReadFile, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("'{}' is not a file name", path.display()))?;
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read '{}': {e}", path.display()))?
        .len();
    loader::check_file_size(&name, size, &Limits::CLI).map_err(|e| e.to_string())?;
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    Ok(ReadFile { name, bytes })
}

/// `START..END` as a pair.
fn parse_range(flag: &str, text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--{flag}: expected START..END (e.g. 0..64), got '{text}'");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let start = a.trim().parse().map_err(|_| bad())?;
    let end = b.trim().parse().map_err(|_| bad())?;
    Ok((start, end))
}

impl WeightsArgs {
    fn slice(&self) -> Result<Option<Slice>, String> {
        Ok(match (&self.rows, &self.elements) {
            (Some(r), _) => {
                let (start, end) = parse_range("rows", r)?;
                Some(Slice::Rows { start, end })
            }
            (None, Some(e)) => {
                let (start, end) = parse_range("elements", e)?;
                Some(Slice::Elements { start, end })
            }
            (None, None) => None,
        })
    }

    /// Loads `--weights` into `config`: the file workload and its tensors.
    /// `Ok(None)` after listing the common tensors (no `--tensor`).
    fn load_weights(&self, config: &mut ConvergenceConfig) -> Result<Option<FileTensors>, String> {
        let files = self
            .weights
            .iter()
            .map(|p| read_file(p))
            .collect::<Result<Vec<_>, _>>()?;
        let base = self.base.as_deref().map(read_file).transpose()?;
        let named: Vec<(&str, &[u8])> = files
            .iter()
            .map(|f| (f.name.as_str(), f.bytes.as_slice()))
            .collect();
        let Some(tensor) = &self.tensor else {
            list_common_tensors(&named)?;
            return Ok(None);
        };
        let base = base.as_ref().map(|b| (b.name.as_str(), b.bytes.as_slice()));
        let (workload, tensors) = load_files(&named, base, tensor, self.slice()?, &Limits::CLI)
            .map_err(|e| e.to_string())?;
        config.workload = WorkloadKind::Files(workload);
        config.validate().map_err(|e| e.to_string())?;
        Ok(Some(tensors))
    }
}

/// Prints the tensors every file has, with shape and dtype (the CLI's
/// tensor picker).
fn list_common_tensors(files: &[(&str, &[u8])]) -> Result<(), String> {
    let models = files
        .iter()
        .map(|(name, bytes)| loader::inspect(name, bytes).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let common = loader::common_tensors(&models).map_err(|e| e.to_string())?;
    println!(
        "Tensors in all {} files (pick one with --tensor):",
        files.len()
    );
    for t in &common {
        let dtypes: Vec<&str> = t.dtypes.iter().map(|d| d.name()).collect();
        let note = t
            .issue
            .as_ref()
            .map_or(String::new(), |e| format!("  — {e}"));
        println!("  {:<40} {:?} {}{note}", t.name, t.shape, dtypes[0]);
    }
    Ok(())
}

pub fn run(args: &Args) -> ExitCode {
    let mut config = match args.config() {
        Ok(c) => c,
        Err(reason) => return invalid(reason),
    };
    if let Err(reason) = crate::check_executors(args.executors) {
        return invalid(reason);
    }
    let tensors = if args.files.weights.is_empty() {
        None
    } else {
        match args.files.load_weights(&mut config) {
            Ok(Some(t)) => Some(t),
            Ok(None) => return ExitCode::from(2),
            Err(reason) => return invalid(reason),
        }
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
    let tensors = match &c.workload {
        WorkloadKind::Files(f) => format!(
            "tensor '{}' {:?} {}{} of {} files",
            f.tensor,
            f.loaded_shape().unwrap_or_default(),
            f.dtype,
            f.slice.map_or(String::new(), |s| format!(" ({s})")),
            f.files.len()
        ),
        _ => format!("{}×{} tensors", c.dim, c.dim),
    };
    println!(
        "Experiment 1 — convergence: {} nodes, {tensors}, {} orderings, protocol {} (fan-out {}), strategy {}, seed {}",
        c.nodes, c.orderings, c.protocol.name(), c.fanout, c.strategy, c.seed
    );
    if let WorkloadKind::Files(f) = &c.workload {
        for (i, file) in f.files.iter().enumerate() {
            println!(
                "  file {i}: {} ({} bytes, BLAKE3 {}…, tensor digest {}…)",
                file.name,
                file.bytes,
                &file.blake3[..16],
                &file.tensor_digest[..16]
            );
        }
        if let Some(b) = &f.base {
            println!(
                "  base:   {} ({} bytes, BLAKE3 {}…)",
                b.name,
                b.bytes,
                &b.blake3[..16]
            );
        }
    }
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
