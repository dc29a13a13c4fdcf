//! Experiment 1 — multi-node convergence.
//!
//! N nodes each contribute one tensor: a synthetic `dim × dim` one (Gaussian
//! or a synthetic fine-tune), or one tensor of real `.safetensors` model
//! files ([`FileWorkload`]: node `i` contributes file `i mod F`). For each of K
//! orderings (independent peer/merge schedules drawn from the seed) the nodes
//! gossip until every replica state is identical, then every node resolves
//! its set with the strategy. The verdict holds when, within and across
//! orderings, every node has the same state digest and the same resolved
//! tensor digest, and both equal an oracle (the join of all contributions,
//! resolved once).

use super::params::{check_fanout, protocol_field, range, workload_fields, Field, QueryIssue};
use crate::crdt::{ConflictPolicy, Contribution, ContributionSet, Hlc, ReplicaConfigDigest};
use crate::error::{ConfigError, LabError, MergeError};
use crate::finetune::{self, FineTuneSpec};
use crate::hash::Digest;
use crate::loader::{self, LoadError, Slice};
use crate::report::{Check, Report, Verdict};
use crate::sim::driver::{OrderingDriver, RoundStats, Step};
use crate::sim::faults::{ChurnAction, FaultPlan};
use crate::sim::{
    decode_envelopes, encode_envelopes, partition_nodes, AntiEntropy, Contributions, Envelope,
    Executor, Protocol, RoundReport, Schedule, NODES_MAX, ROUNDS_MAX,
};
use crate::strategy::{self, params_bytes, MergeInputs, Params};
use crate::tensor::{element_count, Tensor, TENSOR_DIMS_MAX};
use crate::workload::{
    model_id, synthetic_base, synthetic_tensor, synthetic_tensor_version, TensorPool,
    WORKLOAD_ELEMENTS_MAX,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

/// Experiment name used in reports, URLs and the CLI.
pub const NAME: &str = "convergence";
/// Largest tensor side.
pub const DIM_MAX: u32 = 1024;
/// Most orderings per run.
pub const ORDERINGS_MAX: u32 = 100;
/// Largest seed (2^53 − 1, so it survives JavaScript numbers and URLs).
pub const SEED_MAX: u64 = (1 << 53) - 1;
/// Most model files one run may merge.
pub const FILES_MAX: usize = 64;
/// Longest file or tensor name recorded in a config, in bytes.
pub const NAME_BYTES_MAX: usize = 256;

/// Whether every node resolves its own state, or each executor resolves each
/// distinct state once (for large runs; results are identical by
/// construction, so this only changes the work done).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResolveMode {
    EveryNode,
    OncePerState,
}

impl ResolveMode {
    pub fn name(self) -> &'static str {
        match self {
            ResolveMode::EveryNode => "every-node",
            ResolveMode::OncePerState => "once-per-state",
        }
    }
}

/// The full configuration of a convergence run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConvergenceConfig {
    pub nodes: u32,
    pub dim: u32,
    pub orderings: u32,
    pub protocol: Protocol,
    pub fanout: u32,
    pub strategy: String,
    pub seed: u64,
    pub rounds_max: u32,
    pub resolve: ResolveMode,
    pub policy: ConflictPolicy,
    pub anti_entropy: AntiEntropy,
    /// What the nodes contribute.
    pub workload: WorkloadKind,
    /// Parameters of the fine-tune workload (ignored for `gaussian`).
    pub finetune: FineTuneParams,
}

/// What the nodes contribute: a synthetic tensor, or real model files.
///
/// `Files` is the last variant on purpose: postcard encodes a variant by its
/// index, so adding it left every synthetic config's bytes (and so every
/// existing fingerprint) unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadKind {
    /// Independent standard-normal `dim × dim` tensors (what the seed lab
    /// used; the `seed` suite preset keeps it).
    Gaussian,
    /// A shared base plus overlapping low-rank, sparse task vectors and
    /// noise (see [`crate::finetune`]), so TIES/DARE behave as on real
    /// fine-tunes. The default of every experiment.
    #[default]
    FineTune,
    /// One tensor of real `.safetensors` files. The config records what was
    /// merged (names, sizes, digests); the tensors themselves travel beside
    /// it ([`FileTensors`]) and are checked against those digests.
    Files(FileWorkload),
}

impl WorkloadKind {
    pub fn name(&self) -> &'static str {
        match self {
            WorkloadKind::Gaussian => "gaussian",
            WorkloadKind::FineTune => "finetune",
            WorkloadKind::Files(_) => "files",
        }
    }

    /// The file workload, if this is one.
    pub fn files(&self) -> Option<&FileWorkload> {
        match self {
            WorkloadKind::Files(f) => Some(f),
            _ => None,
        }
    }
}

/// One model file as a config records it: enough to say exactly what was
/// merged and to refuse other bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFileRef {
    /// The file's name (no directory), as given to the loader.
    pub name: String,
    /// File size in bytes.
    pub bytes: u64,
    /// Plain BLAKE3 of the whole file, hex (what `b3sum FILE` prints).
    pub blake3: String,
    /// [`Tensor::digest`] of the tensor (or slice) loaded from it, hex.
    pub tensor_digest: String,
}

/// A workload of real model files: the same tensor (or the same slice of
/// it) from every file. Node `i` contributes `files[i mod files.len()]`, so
/// a run may have more nodes than files (with `nodes` not a multiple of the
/// file count, the first files are contributed once more than the others).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWorkload {
    /// The contributed files, in the order given.
    pub files: Vec<ModelFileRef>,
    /// The base model, for the strategies that need one (task arithmetic,
    /// TIES, DARE, …). Without one the base is all zeros, which only an
    /// empty set (never reached in this experiment) resolves to.
    pub base: Option<ModelFileRef>,
    /// The tensor's name in every file.
    pub tensor: String,
    /// Its dtype in the files (`F32`, `BF16`, …).
    pub dtype: String,
    /// Its shape in the files (before slicing).
    pub shape: Vec<usize>,
    /// The part loaded, if not all of it.
    pub slice: Option<Slice>,
}

impl FileWorkload {
    /// The shape of the loaded tensor (after the slice).
    pub fn loaded_shape(&self) -> Result<Vec<usize>, String> {
        loader::sliced_shape(&self.shape, self.slice)
    }

    /// The number of elements of the loaded tensor (0 if the slice is bad).
    pub fn elements(&self) -> u64 {
        self.loaded_shape()
            .ok()
            .and_then(|s| element_count(&s))
            .map_or(0, |n| n as u64)
    }

