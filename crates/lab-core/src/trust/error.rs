//! Typed errors of the trust layer: one variant per rejection reason.
//!
//! A rejection is never evidence by itself. Evidence exists only where a
//! roster member's own valid signatures contradict each other
//! ([`super::evidence`]).

use super::identity::NodeId;
use super::sig::SigError;
use crate::crdt::{Dot, MODEL_ID_BYTES_MAX};
use crate::hash::Digest;
use thiserror::Error;

/// A structurally invalid operation body (checked before any signature).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MalformedOp {
    #[error("model id must be 1..={MODEL_ID_BYTES_MAX} bytes, got {0}")]
    BadModelId(usize),
    #[error("version must be at least 1")]
    ZeroVersion,
    #[error("weight must be finite, got {0}")]
    NonFiniteWeight(f64),
    #[error("dot counter must be at least 1")]
    ZeroCounter,
    #[error("originator {originator} signs a dot of replica {dot_replica}")]
    ForeignDot {
        originator: NodeId,
        dot_replica: NodeId,
    },
    #[error("originator {originator} signs a clock stamp of node {stamp_node}")]
    ForeignStamp {
        originator: NodeId,
        stamp_node: NodeId,
    },
}

/// Why a signed operation was not accepted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OpError {
    #[error("malformed operation: {0}")]
    Malformed(#[from] MalformedOp),
    #[error("originator {0} is not on the roster")]
    UnknownIdentity(NodeId),
    #[error("bad signature for claimed originator {originator}: {reason}")]
    BadSignature {
        originator: NodeId,
        reason: SigError,
    },
    #[error("the ledger is full ({0} operations)")]
    LedgerFull(usize),
}

/// Why an honest signer refused to sign: each refusal protects the node from
/// producing something that would (rightly) count as evidence against it.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SignError {
    #[error("malformed operation: {0}")]
    Malformed(#[from] MalformedOp),
    #[error("node {me} cannot sign for originator {claimed}")]
    NotMine { me: NodeId, claimed: NodeId },
    #[error("the next dot of node {me} is {expected}, got {got}")]
    NotNextDot { me: NodeId, expected: u64, got: u64 },
    #[error("'{model_id}' version {version} was already signed with other content")]
    WouldEquivocate { model_id: String, version: u32 },
    #[error("the tensor bytes hash to {got:?}, the operation names {expected:?}")]
    TensorMismatch { expected: Digest, got: Digest },
    #[error("no own operation with counter {0}")]
    UnknownCounter(u64),
    #[error("invalid delta bounds {lo}..={hi}")]
    BadBounds { lo: u64, hi: u64 },
    #[error("the context holds {own} own events but the delta ends at {hi}")]
    ContextBehind { own: u64, hi: u64 },
    #[error("cannot build the PCO: {0}")]
    Build(#[from] BuildError),
}

/// Why a PCO could not be built at all (limits, arithmetic).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BuildError {
    #[error("a PCO carries 1..={max} operations, got {got}")]
    PayloadSize { got: usize, max: usize },
    #[error("the logical time (sum of the context) overflows u64")]
    LogicalTimeOverflow,
}

/// Why 128 bytes are not a PCO header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum WireError {
    #[error("a PCO header is 128 bytes, got {0}")]
    Length(usize),
    #[error("unsupported PCO version {0}")]
    Version(u16),
    #[error("unknown PCO flags {0:#06x}")]
    Flags(u16),
}

/// Why a PCO failed verification at the requested level.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PcoError {
    #[error("wire format: {0}")]
    Wire(#[from] WireError),
    #[error("originator {0} is not on the roster")]
    UnknownIdentity(NodeId),
    #[error("bad signature for claimed originator {originator}: {reason}")]
    BadSignature {
        originator: NodeId,
        reason: SigError,
    },
    #[error("a PCO carries 1..={max} operations, got {got}")]
    PayloadSize { got: usize, max: usize },
    #[error("payload operation {index}: {reason}")]
    Malformed { index: usize, reason: MalformedOp },
    #[error("payload operation {index} belongs to originator {found}, the PCO to {originator}")]
    ForeignOp {
        index: usize,
        originator: NodeId,
        found: NodeId,
    },
    #[error("the causal context is invalid: {0}")]
    BadContext(&'static str),
    #[error("the aggregate does not match the claimed fields and payload")]
    AggregateMismatch,
    #[error("metadata logical time {claimed} differs from the context's {computed}")]
    LogicalTimeMismatch { claimed: u64, computed: u64 },
    #[error("originator {originator}: {have} operations known, the delta needs the first {need}")]
    MissingHistory {
        originator: NodeId,
        have: u64,
        need: u64,
    },
    #[error("Merkle root after applying: claimed {claimed:?}, computed {computed:?}")]
    RootMismatch { claimed: Digest, computed: Digest },
    #[error("delta bounds {lo}..={hi} are not minimal: {reason}")]
    BoundsNotMinimal {
        lo: u64,
        hi: u64,
        reason: &'static str,
    },
    #[error(
        "operation {dot:?} contradicts a known operation with the same dot (evidence recorded)"
    )]
    DotConflict { dot: Dot },
    #[error("the context holds {own} events of the originator but the delta ends at {hi} (evidence recorded)")]
    ContextBehindDot { own: u64, hi: u64 },
    #[error("the context claims {claimed} events of this node, which made only {made}")]
    ContextAhead { claimed: u64, made: u64 },
    #[error("originator {originator} is distrusted (trust {trust} below the threshold)")]
    Distrusted { originator: NodeId, trust: f64 },
    #[error("the ledger is full ({0} operations)")]
    LedgerFull(usize),
}

/// Why tensor bytes could not be checked against an operation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TensorCheckError {
    #[error("no verified operation with dot {0:?} is known (ingest the operation first)")]
    UnknownOp(Dot),
    #[error("the attestation's signer: {0}")]
    Op(#[from] OpError),
    #[error("the bytes hash to {computed:?} but the attestation names {attested:?} (corrupted in transit; nobody is blamed)")]
    RelayMismatch { attested: Digest, computed: Digest },
    #[error("the attestation names another operation or originator")]
    WrongOp,
    #[error("bad attestation signature: {0}")]
    BadSignature(SigError),
    #[error("the evidence could not be recorded: {0}")]
    Evidence(EvidenceError),
}

/// Why a piece of evidence does not prove anything.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum EvidenceError {
    #[error("operation {which}: {reason}")]
    Op {
        which: &'static str,
        reason: OpError,
    },
    #[error("operation {which}: its PCO proof does not hold: {reason}")]
    Pco {
        which: &'static str,
        reason: PcoError,
    },
    #[error("operation {which} is not in the payload of its PCO proof")]
    NotInPayload { which: &'static str },
    #[error("the two operations have different originators")]
    DifferentOriginators,
    #[error("the two operations are for different (model id, version)")]
    DifferentKeys,
    #[error("the two operations carry the same content")]
    SameContent,
    #[error("the two operations have different dots")]
    DifferentDots,
    #[error("the two operations are the same operation")]
    SameOperation,
    #[error("the pair is not in canonical order")]
    NotCanonical,
    #[error("the attestation does not name this operation")]
    AttestationMismatch,
    #[error("bad attestation signature: {0}")]
    AttestationSignature(SigError),
    #[error("the attested bytes match the signed digest: nothing is wrong")]
    ContentMatches,
    #[error("the PCO's context does not contradict its bounds")]
    ContextConsistent,
    #[error("the evidence set is full ({0} records)")]
    Full(usize),
}
