//! `lab-cli fuzz`: deterministic simulation testing from the command line.

use crate::invalid;
use lab_core::experiment::fuzz::{campaign, check, draw};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of schedules (configs + fault plans) to draw and check.
    #[arg(long, default_value_t = 1000)]
    schedules: u64,
    /// Campaign seed; every schedule's seed derives from it.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replay one case by its own seed (as printed for a failure) and print it.
    #[arg(long)]
    replay: Option<u64>,
    /// Print a JSON summary (failures include the shrunk case).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> ExitCode {
    if let Some(seed) = args.replay {
        let case = draw(seed);
        println!(
            "{}",
            serde_json::to_string_pretty(&case).expect("cases serialize")
        );
        return match check(&case) {
            Ok(()) => {
                eprintln!("case {seed}: every invariant holds");
                ExitCode::SUCCESS
            }
            Err(f) => {
                eprintln!("case {seed}: {} — {}", f.invariant, f.detail);
                ExitCode::from(1)
            }
        };
    }
    if args.schedules == 0 || args.schedules > 100_000_000 {
        return invalid("--schedules must be between 1 and 100,000,000");
    }
    let started = Instant::now();
    let result = campaign(args.seed, args.schedules, &mut |done| {
        if !args.json && done % 1000 == 0 {
            eprintln!(
                "  {done} schedules checked ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
        true
    });
    let secs = started.elapsed().as_secs_f64();
    if args.json {
        let v = serde_json::json!({
            "schema": 1,
            "experiment": "fuzz",
            "seed": args.seed,
            "schedules": result.schedules,
            "passed": result.passed,
            "failures": result.failures,
            "seconds": secs,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).expect("summary serializes")
        );
    } else {
        println!(
            "fuzz: {} schedules, {} passed, {} failed in {:.1} s ({:.0} schedules/s)",
            result.schedules,
            result.passed,
            result.failures.len(),
            secs,
            result.schedules as f64 / secs.max(1e-9)
        );
        for (seed, f, small) in &result.failures {
            println!("  FAIL seed {seed}: {} — {}", f.invariant, f.detail);
            println!(
                "    shrunk case: {}",
                serde_json::to_string(small).expect("cases serialize")
            );
            println!("    replay: lab-cli fuzz --replay {seed}");
        }
    }
    if result.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
