//! In-browser benchmark jobs: fixed amounts of engine work a worker does
//! without a clock (the engine stays pure); the coordinator times each job
//! from send to reply (`jobs::Done::elapsed_ms`), so the jobs are sized to
//! run far longer than a message round trip. Results are operations per
//! second, reported beside a baseline measured in the same run — never
//! asserted in tests.

use lab_core::crdt::ContributionSet;
use lab_core::experiment::scale::{join_pair, ScaleConfig};
use lab_core::trust::bench::{run_chunks, Fixture, Work, BATCH_MAX};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;

/// Most repetitions one bench job may ask for.
pub const REPS_MAX: u32 = 10_000_000;
/// Most contributions in a join bench state.
pub const JOIN_NODES_MAX: u32 = 10_000;

/// A benchmark job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum BenchJob {
    /// `reps` joins of a converged `nodes`-contribution state into a copy
    /// of a state holding half of them (the CRDT merge the seed lab times;
    /// each repetition also clones the half state).
    Join { nodes: u32, reps: u32 },
    /// `reps` joins of a converged `nodes`-contribution state with an
    /// identical copy decoded from the wire (no shared allocations) — what
    /// a converged gossip exchange does, and what the reference library's
    /// merge benchmark measures (`bench/reference_crdt.py`).
    JoinIdentical { nodes: u32, reps: u32 },
    /// `chunks` chunks of a PCO row of `lab-cli pco-bench`
    /// (`lab_core::trust::bench`), with batches of `batch` PCOs.
    Pco { work: Work, batch: u32, chunks: u32 },
}

impl BenchJob {
    /// The same job with its repetition count scaled to `reps`.
    pub fn with_reps(&self, reps: u32) -> BenchJob {
        let reps = reps.clamp(1, REPS_MAX);
        match self.clone() {
            BenchJob::Join { nodes, .. } => BenchJob::Join { nodes, reps },
            BenchJob::JoinIdentical { nodes, .. } => BenchJob::JoinIdentical { nodes, reps },
            BenchJob::Pco { work, batch, .. } => BenchJob::Pco {
                work,
                batch,
                chunks: reps,
            },
        }
    }

    /// The job's repetition count (joins, or chunks of PCO work).
    pub fn reps(&self) -> u32 {
        match *self {
            BenchJob::Join { reps, .. } | BenchJob::JoinIdentical { reps, .. } => reps,
            BenchJob::Pco { chunks, .. } => chunks,
        }
    }
}

/// What a bench job did: how many operations, and a digest-like checksum
/// of their results so the work cannot be optimised away.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchOutput {
    pub operations: u64,
    pub checksum: u64,
}

/// The states of a join bench: converged, half of it, and a copy of the
/// converged one decoded from the wire (no shared allocations).
struct JoinStates {
    nodes: u32,
    full: ContributionSet,
    half: ContributionSet,
    decoded: ContributionSet,
}

impl JoinStates {
    fn new(nodes: u32) -> Result<JoinStates, String> {
        let (full, half) = join_pair(&ScaleConfig::default(), nodes);
        let bytes = postcard::to_allocvec(&full).map_err(|e| e.to_string())?;
        let decoded = postcard::from_bytes(&bytes).map_err(|e| e.to_string())?;
        Ok(JoinStates {
            nodes,
            full,
            half,
            decoded,
        })
    }
}

thread_local! {
    /// The join states of the last size, so a timed job times joins only.
    static JOIN_STATES: RefCell<Option<JoinStates>> = const { RefCell::new(None) };
    /// The PCO fixture of the last batch size (a worker is one thread, and
    /// keys and PCOs are the same for every job of that size), so a timed
    /// job does not also time building 64 key pairs.
    static FIXTURE: RefCell<Option<Fixture>> = const { RefCell::new(None) };
}