    /// Checks names, counts, digests and sizes (not the strategy).
    fn validate(&self, nodes: u32) -> Result<(), ConfigError> {
        let bad = |m: String| Err(ConfigError::Invalid(m));
        let n = self.files.len();
        if !(2..=FILES_MAX).contains(&n) {
            return bad(format!(
                "merging model files needs 2…{FILES_MAX} files, got {n}"
            ));
        }
        if (nodes as usize) < n {
            return bad(format!(
                "{n} model files need at least {n} nodes (node i contributes file i mod {n}), got {nodes}"
            ));
        }
        check_name("tensor name", &self.tensor)?;
        for f in self.files.iter().chain(&self.base) {
            check_name("file name", &f.name)?;
            for (what, hex) in [("BLAKE3", &f.blake3), ("tensor digest", &f.tensor_digest)] {
                if Digest::from_hex(hex).is_none() {
                    return bad(format!("file '{}': {what} is not 64 hex digits", f.name));
                }
            }
        }
        let shape = self.loaded_shape().map_err(|r| {
            ConfigError::Invalid(format!("tensor '{}': bad slice: {r}", self.tensor))
        })?;
        if shape.len() > TENSOR_DIMS_MAX {
            return bad(format!(
                "tensor '{}' has {} dimensions, at most {TENSOR_DIMS_MAX} are supported",
                self.tensor,
                shape.len()
            ));
        }
        let tensors = n as u64 + 1;
        let elements = self.elements();
        if elements == 0 || elements.saturating_mul(tensors) > WORKLOAD_ELEMENTS_MAX {
            return bad(format!(
                "{tensors} tensors of {elements} elements exceed the workload limit of {WORKLOAD_ELEMENTS_MAX} elements; take a slice"
            ));
        }
        Ok(())
    }

    /// The `lab-cli` flags that load this workload (files by name, so run
    /// the command where the files are).
    pub fn cli_flags(&self) -> String {
        let mut out = String::from(" --weights");
        for f in &self.files {
            out.push(' ');
            out.push_str(&shell_word(&f.name));
        }
        out += &format!(" --tensor {}", shell_word(&self.tensor));
        if let Some(b) = &self.base {
            out += &format!(" --base {}", shell_word(&b.name));
        }
        match self.slice {
            Some(Slice::Rows { start, end }) => out += &format!(" --rows {start}..{end}"),
            Some(Slice::Elements { start, end }) => out += &format!(" --elements {start}..{end}"),
            None => {}
        }
        out
    }
}

/// A recorded name: non-empty, bounded, no control characters.
fn check_name(what: &str, name: &str) -> Result<(), ConfigError> {
    if name.is_empty() || name.len() > NAME_BYTES_MAX || name.chars().any(char::is_control) {
        return Err(ConfigError::Invalid(format!(
            "{what} '{}' must be 1…{NAME_BYTES_MAX} bytes without control characters",
            name.escape_debug()
        )));
    }
    Ok(())
}

/// `word` as one POSIX shell word: as is when it is plainly safe, otherwise
/// single-quoted.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/+=:@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The tensors of a [`FileWorkload`], in its file order, as loaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileTensors {
    pub contributions: Vec<Tensor>,
    pub base: Option<Tensor>,
}

/// Loads `tensor` (or its `slice`) from every file and the optional base,
/// all or nothing, and describes the result as a [`FileWorkload`]. `files`
/// and `base` pair each file's name (recorded as given: pass the name
/// without its directory) with its bytes. Every file is validated whole; the
/// tensor must have the same shape and dtype everywhere.
pub fn load_files(
    files: &[(&str, &[u8])],
    base: Option<(&str, &[u8])>,
    tensor: &str,
    slice: Option<Slice>,
    limits: &loader::Limits,
) -> Result<(FileWorkload, FileTensors), LoadError> {
    let all: Vec<(&str, &[u8])> = files.iter().copied().chain(base).collect();
    let models = all
        .iter()
        .map(|(name, bytes)| loader::inspect_with(name, bytes, limits))
        .collect::<Result<Vec<_>, _>>()?;
    let common = loader::common_tensor(&models, tensor)?;
    let mut loaded = all
        .iter()
        .map(|(name, bytes)| loader::load_tensor_with(name, bytes, tensor, slice, limits))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<ModelFileRef> = all
        .iter()
        .zip(&loaded)
        .map(|((name, bytes), t)| ModelFileRef {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            blake3: blake3::hash(bytes).to_hex().to_string(),
            tensor_digest: t.digest().to_hex(),
        })
        .collect();
    let base_tensor = base.and_then(|_| loaded.pop());
    let mut refs = refs;
    let base_ref = base.and_then(|_| refs.pop());
    let workload = FileWorkload {
        files: refs,
        base: base_ref,
        tensor: tensor.to_string(),
        dtype: common.dtypes[0].name().to_string(),
        shape: common.shape,
        slice,
    };
    Ok((
        workload,
        FileTensors {
            contributions: loaded,
            base: base_tensor,
        },
    ))
}

/// Fine-tune workload parameters (the layer is `dim × dim`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FineTuneParams {
    pub rank: u32,
    pub scale: f64,
    pub sparsity: f64,
    pub overlap: f64,
    pub noise: f64,
}

impl Default for FineTuneParams {
    fn default() -> Self {
        let d = FineTuneSpec::default();
        FineTuneParams {
            rank: d.rank,
            scale: d.scale,
            sparsity: d.sparsity,
            overlap: d.overlap,
            noise: d.noise,
        }
    }
}

impl FineTuneParams {
    /// The generator's spec for a `dim × dim` layer. The rank is capped at
    /// `dim` (a `dim × dim` update has no higher rank), so small layers keep
    /// the default parameters valid.
    pub fn spec(&self, dim: u32) -> FineTuneSpec {
        FineTuneSpec {
            rows: dim,
            cols: dim,
            rank: self.rank.min(dim),
            scale: self.scale,
            sparsity: self.sparsity,
            overlap: self.overlap,
            noise: self.noise,
        }
    }
}

impl Default for ConvergenceConfig {
    /// The seed lab's sizes (30 nodes, 128×128, 5 orderings, all-pairs), on
    /// synthetic fine-tunes (the seed lab's Gaussian tensors: `workload:
    /// Gaussian`, as the `seed` suite preset sets).
    fn default() -> Self {
        ConvergenceConfig {
            nodes: 30,
            dim: 128,
            orderings: 5,
            protocol: Protocol::AllPairs,
            fanout: 1,
            strategy: "weight_average".into(),
            seed: 42,
            rounds_max: 1000,
            resolve: ResolveMode::EveryNode,
            policy: ConflictPolicy::LastWriterWins,
            anti_entropy: AntiEntropy::Full,
            workload: WorkloadKind::default(),
            finetune: FineTuneParams::default(),
        }
    }
}

