//! The engine's typed errors. Invalid external input (configs, files, URL
//! parameters that reach the engine) becomes one of these; broken internal
//! invariants are assertions, not errors.

use thiserror::Error;

/// Why a merge strategy could not produce a result.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MergeError {
    #[error("no contributions to merge")]
    Empty,
    #[error("strategy '{0}' requires a base model but none was provided")]
    MissingBase(String),
    #[error("sum of weights must not be zero")]
    ZeroWeightSum,
    #[error("{expected} weights expected, {got} given")]
    WeightCount { expected: usize, got: usize },
    #[error("shape mismatch: {what} has shape {got:?}, expected {expected:?}")]
    ShapeMismatch {
        what: String,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    #[error("{what} contains a non-finite value (NaN or infinity) at element {index}")]
    NonFinite { what: String, index: usize },
    #[error("0-dimensional tensors are not supported by '{0}'")]
    ZeroDimensional(String),
    #[error("unknown strategy '{0}'")]
    UnknownStrategy(String),
    #[error("parameter '{name}' of '{strategy}': {reason}")]
    BadParameter {
        strategy: String,
        name: String,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Why a tensor could not be built.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TensorError {
    #[error("shape {shape:?} has {expected} elements but {got} values were given")]
    LengthMismatch {
        shape: Vec<usize>,
        expected: usize,
        got: usize,
    },
    #[error("tensor of shape {shape:?} exceeds the element limit of {limit}")]
    TooLarge { shape: Vec<usize>, limit: usize },
    #[error("tensor has {0} dimensions; at most 8 are supported")]
    TooManyDims(usize),
}

/// Why an experiment configuration was rejected (shown to the user in words).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConfigError {
    #[error("{name} must be between {min} and {max}, got {got}")]
    OutOfRange {
        name: &'static str,
        min: u64,
        max: u64,
        got: u64,
    },
    #[error("unknown protocol '{0}' (expected all-pairs, push, pull or push-pull)")]
    UnknownProtocol(String),
    #[error("unknown strategy '{0}'")]
    UnknownStrategy(String),
    #[error("fan-out {fanout} must be below the number of nodes ({nodes})")]
    FanoutTooLarge { fanout: u32, nodes: u32 },
    #[error("{0}")]
    Invalid(String),
}

/// Any failure of an experiment run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LabError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("merge failed: {0}")]
    Merge(#[from] MergeError),
    #[error("{0}")]
    Wire(String),
    #[error("cancelled")]
    Cancelled,
}
