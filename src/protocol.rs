//! The messages between the page's coordinator and the web workers.
//!
//! Both directions are postcard-encoded enums carried in a `Uint8Array`
//! whose buffer is *transferred* (never copied into JS arrays). Every
//! request gets exactly one reply, so the coordinator can count replies.
//! Envelope batches between workers stay opaque bytes here: the coordinator
//! routes them without decoding (`lab_core::sim::encode_envelopes` on one
//! side, `decode_envelopes` on the other).

use crate::pages::reproduce::{Checked, ReportError};
use lab_core::experiment::convergence::{
    ConvergenceConfig, FileTensors, FileWorkload, NodeResolved,
};
use lab_core::experiment::partition::{PartitionConfig, PartitionResults};
use lab_core::experiment::scale::{ScaleConfig, ScalePoint};
use lab_core::experiment::sweep::{StrategyRow, SweepConfig};
use lab_core::experiment::trust::{TrustConfig, TrustResults};
use lab_core::loader::Slice;
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
    /// resolve the nodes `resolve.0..resolve.1` (the coordinator may split
    /// one ordering's resolves over several workers, each running the same
    /// gossip). Reply: [`FromWorker::AllPairsDone`].
    AllPairs {
        config: ConvergenceConfig,
        ordering: u32,
        oracle: bool,
        resolve: (u32, u32),
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
    /// The real-weights panel's contribution files (two or more): the
    /// worker checks every header and layout (browser limits) and, only if
    /// all are valid and share a tensor that can be merged, keeps them in
    /// place of the files it kept before. Reply: [`FromWorker::ModelFiles`].
    ModelFiles { files: Vec<NamedBytes> },
    /// The panel's base model file (`None` removes it), checked and kept
    /// the same way. Reply: [`FromWorker::ModelBase`].
    ModelBase { base: Option<NamedBytes> },
    /// Load `tensor` (or its `slice`) from the kept files and base, all or
    /// nothing. Reply: [`FromWorker::ModelTensor`].
    LoadModelTensor {
        tensor: String,
        slice: Option<Slice>,
    },
}

/// A file's name and its bytes (sent as one byte string, not a sequence).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedBytes {
    pub name: String,
    #[serde(with = "byte_string")]
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for NamedBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NamedBytes({:?}, {} bytes)", self.name, self.bytes.len())
    }
}

/// `Vec<u8>` as serde bytes: postcard then copies it in one piece instead
/// of element by element (what `serde_bytes` does, without the dependency).
mod byte_string {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

/// One entry of the real-weights panel's tensor picker: a tensor every
/// contributed file has.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TensorChoice {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    pub elements: u64,
    /// Why it cannot be merged (unsupported dtype, mismatch), if it cannot.
    pub issue: Option<String>,
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
    /// Check a report's fingerprint (the Reproduce page): the report's
    /// JSON text, parsed and recomputed here so the page carries no JSON
    /// deserializer for the six report types.
    CheckReport(String),
}

/// What a [`Job`] produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JobOutput {
    /// The report, and its rounds for the network view.
    Partition(
        Box<WireReport<PartitionConfig, PartitionResults>>,
        Box<crate::components::network::Trace>,
    ),
    SweepRow(Box<StrategyRow>),
    ScalePoint(Box<ScalePoint>),
    Trust(Box<WireReport<TrustConfig, TrustResults>>),
    Bench(crate::bench::BenchOutput),
    /// What checking the report found (or why it could not be checked).
    CheckReport(Box<Result<Checked, ReportError>>),
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
    /// A finished all-pairs ordering (`nodes`: the ones it was asked to
    /// resolve).
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
    /// The files of [`ToWorker::ModelFiles`] are kept: the tensors they
    /// have in common, in the first file's order.
    ModelFiles { choices: Vec<TensorChoice> },
    /// The base of [`ToWorker::ModelBase`] is kept (or removed).
    ModelBase,
    /// What [`ToWorker::LoadModelTensor`] loaded.
    ModelTensor {
        workload: FileWorkload,
        tensors: FileTensors,
    },
    /// Progress inside the running [`ToWorker::Job`] `index`, sent (at most
    /// every [`crate::worker_core::PROGRESS_INTERVAL_MS`] of worker time)
    /// before its [`FromWorker::JobDone`]: `step` of at most `steps` (e.g.
    /// a trust run's round and its round limit) and what it means in words.
    /// Not a reply: the coordinator still waits for `JobDone`.
    JobProgress {
        index: u32,
        step: u32,
        steps: u32,
        detail: String,
    },
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
    fn file_bytes_travel_as_one_byte_string() {
        let msg = ToWorker::ModelFiles {
            files: vec![NamedBytes {
                name: "a.safetensors".into(),
                bytes: (0..=255).collect(),
            }],
        };
        let bytes = encode(&msg);
        // variant, count, name, then the length and the 256 raw bytes.
        assert!(bytes.len() < 256 + 32, "{}", bytes.len());
        assert_eq!(decode::<ToWorker>(&bytes).unwrap(), msg);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode::<ToWorker>(&[0xff, 0xff, 0xff]).is_err());
    }
}
