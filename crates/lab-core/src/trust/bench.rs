//! PCO throughput work, without a clock: a fixed fixture (keys, one-operation
//! PCOs, a verifier) and the unit of work each benchmark row repeats. The
//! engine has no clock, so callers time it: `lab-cli pco-bench` repeats
//! [`Measurement::chunk`] until its time is up; the browser's workers run a
//! fixed number of chunks ([`run_chunks`]) and the page times the job.
//!
//! Every row is real Ed25519 unless its [`Work::label`] says "no signature":
//! those rows only recompute the BLAKE3 aggregate, for comparison with the
//! seed lab's figures (which had no real signatures, spec trust.md §1). They
//! are not a security level.

use super::{Identity, Level, LogFrontier, OpBody, PcoBundle, Roster, TrustState, Verifier};
use crate::crdt::{Dot, Hlc, VersionVector};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Originators of the bench PCOs (node 0 verifies; it originates none).
pub const BENCH_KEYS: u32 = 64;
/// Largest batch for batch verification.
pub const BATCH_MAX: usize = 4096;

/// What a row measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Work {
    /// Build (and sign) a one-operation PCO, Ed25519.
    Build,
    /// Verify one PCO at a level, Ed25519.
    Verify(Level),
    /// Verify a batch of PCOs at a level (one batch signature check).
    VerifyBatch(Level),
    /// Recompute the aggregate only: no signature (comparison only).
    BuildNoSig,
    /// Recompute and compare the aggregate: no signature (comparison only).
    VerifyNoSig,
}

impl Work {
    /// Every row of `pco-bench`, in its order: build, each level single and
    /// batch, then the two "no signature" comparison rows.
    pub fn rows() -> Vec<Work> {
        let mut rows = vec![Work::Build];
        for level in Level::ALL {
            rows.push(Work::Verify(level));
            rows.push(Work::VerifyBatch(level));
        }
        rows.push(Work::BuildNoSig);
        rows.push(Work::VerifyNoSig);
        rows
    }

    /// "Ed25519" or "no signature (comparison only)".
    pub fn label(self) -> &'static str {
        match self {
            Work::BuildNoSig | Work::VerifyNoSig => "no signature (comparison only)",
            _ => "Ed25519",
        }
    }

    /// "build" or "verify".
    pub fn operation(self) -> &'static str {
        match self {
            Work::Build | Work::BuildNoSig => "build",
            _ => "verify",
        }
    }

    /// The verification level, for verify rows with a signature.
    pub fn level(self) -> Option<Level> {
        match self {
            Work::Verify(l) | Work::VerifyBatch(l) => Some(l),
            _ => None,
        }
    }

    /// "single" or "batch".
    pub fn mode(self) -> &'static str {
        match self {
            Work::VerifyBatch(_) => "batch",
            _ => "single",
        }
    }

    /// Operations one chunk performs (a chunk is the work between two clock
    /// reads in `pco-bench`).
    pub fn ops_per_chunk(self, batch: usize) -> u64 {
        match self {
            Work::Build | Work::Verify(_) => 16,
            Work::VerifyBatch(_) => batch as u64,
            Work::BuildNoSig | Work::VerifyNoSig => 64,
        }
    }
}

/// Fixed inputs: keys, one-operation PCOs (one per key, at least `batch`),
/// and the roster a verifier checks them against.
pub struct Fixture {
    roster: Arc<Roster>,
    ids: Vec<Identity>,
    bodies: Vec<OpBody>,
    contexts: Vec<VersionVector>,
    roots: Vec<Digest>,
    bundles: Vec<PcoBundle>,
    batch: usize,
}

impl Fixture {
    /// The fixture for batches of `batch` PCOs (1…[`BATCH_MAX`]).
    pub fn new(batch: usize) -> Result<Fixture, String> {
        if !(1..=BATCH_MAX).contains(&batch) {
            return Err(format!("batch must be between 1 and {BATCH_MAX}"));
        }
        let (roster, ids) = Roster::derive(2026, BENCH_KEYS + 1).map_err(|e| e.to_string())?;
        let mut bodies = Vec::new();
        let mut contexts = Vec::new();
        let mut roots = Vec::new();
        let mut bundles = Vec::new();
        for k in 0..batch.max(BENCH_KEYS as usize) {
            let o = (k as u32 % BENCH_KEYS) + 1;
            let body = OpBody {
                originator: o,
                model_id: format!("bench-{k:05}"),
                version: 1,
                weight: 1.0,
                tensor: Digest([k as u8; 32]),
                dot: Dot {
                    replica: o,
                    counter: 1,
                },
                stamp: Hlc {
                    time: 1,
                    logical: 0,
                    node: o,
                },
            };
            let mut f = LogFrontier::new();
            f.push(&body.digest());
            let mut ctx = VersionVector::new();
            ctx.next_dot(o);
            let b = PcoBundle::build_unchecked(
                &ids[o as usize],
                vec![body.clone()],
                ctx.clone(),
                f.root(),
                TrustState::new().root(),
                1,
                1,
            )
            .map_err(|e| e.to_string())?;
            bodies.push(body);
            contexts.push(ctx);
            roots.push(f.root());
            bundles.push(b);
        }
        Ok(Fixture {
            roster: Arc::new(roster),
            ids,
            bodies,
            contexts,
            roots,
            bundles,
            batch,
        })
    }

