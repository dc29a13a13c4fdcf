//! # lab-core — the Convergence Lab engine
//!
//! The lab shows why a *two-layer* design makes neural-network model merging
//! converge across replicas:
//!
//! - **Layer 1 — [`crdt`]**: each node holds a replicated set of model
//!   contributions `(model_id, version, weight, tensor digest)`. It is a real
//!   CRDT (an add-wins observed-remove set with dots and a version-vector
//!   context), so merging two replicas is a lattice join: commutative,
//!   associative and idempotent. Whatever order messages arrive in, replicas
//!   that have seen the same operations hold the same state.
//! - **Layer 2 — [`strategy`]**: a merge strategy (weight averaging, SLERP,
//!   TIES, DARE, …) is a pure function applied *once* to the whole visible set
//!   in canonical order. Same set ⇒ same bits.
//! - **The negative control**: applying a strategy *pairwise* in gossip order
//!   (what a naive system does) gives different results on different nodes.
//!
//! Around the two layers: [`sim`] is a deterministic round-based network
//! simulator (gossip protocols, later faults and partitions), [`experiment`]
//! runs the lab's experiments on it, and [`report`] turns a run into a
//! versioned, fingerprinted [`report::Report`].
//!
//! ## The rules this crate keeps
//! - **Pure.** No I/O, no clock, no thread-local or OS randomness. A run is a
//!   function of `(config, seed)`; callers measure time themselves.
//! - **Bit-for-bit deterministic.** `libm` for transcendental functions,
//!   fixed summation order, no hash-map iteration in results, randomness only
//!   from ChaCha streams keyed by `(seed, purpose, ids)` ([`rng`]). The same
//!   config gives the same fingerprint natively and in WebAssembly, with any
//!   number of executors.
//! - **Bounded.** Every collection that grows with input has a checked limit.
//!
//! ## Example (soon)

#![forbid(unsafe_code)]

pub mod conformance;
pub mod crdt;
pub mod error;
pub mod experiment;
pub mod finetune;
pub mod hash;
pub mod loader;
pub mod pyrandom;
pub mod report;
pub mod rng;
pub mod sim;
pub mod strategy;
pub mod tensor;
pub mod theory;
pub mod trust;
pub mod workload;

pub use error::{ConfigError, LabError, MergeError, TensorError};
pub use hash::Digest;
pub use tensor::Tensor;

/// The engine's version, recorded in every report.
pub const LAB_VERSION: &str = env!("CARGO_PKG_VERSION");
