//! The messages between the page's coordinator and the web workers.
//!
//! Both directions are postcard-encoded enums carried in a `Uint8Array`
//! whose buffer is *transferred* (never copied into JS arrays). Every
//! request gets exactly one reply, so the coordinator can count replies.
//! Envelope batches between workers stay opaque bytes here: the coordinator
//! routes them without decoding (`lab_core::sim::encode_envelopes` on one
//! side, `decode_envelopes` on the other).

use lab_core::experiment::convergence::{ConvergenceConfig, FileTensors, NodeResolved};
use lab_core::experiment::partition::{PartitionConfig, PartitionResults};
use lab_core::experiment::scale::{ScaleConfig, ScalePoint};
use lab_core::experiment::sweep::{StrategyRow, SweepConfig};
use lab_core::experiment::trust::{TrustConfig, TrustResults};
use lab_core::report::{Report, Verdict};
use lab_core::sim::{Counters, RoundReport};
use lab_core::Digest;
use serde::{Deserialize, Serialize};

/// Largest message, in bytes, either side accepts (a 1,000-node round with
/// full state snapshots stays far below it).
pub const MESSAGE_BYTES_MAX: usize = 512 << 20;

/// The oracle digests: (state digest, resolved-tensor digest) of the join of
/// all contributions resolved once.
pub type Oracle = (Digest, Digest);

/// A request from the coordinator to one worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Host the nodes `parts[me]` of `ordering` (gossip protocols). `parts`
    /// is the whole partition, so the worker can group outgoing envelopes
    /// by destination worker. Reply: [`FromWorker::Hosted`].
    Host {
        config: ConvergenceConfig,
        ordering: u32,
        parts: Vec<(u32, u32)>,
        me: u32,
        oracle: bool,
    },
    /// Phase 1 of gossip round `round`. Reply: [`FromWorker::Emitted`].
    Emit { round: u32 },
    /// Phase 2 of `round`: the envelope batches other workers addressed to
    /// this one (each from `encode_envelopes`). Reply: [`FromWorker::Delivered`].
    Deliver { round: u32, batches: Vec<Vec<u8>> },
    /// Resolve every hosted node. Reply: [`FromWorker::Resolved`].
    Resolve,
    /// Run a whole all-pairs ordering with every node in this worker, then
    /// resolve. Reply: [`FromWorker::AllPairsDone`].
    AllPairs {
        config: ConvergenceConfig,
        ordering: u32,
        oracle: bool,
    },
    /// Run one self-contained piece of an experiment. Reply:
    /// [`FromWorker::JobDone`] with the same `index`.
    Job { index: u32, job: Job },
    /// The tensors of a model-file workload, sent to every worker before a
    /// run whose config names files (`Host`/`AllPairs` then build the
    /// workload from them, after checking each against the digest the
    /// config records). Replaces any tensors sent before. Reply:
    /// [`FromWorker::TensorsLoaded`].
    LoadTensors { tensors: FileTensors },
}

/// A self-contained piece of work a single worker computes with the same
/// engine function `lab-cli` calls, so its output is bit-identical.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Job {
    /// A whole Experiment 2 run.
    Partition(PartitionConfig),
    /// One strategy's row of Experiment 3.
    SweepRow {
        config: SweepConfig,
        strategy: String,
    },
    /// One size of Experiment 4.
    ScalePoint { config: ScaleConfig, nodes: u32 },
    /// A whole trust experiment run.
    Trust(TrustConfig),
    /// A fixed amount of benchmark work (timed by the coordinator).
    Bench(crate::bench::BenchJob),
}

/// What a [`Job`] produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JobOutput {
    Partition(Box<WireReport<PartitionConfig, PartitionResults>>),
    SweepRow(Box<StrategyRow>),
    ScalePoint(Box<ScalePoint>),
    Trust(Box<WireReport<TrustConfig, TrustResults>>),
    Bench(crate::bench::BenchOutput),
}

