//! In-browser benchmark jobs: fixed amounts of engine work a worker does
//! without a clock (the engine stays pure); the coordinator times each job
//! from send to reply (`jobs::Done::elapsed_ms`), so the jobs are sized to
//! run far longer than a message round trip. Results are operations per
//! second, reported beside a baseline measured in the same run — never
//! asserted in tests.

use lab_core::experiment::scale::{join_pair, ScaleConfig};
use serde::{Deserialize, Serialize};

/// Most repetitions one bench job may ask for.
pub const REPS_MAX: u32 = 10_000_000;

/// A benchmark job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BenchJob {
    /// `reps` joins of a converged `nodes`-contribution state into a copy
    /// of a state holding half of them (the CRDT merge the seed lab times).
    Join { nodes: u32, reps: u32 },
}

/// What a bench job did: how many operations, and a digest-like checksum
/// of their results so the work cannot be optimised away.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchOutput {
    pub operations: u64,
    pub checksum: u64,
}

/// Runs a bench job.
pub fn run_bench(job: &BenchJob) -> Result<BenchOutput, String> {
    match *job {
        BenchJob::Join { nodes, reps } => {
            if !(2..=10_000).contains(&nodes) || reps == 0 || reps > REPS_MAX {
                return Err(format!(
                    "join bench needs 2…10,000 nodes and 1…{REPS_MAX} repetitions"
                ));
            }
            let (full, half) = join_pair(&ScaleConfig::default(), nodes);
            let mut checksum = 0u64;
            for _ in 0..reps {
                let mut target = half.clone();
                checksum += u64::from(target.join(&full));
            }
            Ok(BenchOutput {
                operations: u64::from(reps),
                checksum,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_join_bench_joins() {
        let out = run_bench(&BenchJob::Join { nodes: 10, reps: 3 }).unwrap();
        assert_eq!(out.operations, 3);
        assert_eq!(out.checksum, 3, "every join into the half state changes it");
        assert!(run_bench(&BenchJob::Join { nodes: 1, reps: 3 }).is_err());
    }
}