/// The experiments whose nodes contribute a [`WorkloadKind`] (with its
/// [`FineTuneParams`]): convergence, partition, sweep, scale and trust. One
/// set of query fields (`params::workload_fields!`) and one set of command
/// line flags ([`HasWorkload::workload_flags`]) serve them all.
pub trait HasWorkload {
    fn workload_kind(&self) -> &WorkloadKind;
    fn workload_kind_mut(&mut self) -> &mut WorkloadKind;
    fn finetune_params(&self) -> &FineTuneParams;
    fn finetune_params_mut(&mut self) -> &mut FineTuneParams;

    /// The workload part of a `lab-cli` command line (always explicit, so a
    /// printed command keeps its meaning when defaults change).
    fn workload_flags(&self) -> String {
        match self.workload_kind() {
            WorkloadKind::Gaussian => " --workload gaussian".into(),
            WorkloadKind::Files(f) => f.cli_flags(),
            WorkloadKind::FineTune => {
                let f = self.finetune_params();
                format!(
                    " --workload finetune --ft-rank {} --ft-scale {} --ft-sparsity {} --ft-overlap {} --ft-noise {}",
                    f.rank, f.scale, f.sparsity, f.overlap, f.noise
                )
            }
        }
    }
}

/// Implements [`HasWorkload`] for a config with `workload` and `finetune`
/// fields.
macro_rules! impl_has_workload {
    ($($c:ty),* $(,)?) => {$(
        impl $crate::experiment::convergence::HasWorkload for $c {
            fn workload_kind(&self) -> &$crate::experiment::convergence::WorkloadKind {
                &self.workload
            }
            fn workload_kind_mut(&mut self) -> &mut $crate::experiment::convergence::WorkloadKind {
                &mut self.workload
            }
            fn finetune_params(&self) -> &$crate::experiment::convergence::FineTuneParams {
                &self.finetune
            }
            fn finetune_params_mut(
                &mut self,
            ) -> &mut $crate::experiment::convergence::FineTuneParams {
                &mut self.finetune
            }
        }
    )*};
}
pub(crate) use impl_has_workload;

impl_has_workload!(ConvergenceConfig);

/// Checks a workload for `nodes` nodes of `dim × dim` (synthetic) or the
/// recorded files: counts, names, digests, the fine-tune parameters and the
/// element limit. (Whether the strategy needs a base file is the caller's.)
pub fn validate_workload(
    workload: &WorkloadKind,
    finetune: &FineTuneParams,
    nodes: u32,
    dim: u32,
) -> Result<(), ConfigError> {
    match workload {
        WorkloadKind::Files(files) => files.validate(nodes),
        synthetic => {
            let elements = (nodes as u64 + 1) * (dim as u64) * (dim as u64);
            if elements > WORKLOAD_ELEMENTS_MAX {
                return Err(ConfigError::Invalid(format!(
                    "nodes × dim² = {elements} elements exceeds the workload limit of {WORKLOAD_ELEMENTS_MAX}; use fewer nodes or a smaller dim"
                )));
            }
            if *synthetic == WorkloadKind::FineTune {
                range(
                    "ft_rank",
                    finetune.rank as u64,
                    1,
                    finetune::FINETUNE_RANK_MAX as u64,
                )?;
                finetune.spec(dim).validate().map_err(|e| match e {
                    // Name the query key, so a bad link resets only it.
                    finetune::FineTuneError::OutOfRange {
                        name: "rank",
                        min,
                        max,
                        got,
                    } => ConfigError::OutOfRange {
                        name: "ft_rank",
                        min,
                        max,
                        got,
                    },
                    other => other.into(),
                })?;
            }
            Ok(())
        }
    }
}

/// Query-field accessors shared by every [`HasWorkload`] config (used by
/// `params::workload_fields!`).
pub(crate) mod workload_field {
    use super::{HasWorkload, WorkloadKind};
    use crate::error::ConfigError;
    use crate::experiment::params::parse_f64;

    pub fn get<C: HasWorkload>(c: &C) -> String {
        c.workload_kind().name().into()
    }

    pub fn set<C: HasWorkload>(c: &mut C, v: &str) -> Result<(), ConfigError> {
        *c.workload_kind_mut() = match v {
            "gaussian" => WorkloadKind::Gaussian,
            "finetune" => WorkloadKind::FineTune,
            "files" => {
                return Err(ConfigError::Invalid(
                    "model files cannot travel in a link: load the same files on the page (nothing is uploaded) or pass them to lab-cli with --weights".into(),
                ))
            }
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "unknown workload '{v}' (gaussian or finetune)"
                )))
            }
        };
        Ok(())
    }

    pub fn rank<C: HasWorkload>(c: &C) -> u32 {
        c.finetune_params().rank
    }

    pub fn set_rank<C: HasWorkload>(c: &mut C, v: u32) {
        c.finetune_params_mut().rank = v;
    }

    pub fn scale<C: HasWorkload>(c: &C) -> String {
        c.finetune_params().scale.to_string()
    }

    pub fn set_scale<C: HasWorkload>(c: &mut C, v: &str) -> Result<(), ConfigError> {
        parse_f64(v).map(|x| c.finetune_params_mut().scale = x)
    }

    pub fn sparsity<C: HasWorkload>(c: &C) -> String {
        c.finetune_params().sparsity.to_string()
    }

    pub fn set_sparsity<C: HasWorkload>(c: &mut C, v: &str) -> Result<(), ConfigError> {
        parse_f64(v).map(|x| c.finetune_params_mut().sparsity = x)
    }

    pub fn overlap<C: HasWorkload>(c: &C) -> String {
        c.finetune_params().overlap.to_string()
    }

    pub fn set_overlap<C: HasWorkload>(c: &mut C, v: &str) -> Result<(), ConfigError> {
        parse_f64(v).map(|x| c.finetune_params_mut().overlap = x)
    }

    pub fn noise<C: HasWorkload>(c: &C) -> String {
        c.finetune_params().noise.to_string()
    }

    pub fn set_noise<C: HasWorkload>(c: &mut C, v: &str) -> Result<(), ConfigError> {
        parse_f64(v).map(|x| c.finetune_params_mut().noise = x)
    }
}