/// A report without its (absent) `execution`, in a shape postcard can
/// decode (`Report` skips `execution` when it is `None`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireReport<C, R> {
    pub schema: u32,
    pub experiment: String,
    pub lab_version: String,
    pub config: C,
    pub results: R,
    pub verdict: Verdict,
    pub fingerprint: String,
}

impl<C, R> From<Report<C, R>> for WireReport<C, R> {
    fn from(r: Report<C, R>) -> Self {
        WireReport {
            schema: r.schema,
            experiment: r.experiment,
            lab_version: r.lab_version,
            config: r.config,
            results: r.results,
            verdict: r.verdict,
            fingerprint: r.fingerprint,
        }
    }
}

impl<C, R> From<WireReport<C, R>> for Report<C, R> {
    fn from(r: WireReport<C, R>) -> Self {
        Report {
            schema: r.schema,
            experiment: r.experiment,
            lab_version: r.lab_version,
            config: r.config,
            results: r.results,
            verdict: r.verdict,
            fingerprint: r.fingerprint,
            execution: None,
        }
    }
}

/// A reply (or the start-up handshake) from a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The worker's wasm has loaded; it accepts requests from now on.
    Ready,
    /// Nodes hosted; the oracle digests when they were asked for.
    Hosted { oracle: Option<Oracle> },
    /// Envelopes for other workers, indexed by destination worker (empty
    /// for itself and for workers it sends nothing to), and the counters of
    /// what this worker emitted.
    Emitted {
        counters: Counters,
        batches: Vec<Vec<u8>>,
    },
    /// The round's report, emitted counters already added.
    Delivered { report: RoundReport },
    /// What resolving each hosted node gave.
    Resolved { nodes: Vec<NodeResolved> },
    /// A finished all-pairs ordering.
    AllPairsDone {
        ordering: u32,
        report: RoundReport,
        nodes: Vec<NodeResolved>,
        oracle: Option<Oracle>,
    },
    /// A finished [`ToWorker::Job`].
    JobDone { index: u32, output: JobOutput },
    /// The tensors of [`ToWorker::LoadTensors`] are kept: how many, and
    /// their total elements (the sender checks both).
    TensorsLoaded { tensors: u32, elements: u64 },
    /// The request failed (invalid config, engine error, wire error, panic).
    Failed { message: String },
}

/// Encodes a message for `postMessage`.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    postcard::to_allocvec(message).expect("protocol messages are encodable")
}

/// Decodes a message, checking its size first.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(format!(
            "message of {} bytes exceeds the limit of {MESSAGE_BYTES_MAX}",
            bytes.len()
        ));
    }
    postcard::from_bytes(bytes).map_err(|e| format!("malformed message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let msg = ToWorker::Host {
            config: ConvergenceConfig::default(),
            ordering: 3,
            parts: vec![(0, 15), (15, 30)],
            me: 1,
            oracle: true,
        };
        assert_eq!(decode::<ToWorker>(&encode(&msg)).unwrap(), msg);
        let reply = FromWorker::Failed {
            message: "boom".into(),
        };
        assert_eq!(decode::<FromWorker>(&encode(&reply)).unwrap(), reply);
    }

    #[test]
    fn model_tensors_round_trip() {
        let t = lab_core::Tensor::new(vec![2, 2], vec![1.0, -0.5, 0.25, 3.0]).unwrap();
        let msg = ToWorker::LoadTensors {
            tensors: FileTensors {
                contributions: vec![t.clone(), t.clone()],
                base: Some(t),
            },
        };
        assert_eq!(decode::<ToWorker>(&encode(&msg)).unwrap(), msg);
        let reply = FromWorker::TensorsLoaded {
            tensors: 3,
            elements: 12,
        };
        assert_eq!(decode::<FromWorker>(&encode(&reply)).unwrap(), reply);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<ToWorker>(&[0xff, 0xff, 0xff]).is_err());
    }
}
