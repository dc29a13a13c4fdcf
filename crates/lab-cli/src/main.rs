//! `lab-cli`: a thin command line over `lab-core`. Parses arguments, runs one
//! experiment, prints a table (or the schema-1 JSON report with `--json`) and
//! maps the outcome to an exit code: 0 verdict holds, 1 verdict fails, 2
//! invalid input (with a one-line reason on stderr).

mod conform;
mod convergence;
mod fuzz;
mod partition;
mod scale;
mod suite;
mod sweep;
mod trust;
mod workload;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "lab-cli",
    version,
    about = "Convergence Lab: CRDT model-merging experiments, headless"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Experiment 1: N nodes gossip their contributions under K orderings;
    /// every node must end with the same state and the same merged model.
    Convergence(convergence::Args),
    /// Check reference vector files (crdt-merge format) against this lab's
    /// strategies: per strategy, cases exact / within tolerance /
    /// mismatched / skipped. Exit 1 on any mismatch.
    Conform(conform::ConformArgs),
    /// Deterministic simulation testing: draw configs and fault schedules
    /// (partitions, loss, duplication, delay, crashes, churn) and check that
    /// every invariant holds; failing seeds are shrunk and printed.
    Fuzz(fuzz::Args),
    /// Experiment 2: partition the network in phases, gossip inside each
    /// partition, heal, and check global convergence.
    Partition(partition::Args),
    /// Experiment 3: every strategy through Layer 1, with the pairwise
    /// negative control and resolve timings.
    Sweep(sweep::Args),
    /// Experiment 4: rounds, messages and bytes versus network size, against
    /// gossip theory, with per-join and per-resolve timings.
    Scale(scale::Args),
    /// Experiments 1–4 in one report; `--preset seed` reproduces the seed
    /// lab's default full suite.
    Suite(suite::Args),
    /// The trust experiment (E4): signed contributions, proof-carrying
    /// operations, evidence and Byzantine peers.
    Trust(trust::TrustArgs),
    /// Proof-carrying operations built and verified per second (Ed25519).
    PcoBench(trust::PcoBenchArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::from(2),
            };
        }
    };
    match cli.command {
        Command::Convergence(args) => convergence::run(&args),
        Command::Conform(args) => conform::run(&args),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Partition(args) => partition::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Scale(args) => scale::run(&args),
        Command::Suite(args) => suite::run(&args),
        Command::Trust(args) => trust::run_trust(&args),
        Command::PcoBench(args) => trust::run_pco_bench(&args),
    }
}

/// Prints a one-line reason and returns exit code 2.
pub fn invalid(reason: impl std::fmt::Display) -> ExitCode {
    eprintln!("lab-cli: {reason}");
    ExitCode::from(2)
}

/// Exit code for a verdict.
pub fn verdict_code(passed: bool) -> ExitCode {
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Where and how long a native run took (outside the fingerprint).
pub fn native_execution(
    workers: u32,
    started: std::time::Instant,
    phases_ms: Vec<(String, f64)>,
) -> lab_core::report::Execution {
    lab_core::report::Execution {
        executor: "native".into(),
        workers,
        total_ms: started.elapsed().as_secs_f64() * 1e3,
        phases_ms,
        timer_resolution_us: 0.001,
        environment: vec![
            ("os".into(), std::env::consts::OS.into()),
            ("arch".into(), std::env::consts::ARCH.into()),
        ],
    }
}

/// Prints the JSON report (`--json`) or the table, and maps the verdict to
/// the exit code.
pub fn finish<C: serde::Serialize, R: serde::Serialize>(
    report: &lab_core::report::Report<C, R>,
    json: bool,
    table: impl Fn(&lab_core::report::Report<C, R>),
) -> ExitCode {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(report).expect("reports serialize")
        );
    } else {
        table(report);
    }
    verdict_code(report.verdict.passed)
}

/// Prints a verdict's checks, one line each.
pub fn print_checks(verdict: &lab_core::report::Verdict) {
    for ch in &verdict.checks {
        let mark = if ch.passed { "ok" } else { "FAIL" };
        println!("  [{mark}] {}: {}", ch.name, ch.detail);
    }
}

/// The `--executors` bound shared by the subcommands that take it.
pub fn check_executors(executors: u32) -> Result<(), &'static str> {
    if executors == 0 || executors > 1024 {
        return Err("--executors must be between 1 and 1024");
    }
    Ok(())
}