impl ConvergenceConfig {
    /// Checks every field against its limit.
    pub fn validate(&self) -> Result<(), ConfigError> {
        range("nodes", self.nodes as u64, 2, NODES_MAX as u64)?;
        range("dim", self.dim as u64, 1, DIM_MAX as u64)?;
        range("orderings", self.orderings as u64, 1, ORDERINGS_MAX as u64)?;
        range("rounds_max", self.rounds_max as u64, 1, ROUNDS_MAX as u64)?;
        range("seed", self.seed, 0, SEED_MAX)?;
        check_fanout(self.fanout, self.nodes)?;
        let Some(strategy) = strategy::find(&self.strategy) else {
            return Err(ConfigError::UnknownStrategy(self.strategy.clone()));
        };
        validate_workload(&self.workload, &self.finetune, self.nodes, self.dim)?;
        if let WorkloadKind::Files(files) = &self.workload {
            if strategy.info().needs_base && files.base.is_none() {
                return Err(ConfigError::Invalid(format!(
                    "strategy '{}' needs a base model: add a base file, or pick a strategy that needs none",
                    self.strategy
                )));
            }
        }
        if self.anti_entropy == AntiEntropy::Delta
            && !matches!(self.protocol, Protocol::Pull | Protocol::PushPull)
        {
            return Err(ConfigError::Invalid(
                "delta anti-entropy answers requests: use pull or push-pull".into(),
            ));
        }
        if self.anti_entropy == AntiEntropy::Merkle && self.protocol == Protocol::AllPairs {
            return Err(ConfigError::Invalid(
                "Merkle anti-entropy is a gossip exchange: use push, pull or push-pull".into(),
            ));
        }
        Ok(())
    }

    /// The equivalent `lab-cli` command line.
    pub fn cli_command(&self) -> String {
        format!(
            "lab-cli convergence --nodes {} --dim {} --orderings {} --protocol {} --fanout {} --strategy {} --seed {} --rounds-max {} --resolve {} --policy {} --anti-entropy {}",
            self.nodes,
            self.dim,
            self.orderings,
            self.protocol.name(),
            self.fanout,
            self.strategy,
            self.seed,
            self.rounds_max,
            self.resolve.name(),
            self.policy.name(),
            self.anti_entropy.name()
        ) + &self.workload_flags()
    }

    /// Elements of one contributed tensor.
    pub fn tensor_elements(&self) -> u64 {
        match &self.workload {
            WorkloadKind::Files(f) => f.elements(),
            _ => self.dim as u64 * self.dim as u64,
        }
    }

    /// The config as URL query pairs (schema `v=1`).
    pub fn to_query(&self) -> Vec<(String, String)> {
        super::params::to_query(NAME, FIELDS, self)
    }

    /// Reads a config from URL query pairs. Unknown keys are ignored; every
    /// invalid value falls back to its default and is reported.
    pub fn from_query(pairs: &[(String, String)]) -> (ConvergenceConfig, Vec<QueryIssue>) {
        super::params::from_query(pairs, FIELDS, ConvergenceConfig::validate)
    }
}

/// The URL/CLI fields of the config, in display order.
pub static FIELDS: &[Field<ConvergenceConfig>] = workload_fields![ConvergenceConfig;
    Field::u32("nodes", |c| c.nodes, |c, v| c.nodes = v),
    Field::u32("dim", |c| c.dim, |c, v| c.dim = v),
    Field::u32("orderings", |c| c.orderings, |c, v| c.orderings = v),
    protocol_field!(),
    Field::u32("fanout", |c| c.fanout, |c, v| c.fanout = v),
    Field::text(
        "strategy",
        |c| c.strategy.clone(),
        |c, v| {
            c.strategy = v.to_string();
            Ok(())
        },
    ),
    Field::u64("seed", |c| c.seed, |c, v| c.seed = v),
    Field::u32("rounds_max", |c| c.rounds_max, |c, v| c.rounds_max = v),
    Field::text(
        "resolve",
        |c| c.resolve.name().into(),
        |c, v| {
            c.resolve = match v {
                "every-node" => ResolveMode::EveryNode,
                "once-per-state" => ResolveMode::OncePerState,
                _ => return Err(ConfigError::Invalid(format!("unknown resolve mode '{v}'"))),
            };
            Ok(())
        },
    ),
    Field::text(
        "policy",
        |c| c.policy.name().into(),
        |c, v| {
            c.policy = match v {
                "lww" => ConflictPolicy::LastWriterWins,
                "fww" => ConflictPolicy::FirstWriterWins,
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "unknown policy '{v}' (lww or fww)"
                    )))
                }
            };
            Ok(())
        },
    ),
    Field::text(
        "anti_entropy",
        |c| c.anti_entropy.name().into(),
        |c, v| {
            c.anti_entropy = v.parse()?;
            Ok(())
        },
    ),
];

/// The tensors of a run, built once per executor (or worker) and shared by
/// all orderings.
pub struct Workload {
    pool: TensorPool,
    contributions: Vec<Contribution>,
    /// Tensor digests of later versions `(node, version)` (churn updates).
    versions: BTreeMap<(u32, u32), Digest>,
    base: Digest,
}

impl Workload {
    /// Generates the synthetic workload of `config` (assumed validated).
    pub fn synthetic(config: &ConvergenceConfig) -> Workload {
        Workload::for_config(config, &FaultPlan::default())
    }

    /// The workload `config` asks for, plus every later version the plan's
    /// churn updates will need. Synthetic workloads only: a file workload's
    /// tensors come from [`Workload::from_files`] (callers check first; a
    /// file config here is a programming error).
    pub fn for_config(config: &ConvergenceConfig, plan: &FaultPlan) -> Workload {
        match &config.workload {
            WorkloadKind::Gaussian => {
                Workload::generate(config.seed, config.nodes, config.dim, plan)
            }
            WorkloadKind::FineTune => Workload::finetune(config, plan),
            WorkloadKind::Files(_) => {
                panic!("a file workload is built from its tensors (Workload::from_files)")
            }
        }
    }

    /// The workload of a file config from the loaded tensors, after checking
    /// each against the digest the config records (so a worker can never
    /// merge other bytes than the report names). Node `i` contributes file
    /// `i mod F`; no later versions (Experiment 1 has no churn).
    pub fn from_files(
        config: &ConvergenceConfig,
        tensors: FileTensors,
    ) -> Result<Workload, ConfigError> {
        let bad = |m: String| ConfigError::Invalid(m);
        let files = config
            .workload
            .files()
            .ok_or_else(|| bad("the configuration's workload is not model files".into()))?;
        let shape = files.loaded_shape().map_err(bad)?;
        if tensors.contributions.len() != files.files.len()
            || tensors.base.is_some() != files.base.is_some()
        {
            return Err(bad(format!(
                "{} tensors{} received for {} files{}",
                tensors.contributions.len(),
                if tensors.base.is_some() {
                    " and a base"
                } else {
                    ""
                },
                files.files.len(),
                if files.base.is_some() {
                    " and a base"
                } else {
                    ""
                },
            )));
        }
        let check = |f: &ModelFileRef, t: &Tensor| -> Result<(), ConfigError> {
            let consistent = t.shape() == shape.as_slice()
                && element_count(t.shape()) == Some(t.len())
                && t.first_non_finite().is_none();
            if !consistent || t.digest().to_hex() != f.tensor_digest {
                return Err(bad(format!(
                    "the tensor received for file '{}' is not the one the configuration records (digest {})",
                    f.name,
                    &f.tensor_digest[..f.tensor_digest.len().min(16)]
                )));
            }
            Ok(())
        };
        for (f, t) in files.files.iter().zip(&tensors.contributions) {
            check(f, t)?;
        }
        if let (Some(f), Some(t)) = (&files.base, &tensors.base) {
            check(f, t)?;
        }
        let mut pool = TensorPool::new();
        let base_tensor = match tensors.base {
            Some(t) => t,
            None => Tensor::zeros(&shape).map_err(|e| bad(e.to_string()))?,
        };
        let base = pool.insert(base_tensor);
        let digests: Vec<Digest> = tensors
            .contributions
            .into_iter()
            .map(|t| pool.insert(t))
            .collect();
        let contributions = (0..config.nodes)
            .map(|i| {
                let stamp = Hlc {
                    time: 0,
                    logical: 0,
                    node: i,
                };
                let digest = digests[i as usize % digests.len()];
                Contribution::new(&model_id(i), 1, 1.0, digest, stamp)
                    .expect("file contributions are valid")
            })
            .collect();
        Ok(Workload {
            pool,
            contributions,
            versions: BTreeMap::new(),
            base,
        })
    }