/// Runs `f` on the cached join states of `nodes` contributions.
fn with_join_states<T>(nodes: u32, f: impl FnOnce(&JoinStates) -> T) -> Result<T, String> {
    check_nodes(nodes)?;
    JOIN_STATES.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|s| s.nodes != nodes) {
            *slot = None; // free the old states first
            *slot = Some(JoinStates::new(nodes)?);
        }
        Ok(f(slot.as_ref().expect("join states were just built")))
    })
}

/// Runs `f` on the cached PCO fixture for batches of `batch`.
fn with_fixture<T>(batch: usize, f: impl FnOnce(&Fixture) -> T) -> Result<T, String> {
    if !(1..=BATCH_MAX).contains(&batch) {
        return Err(format!("PCO batch must be 1…{BATCH_MAX}"));
    }
    FIXTURE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|f| f.batch() != batch) {
            *slot = None; // free the old fixture first
            *slot = Some(Fixture::new(batch)?);
        }
        Ok(f(slot.as_ref().expect("fixture was just built")))
    })
}

/// Runs a bench job.
pub fn run_bench(job: &BenchJob) -> Result<BenchOutput, String> {
    let reps = job.reps();
    if reps == 0 || reps > REPS_MAX {
        return Err(format!(
            "a bench job needs 1…{REPS_MAX} repetitions, not {reps}"
        ));
    }
    let (operations, checksum) = match *job {
        BenchJob::Join { nodes, reps } => with_join_states(nodes, |s| {
            let mut checksum = 0u64;
            for _ in 0..reps {
                let mut target = s.half.clone();
                checksum += u64::from(target.join(&s.full));
            }
            (u64::from(reps), checksum)
        })?,
        BenchJob::JoinIdentical { nodes, reps } => with_join_states(nodes, |s| {
            // Converged: nothing changes, so one copy serves every join.
            let mut target = s.full.clone();
            let mut checksum = 0u64;
            for _ in 0..reps {
                checksum += u64::from(std::hint::black_box(&mut target).join(&s.decoded));
            }
            (u64::from(reps), checksum)
        })?,
        BenchJob::Pco {
            work,
            batch,
            chunks,
        } => with_fixture(batch as usize, |fx| {
            let ops = run_chunks(fx, work, u64::from(chunks));
            (ops, ops)
        })?,
    };
    Ok(BenchOutput {
        operations,
        checksum,
    })
}

fn check_nodes(nodes: u32) -> Result<(), String> {
    if (2..=JOIN_NODES_MAX).contains(&nodes) {
        Ok(())
    } else {
        Err(format!(
            "a join bench needs 2…{JOIN_NODES_MAX} contributions, not {nodes}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_core::trust::Level;

    #[test]
    fn a_join_bench_joins() {
        let out = run_bench(&BenchJob::Join { nodes: 10, reps: 3 }).unwrap();
        assert_eq!(out.operations, 3);
        assert_eq!(out.checksum, 3, "every join into the half state changes it");
        assert!(run_bench(&BenchJob::Join { nodes: 1, reps: 3 }).is_err());
        assert!(run_bench(&BenchJob::Join { nodes: 10, reps: 0 }).is_err());
    }

    #[test]
    fn an_identical_join_changes_nothing() {
        let out = run_bench(&BenchJob::JoinIdentical { nodes: 10, reps: 4 }).unwrap();
        assert_eq!(out.operations, 4);
        assert_eq!(
            out.checksum, 0,
            "joining an identical state changes nothing"
        );
    }

    #[test]
    fn pco_jobs_count_operations_per_chunk() {
        let job = BenchJob::Pco {
            work: Work::VerifyBatch(Level::Signature),
            batch: 8,
            chunks: 2,
        };
        assert_eq!(run_bench(&job).unwrap().operations, 16);
        assert_eq!(run_bench(&job.with_reps(3)).unwrap().operations, 24);
        let build = BenchJob::Pco {
            work: Work::Build,
            batch: 8,
            chunks: 1,
        };
        assert_eq!(run_bench(&build).unwrap().operations, 16);
        let bad = BenchJob::Pco {
            work: Work::Build,
            batch: 0,
            chunks: 1,
        };
        assert!(run_bench(&bad).is_err());
    }
}