    /// The batch size this fixture was built for.
    pub fn batch(&self) -> usize {
        self.batch
    }
}

/// One row's work in progress: repeat [`Measurement::chunk`] as often as
/// the caller's clock (or repetition count) allows.
pub struct Measurement<'a> {
    fx: &'a Fixture,
    work: Work,
    verifier: Verifier,
    trust_root: Digest,
    /// Position in the fixture's PCOs (wraps around).
    next: usize,
}

impl<'a> Measurement<'a> {
    /// Starts measuring `work` on `fx`. Node 0 verifies (it is not an
    /// originator of any bench PCO).
    pub fn new(fx: &'a Fixture, work: Work) -> Measurement<'a> {
        Measurement {
            fx,
            work,
            verifier: Verifier::new(0, fx.roster.clone()),
            trust_root: TrustState::new().root(),
            next: 0,
        }
    }

    /// Does one chunk of work and returns the operations it completed
    /// ([`Work::ops_per_chunk`]). Panics if a bench PCO fails to build or
    /// verify: the fixture is fixed, so that is a bug, not bad input.
    pub fn chunk(&mut self) -> u64 {
        let fx = self.fx;
        let n = fx.bundles.len();
        let batch = fx.batch;
        match self.work {
            Work::Build => {
                for _ in 0..16 {
                    let k = self.next % n;
                    let o = fx.bodies[k].originator as usize;
                    let b = PcoBundle::build_unchecked(
                        &fx.ids[o],
                        vec![fx.bodies[k].clone()],
                        fx.contexts[k].clone(),
                        fx.roots[k],
                        self.trust_root,
                        1,
                        1,
                    );
                    assert!(b.is_ok());
                    self.next += 1;
                }
            }
            Work::Verify(level) => {
                for _ in 0..16 {
                    let r = self.verifier.verify_pco(&fx.bundles[self.next % n], level);
                    assert!(r.is_ok(), "bench PCOs verify");
                    self.next += 1;
                }
            }
            Work::VerifyBatch(level) => {
                let start = (self.next * batch) % n;
                let slice: Vec<PcoBundle> = (0..batch)
                    .map(|j| fx.bundles[(start + j) % n].clone())
                    .collect();
                let rs = self.verifier.verify_pco_batch(&slice, level);
                assert!(rs.iter().all(|r| r.is_ok()), "bench PCOs verify");
                self.next += 1;
            }
            Work::BuildNoSig => {
                for _ in 0..64 {
                    let d = fx.bundles[self.next % n].recompute_aggregate();
                    std::hint::black_box(d);
                    self.next += 1;
                }
            }
            Work::VerifyNoSig => {
                for _ in 0..64 {
                    let b = &fx.bundles[self.next % n];
                    let ok = b.recompute_aggregate() == b.header.aggregate;
                    assert!(ok);
                    self.next += 1;
                }
            }
        }
        self.work.ops_per_chunk(batch)
    }
}

/// Runs `chunks` chunks of `work` on `fx`; returns the operations done.
pub fn run_chunks(fx: &Fixture, work: Work, chunks: u64) -> u64 {
    let mut m = Measurement::new(fx, work);
    (0..chunks).map(|_| m.chunk()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_runs_and_counts_its_operations() {
        let fx = Fixture::new(8).unwrap();
        for work in Work::rows() {
            assert_eq!(
                run_chunks(&fx, work, 2),
                2 * work.ops_per_chunk(8),
                "{work:?}"
            );
        }
        assert_eq!(Work::rows().len(), 11);
        assert_eq!(Work::BuildNoSig.label(), "no signature (comparison only)");
        assert_eq!(Work::VerifyBatch(Level::Causal).mode(), "batch");
    }

    #[test]
    fn batch_size_is_bounded() {
        assert!(Fixture::new(0).is_err());
        assert!(Fixture::new(BATCH_MAX + 1).is_err());
    }
}