    /// The workload `config` asks for: synthetic ones generated (with every
    /// later version the plan's churn updates need), a file workload from
    /// `tensors`, checked against the digests the config records. Every
    /// experiment builds its workload here.
    pub fn for_run(
        config: &ConvergenceConfig,
        plan: &FaultPlan,
        tensors: Option<&FileTensors>,
    ) -> Result<Workload, ConfigError> {
        match (&config.workload, tensors) {
            (WorkloadKind::Files(_), Some(t)) => Workload::from_files(config, t.clone()),
            (WorkloadKind::Files(_), None) => Err(ConfigError::Invalid(
                "a workload of model files needs its tensors: load the files first".into(),
            )),
            _ => Ok(Workload::for_config(config, plan)),
        }
    }

    /// Plain Gaussian contributions for `nodes` nodes plus every later
    /// version the plan's churn updates will need.
    pub fn generate(seed: u64, nodes: u32, dim: u32, plan: &FaultPlan) -> Workload {
        let g = Synthetic::gaussian(seed, dim);
        Workload::build(nodes, plan, g.base(), |i, v| g.tensor(i, v))
    }

    /// Fine-tune contributions: base + task vector `i` (version `v` of node
    /// `i` uses task vector `i + (v − 1)·NODES_MAX`).
    fn finetune(config: &ConvergenceConfig, plan: &FaultPlan) -> Workload {
        let g = Synthetic::new(&config.workload, &config.finetune, config.seed, config.dim)
            .expect("validated fine-tune spec");
        Workload::build(config.nodes, plan, g.base(), |i, v| g.tensor(i, v))
    }

    /// Node `node`'s (first) contributed tensor.
    pub fn node_tensor(&self, node: u32) -> &Tensor {
        self.pool
            .get(&self.contributions[node as usize].tensor())
            .expect("every contribution is pooled")
    }

    /// The base model (all zeros for model files without a base).
    pub fn base_tensor(&self) -> &Tensor {
        self.pool.get(&self.base).expect("the base is pooled")
    }

    fn build(
        nodes: u32,
        plan: &FaultPlan,
        base_tensor: Tensor,
        tensor: impl Fn(u32, u32) -> Tensor,
    ) -> Workload {
        let mut pool = TensorPool::new();
        let base = pool.insert(base_tensor);
        let contributions = (0..nodes)
            .map(|i| {
                let digest = pool.insert(tensor(i, 1));
                let stamp = Hlc {
                    time: 0,
                    logical: 0,
                    node: i,
                };
                Contribution::new(&model_id(i), 1, 1.0, digest, stamp)
                    .expect("synthetic contributions are valid")
            })
            .collect();
        let mut versions = BTreeMap::new();
        let mut next: BTreeMap<u32, u32> = BTreeMap::new();
        for c in plan
            .churn
            .iter()
            .filter(|c| c.action == ChurnAction::Update)
        {
            let v = next.entry(c.node).or_insert(1);
            *v += 1;
            versions.insert((c.node, *v), pool.insert(tensor(c.node, *v)));
        }
        Workload {
            pool,
            contributions,
            versions,
            base,
        }
    }

    /// Node `i`'s initial state: its own contribution.
    pub fn initial_state(&self, node: u32, policy: ConflictPolicy) -> ContributionSet {
        let mut set = ContributionSet::new();
        set.add(node, self.contributions[node as usize].clone(), policy)
            .expect("a fresh set accepts its first contribution");
        set
    }

    /// Every contribution record this workload can ever produce, for
    /// "nobody added that" checks.
    pub fn tensor_digests(&self) -> Vec<Digest> {
        let mut v: Vec<Digest> = self.contributions.iter().map(|c| c.tensor()).collect();
        v.extend(self.versions.values().copied());
        v.sort();
        v
    }
}

/// A synthetic workload's generator: the base model and version `v` of
/// node `i`'s contribution, each depending only on `(seed, dim, i, v)` and
/// the fine-tune parameters — never on how many nodes there are. Experiments
/// that build their own tensors (trust) draw them here.
pub struct Synthetic {
    seed: u64,
    dim: u32,
    /// The fine-tune spec and its base, for the fine-tune workload.
    finetune: Option<(FineTuneSpec, Tensor)>,
}

impl Synthetic {
    /// The plain Gaussian generator.
    pub fn gaussian(seed: u64, dim: u32) -> Synthetic {
        Synthetic {
            seed,
            dim,
            finetune: None,
        }
    }

    /// The generator of a synthetic workload (an error for model files, or
    /// for fine-tune parameters [`validate_workload`] rejects).
    pub fn new(
        workload: &WorkloadKind,
        params: &FineTuneParams,
        seed: u64,
        dim: u32,
    ) -> Result<Synthetic, ConfigError> {
        match workload {
            WorkloadKind::Gaussian => Ok(Synthetic::gaussian(seed, dim)),
            WorkloadKind::FineTune => {
                let spec = params.spec(dim);
                let base = finetune::base(seed, &spec)?;
                Ok(Synthetic {
                    seed,
                    dim,
                    finetune: Some((spec, base)),
                })
            }
            WorkloadKind::Files(_) => Err(ConfigError::Invalid(
                "model files are not a synthetic workload".into(),
            )),
        }
    }

    /// The base model.
    pub fn base(&self) -> Tensor {
        match &self.finetune {
            None => synthetic_base(self.seed, self.dim),
            Some((_, base)) => base.clone(),
        }
    }

    /// Version `version` (≥ 1) of node `node`'s contribution. Fine-tunes:
    /// the base plus task vector `node + (version − 1)·NODES_MAX`.
    pub fn tensor(&self, node: u32, version: u32) -> Tensor {
        match (&self.finetune, version) {
            (None, 1) => synthetic_tensor(self.seed, node, self.dim),
            (None, v) => synthetic_tensor_version(self.seed, node, v, self.dim),
            (Some((spec, base)), v) => {
                let index = node.wrapping_add(v.saturating_sub(1).wrapping_mul(NODES_MAX));
                let task = finetune::task_vector(self.seed, spec, index)
                    .expect("validated fine-tune spec");
                let data = base
                    .data()
                    .iter()
                    .zip(task.data())
                    .map(|(w, d)| w + d)
                    .collect();
                base.with_data(data)
            }
        }
    }
}

/// The workload as the simulator's source of contributions.
pub struct Source {
    pub workload: Arc<Workload>,
    pub policy: ConflictPolicy,
}

impl Contributions for Source {
    fn initial(&self, node: u32) -> ContributionSet {
        self.workload.initial_state(node, self.policy)
    }

    fn version(&self, node: u32, version: u32, stamp: Hlc) -> Contribution {
        let digest = *self
            .workload
            .versions
            .get(&(node, version))
            .expect("the workload holds every version its fault plan updates to");
        Contribution::new(&model_id(node), version, 1.0, digest, stamp)
            .expect("synthetic contributions are valid")
    }

    fn model_id(&self, node: u32) -> String {
        model_id(node)
    }

    fn policy(&self) -> ConflictPolicy {
        self.policy
    }

    /// Every contribution's tensor has the same shape: 8 bytes (f64) per
    /// element of the first one.
    fn tensor_bytes(&self) -> u64 {
        self.workload
            .contributions
            .first()
            .and_then(|c| self.workload.pool.get(&c.tensor()))
            .map_or(0, |t| 8 * t.len() as u64)
    }
}

/// What resolving one node gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeResolved {
    pub node: u32,
    pub state_digest: Digest,
    pub resolved_digest: Digest,
    pub visible: u32,
}

/// Resolves contribution sets with the run's strategy (Layer 2).
pub struct Resolver {
    config: ConvergenceConfig,
    config_digest: ReplicaConfigDigest,
    params: Params,
    workload: Arc<Workload>,
}

impl Resolver {
    pub fn new(config: &ConvergenceConfig, workload: Arc<Workload>) -> Result<Resolver, LabError> {
        let s = strategy::find(&config.strategy)
            .ok_or_else(|| ConfigError::UnknownStrategy(config.strategy.clone()))?;
        let params = strategy::resolve_params(s.info(), &Params::new())?;
        let base = s.info().needs_base.then_some(workload.base);
        let config_digest = ReplicaConfigDigest::compute(
            &config.strategy,
            &params_bytes(&params),
            base,
            config.seed,
            config.policy,
        );
        Ok(Resolver {
            config: config.clone(),
            config_digest,
            params,
            workload,
        })
    }

    /// The state digest of a set under this run's configuration.
    pub fn state_digest(&self, set: &ContributionSet) -> Digest {
        set.state_digest(&self.config_digest, self.config.policy)
    }

    /// Applies the strategy to the visible set and returns the result.
    /// An empty set (every contribution removed) resolves to the base
    /// model, as the reference does when it has a base.
    pub fn resolve(&self, set: &ContributionSet) -> Result<Tensor, MergeError> {
        let visible = set.visible(self.config.policy);
        if visible.is_empty() {
            let base = self
                .workload
                .pool
                .get(&self.workload.base)
                .expect("the base is pooled");
            return Ok((**base).clone());
        }
        let mut tensors: Vec<&Tensor> = Vec::with_capacity(visible.len());
        for c in &visible {
            let t = self.workload.pool.get(&c.tensor()).ok_or_else(|| {
                MergeError::Invalid(format!("tensor of '{}' is not in the pool", c.model_id()))
            })?;
            tensors.push(t);
        }
        let ids: Vec<&str> = visible.iter().map(|c| c.model_id()).collect();
        let weights: Vec<f64> = visible.iter().map(|c| c.weight()).collect();
        let info = strategy::find(&self.config.strategy)
            .expect("validated strategy")
            .info();
        let base = if info.needs_base {
            self.workload.pool.get(&self.workload.base).map(|b| &**b)
        } else {
            None
        };
        let inputs = MergeInputs {
            ids: &ids,
            tensors: &tensors,
            weights: &weights,
            base,
            seed: self.config.seed,
            tensor_key: "",
        };
        strategy::merge_by_name(&self.config.strategy, &inputs, &self.params)
    }

    /// The oracle: every contribution joined in index order, resolved once.
    pub fn oracle(&self) -> Result<(Digest, Digest), MergeError> {
        let mut all = ContributionSet::new();
        for i in 0..self.config.nodes {
            all.join(&self.workload.initial_state(i, self.config.policy));
        }
        Ok((self.state_digest(&all), self.resolve(&all)?.digest()))
    }
}

/// One executor's share of one ordering: its nodes plus a resolver. The
/// native runner and each browser worker hold one per ordering.
pub struct Host {
    executor: Executor,
    resolver: Resolver,
    resolve_mode: ResolveMode,
}

impl Host {
    /// A host for nodes `hosted` of `ordering`.
    pub fn new(
        config: &ConvergenceConfig,
        workload: Arc<Workload>,
        ordering: u32,
        hosted: Range<u32>,
    ) -> Result<Host, LabError> {
        Host::with_plan(
            config,
            workload,
            ordering,
            hosted,
            Arc::new(FaultPlan::default()),
        )
    }

    /// A host whose executor runs under a fault plan (validated by the caller).
    pub fn with_plan(
        config: &ConvergenceConfig,
        workload: Arc<Workload>,
        ordering: u32,
        hosted: Range<u32>,
        plan: Arc<FaultPlan>,
    ) -> Result<Host, LabError> {
        config.validate()?;
        let resolver = Resolver::new(config, Arc::clone(&workload))?;
        let source = Arc::new(Source {
            workload: Arc::clone(&workload),
            policy: config.policy,
        });
        let mut executor = Executor::with_plan(schedule(config, ordering), plan, hosted, source);
        if config.protocol != Protocol::AllPairs {
            executor.set_anti_entropy(config.anti_entropy);
        }
        Ok(Host {
            executor,
            resolver,
            resolve_mode: config.resolve,
        })
    }

    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    pub fn executor_mut(&mut self) -> &mut Executor {
        &mut self.executor
    }

    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }

    /// Resolves every hosted node (or each distinct state once).
    pub fn resolve_all(&self) -> Result<Vec<NodeResolved>, MergeError> {
        self.resolve_nodes(self.executor.hosted())
    }

    /// Resolves the hosted nodes `nodes` (or each distinct state among them
    /// once), in node order. Panics if `nodes` is not hosted here.
    pub fn resolve_nodes(&self, nodes: Range<u32>) -> Result<Vec<NodeResolved>, MergeError> {
        let hosted = self.executor.hosted();
        assert!(
            hosted.start <= nodes.start && nodes.end <= hosted.end,
            "nodes {nodes:?} are not all hosted in {hosted:?}"
        );
        let mut memo: BTreeMap<Digest, Digest> = BTreeMap::new();
        let mut out = Vec::new();
        for node in nodes {
            let set = self.executor.node(node);
            let state_digest = self.resolver.state_digest(set);
            let resolved_digest = match (self.resolve_mode, memo.get(&state_digest)) {
                (ResolveMode::OncePerState, Some(d)) => *d,
                _ => self.resolver.resolve(set)?.digest(),
            };
            memo.insert(state_digest, resolved_digest);
            out.push(NodeResolved {
                node,
                state_digest,
                resolved_digest,
                visible: set.visible(self.resolver.config.policy).len() as u32,
            });
        }
        Ok(out)
    }
}

/// The gossip schedule of one ordering.
pub fn schedule(config: &ConvergenceConfig, ordering: u32) -> Schedule {
    Schedule {
        nodes: config.nodes,
        protocol: config.protocol,
        fanout: config.fanout,
        seed: config.seed,
        ordering,
    }
}

/// Results of one ordering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderingResult {
    pub ordering: u32,
    pub converged: bool,
    pub rounds: u32,
    pub messages: u64,
    pub metadata_bytes: u64,
    /// Bytes of tensor payload nodes fetch to resolve: each node fetches every
    /// visible tensor it did not contribute, once.
    pub tensor_bytes: u64,
    pub joins: u64,
    pub joins_changed: u64,
    pub per_round: Vec<RoundStats>,
    pub distinct_state_digests: u32,
    pub distinct_resolved_digests: u32,
    /// Node 0's state digest (all nodes' when they agree).
    pub state_digest: String,
    /// Node 0's resolved-tensor digest (all nodes' when they agree).
    pub resolved_digest: String,
    /// Fewest visible contributions on any node.
    pub visible_min: u32,
}

/// Results of a whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceResults {
    pub orderings: Vec<OrderingResult>,
    pub oracle_state_digest: String,
    pub oracle_resolved_digest: String,
    /// The least metadata an oracle would send: every node receives every
    /// other node's contribution row exactly once (causal context excluded).
    /// Compare with each ordering's `metadata_bytes`.
    pub metadata_bytes_oracle: u64,
}

/// The report type of this experiment.
pub type ConvergenceReport = Report<ConvergenceConfig, ConvergenceResults>;

/// Turns a finished ordering into its result.
pub fn ordering_result(
    config: &ConvergenceConfig,
    driver: OrderingDriver,
    resolved: &[NodeResolved],
) -> OrderingResult {
    let ordering = driver.schedule().ordering;
    let converged = driver.converged();
    let stats = driver.into_stats();
    let mut by_node: Vec<Option<&NodeResolved>> = vec![None; config.nodes as usize];
    for r in resolved {
        assert!(
            by_node[r.node as usize].is_none(),
            "node {} resolved twice",
            r.node
        );
        by_node[r.node as usize] = Some(r);
    }
    let all: Vec<&NodeResolved> = by_node
        .into_iter()
        .map(|r| r.expect("every node is resolved"))
        .collect();
    let distinct = |f: &dyn Fn(&NodeResolved) -> Digest| {
        all.iter()
            .map(|r| f(r))
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u32
    };
    let tensor_bytes_each = 8 * config.tensor_elements();
    let tensor_bytes = all
        .iter()
        .map(|r| (r.visible as u64).saturating_sub(1) * tensor_bytes_each)
        .sum();
    let sum = |f: fn(&RoundStats) -> u64| stats.iter().map(f).sum::<u64>();
    OrderingResult {
        ordering,
        converged,
        rounds: stats.len() as u32,
        messages: sum(|s| s.messages),
        metadata_bytes: sum(|s| s.metadata_bytes),
        tensor_bytes,
        joins: sum(|s| s.joins),
        joins_changed: sum(|s| s.joins_changed),
        distinct_state_digests: distinct(&|r| r.state_digest),
        distinct_resolved_digests: distinct(&|r| r.resolved_digest),
        state_digest: all[0].state_digest.to_hex(),
        resolved_digest: all[0].resolved_digest.to_hex(),
        visible_min: all.iter().map(|r| r.visible).min().unwrap_or(0),
        per_round: stats,
    }
}

/// Builds the verdict and the report from every ordering's result.
pub fn assemble(
    config: &ConvergenceConfig,
    orderings: Vec<OrderingResult>,
    oracle: (Digest, Digest),
) -> ConvergenceReport {
    let n = orderings.len();
    let not = |ok: bool| if ok { "" } else { "not " };
    let converged = orderings.iter().filter(|o| o.converged).count();
    let rounds: Vec<String> = orderings.iter().map(|o| o.rounds.to_string()).collect();
    let within_state = orderings.iter().all(|o| o.distinct_state_digests == 1);
    let within_resolved = orderings.iter().all(|o| o.distinct_resolved_digests == 1);
    let first = &orderings[0];
    let across = orderings.iter().all(|o| {
        o.state_digest == first.state_digest && o.resolved_digest == first.resolved_digest
    });
    let oracle_ok =
        first.state_digest == oracle.0.to_hex() && first.resolved_digest == oracle.1.to_hex();
    let complete = orderings.iter().all(|o| o.visible_min == config.nodes);
    let checks = vec![
        Check {
            name: "converged".into(),
            passed: converged == n,
            detail: format!(
                "{converged} of {n} orderings converged (rounds: {})",
                rounds.join(", ")
            ),
        },
        Check {
            name: "identical state digests within each ordering".into(),
            passed: within_state,
            detail: format!(
                "every node's state digest is {}identical",
                not(within_state)
            ),
        },
        Check {
            name: "identical resolved models within each ordering".into(),
            passed: within_resolved,
            detail: format!(
                "every node's resolved-tensor digest is {}identical",
                not(within_resolved)
            ),
        },
        Check {
            name: "identical across orderings".into(),
            passed: across,
            detail: format!(
                "state and resolved digests are {}the same in all {n} orderings",
                not(across)
            ),
        },
        Check {
            name: "complete".into(),
            passed: complete,
            detail: format!(
                "every node {}holds all {} contributions",
                not(complete),
                config.nodes
            ),
        },
        Check {
            name: "matches the oracle".into(),
            passed: oracle_ok,
            detail: format!(
                "the converged state and model {}equal the join of all contributions resolved once",
                not(oracle_ok)
            ),
        },
    ];
    let results = ConvergenceResults {
        orderings,
        oracle_state_digest: oracle.0.to_hex(),
        oracle_resolved_digest: oracle.1.to_hex(),
        metadata_bytes_oracle: oracle_metadata_bytes(config),
    };
    Report::new(NAME, config.clone(), results, Verdict::from_checks(checks))
}

/// The oracle's metadata bytes for `config`: `(nodes − 1) ×` the encoded
/// size of every contribution row. Row sizes do not depend on tensor data,
/// so this needs no tensors (cheap on the browser's main thread).
pub fn oracle_metadata_bytes(config: &ConvergenceConfig) -> u64 {
    let mut all = ContributionSet::new();
    for i in 0..config.nodes {
        let stamp = Hlc {
            time: 0,
            logical: 0,
            node: i,
        };
        let c = Contribution::new(&model_id(i), 1, 1.0, Digest::ZERO, stamp).expect("valid");
        let mut one = ContributionSet::new();
        one.add(i, c, config.policy)
            .expect("a fresh set accepts its first contribution");
        all.join(&one);
    }
    let rows: u64 = all
        .rows()
        .iter()
        .map(|r| postcard::experimental::serialized_size(r).expect("rows encode") as u64)
        .sum();
    rows * (config.nodes as u64 - 1)
}

/// Progress of a native run, for callers that show it.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub ordering: u32,
    pub orderings: u32,
    pub round: u32,
    pub agreeing_nodes: u32,
}

/// Runs the experiment natively with one executor.
pub fn run(config: &ConvergenceConfig) -> Result<ConvergenceReport, LabError> {
    run_with(config, 1, &mut |_| true)
}

/// Runs the experiment natively with `executors` in-process executors. With
/// more than one, every message between executors goes through the wire
/// encoding, as between web workers. `progress` returns `false` to cancel.
pub fn run_with(
    config: &ConvergenceConfig,
    executors: u32,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<ConvergenceReport, LabError> {
    config.validate()?;
    if config.workload.files().is_some() {
        return Err(ConfigError::Invalid(
            "a workload of model files needs its tensors: load them and call run_with_workload"
                .into(),
        )
        .into());
    }
    run_with_workload(
        config,
        Arc::new(Workload::synthetic(config)),
        executors,
        progress,
    )
}

/// [`run_with`] over a workload built by the caller — the way to run model
/// files ([`load_files`], then [`Workload::from_files`]).
pub fn run_with_workload(
    config: &ConvergenceConfig,
    workload: Arc<Workload>,
    executors: u32,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<ConvergenceReport, LabError> {
    config.validate()?;
    let plan = Arc::new(FaultPlan::default());
    let mut results = Vec::with_capacity(config.orderings as usize);
    let mut oracle = None;
    for ordering in 0..config.orderings {
        let mut observe = |driver: &OrderingDriver, _: &[Host]| {
            progress(Progress {
                ordering,
                orderings: config.orderings,
                round: driver.stats().len() as u32,
                agreeing_nodes: driver.stats().last().map_or(0, |s| s.agreeing_nodes),
            })
        };
        let (driver, hosts) =
            drive_native(config, &workload, ordering, executors, &plan, &mut observe)?;
        if oracle.is_none() {
            oracle = Some(hosts[0].resolver().oracle()?);
        }
        let mut resolved = Vec::new();
        for h in &hosts {
            resolved.extend(h.resolve_all()?);
        }
        results.push(ordering_result(config, driver, &resolved));
    }
    Ok(assemble(
        config,
        results,
        oracle.expect("at least one ordering"),
    ))
}

/// Runs one ordering natively over `executors` in-process executors (one for
/// all-pairs) under `plan`, calling `observe` after every step (return
/// `false` to cancel). Returns the finished driver and the hosts.
pub fn drive_native(
    config: &ConvergenceConfig,
    workload: &Arc<Workload>,
    ordering: u32,
    executors: u32,
    plan: &Arc<FaultPlan>,
    observe: &mut dyn FnMut(&OrderingDriver, &[Host]) -> bool,
) -> Result<(OrderingDriver, Vec<Host>), LabError> {
    let executors = if config.protocol == Protocol::AllPairs {
        1
    } else {
        executors
    };
    let parts = partition_nodes(config.nodes, executors);
    let mut hosts = parts
        .into_iter()
        .map(|r| Host::with_plan(config, Arc::clone(workload), ordering, r, Arc::clone(plan)))
        .collect::<Result<Vec<_>, _>>()?;
    let sch = schedule(config, ordering);
    let mut driver = OrderingDriver::with_quiet_from(sch, config.rounds_max, plan.quiet_from());
    loop {
        let reports = match driver.next() {
            Step::Finished => break,
            Step::AllPairs => vec![hosts[0].executor_mut().run_all_pairs()],
            Step::Round(r) => run_round(&mut hosts, r)?,
        };
        driver.record(&reports);
        if !observe(&driver, &hosts) {
            return Err(LabError::Cancelled);
        }
    }
    Ok((driver, hosts))
}

/// One gossip round across in-process executors; cross-executor messages
/// are encoded and decoded as they would be between workers.
fn run_round(hosts: &mut [Host], round: u32) -> Result<Vec<RoundReport>, LabError> {
    let mut inboxes: Vec<Vec<Envelope>> = vec![Vec::new(); hosts.len()];
    let mut counters = Vec::with_capacity(hosts.len());
    for src in 0..hosts.len() {
        let emission = hosts[src].executor_mut().emit(round);
        counters.push(emission.counters);
        let mut remote: Vec<Vec<Envelope>> = vec![Vec::new(); hosts.len()];
        for e in emission.envelopes {
            let dst = hosts
                .iter()
                .position(|h| h.executor().hosts(e.to))
                .expect("every node is hosted");
            if dst == src {
                inboxes[dst].push(e);
            } else {
                remote[dst].push(e);
            }
        }
        for (dst, batch) in remote.into_iter().enumerate() {
            if !batch.is_empty() {
                let bytes = encode_envelopes(&batch);
                let decoded =
                    decode_envelopes(&bytes).map_err(|e| LabError::Wire(e.to_string()))?;
                inboxes[dst].extend(decoded);
            }
        }
    }
    let mut reports = Vec::with_capacity(hosts.len());
    for ((h, inbox), emitted) in hosts.iter_mut().zip(inboxes).zip(counters) {
        let mut r = h.executor_mut().deliver(round, inbox);
        r.counters.add(&emitted);
        reports.push(r);
    }
    Ok(reports)
}
