//! The workload flags shared by `lab-cli convergence`, `partition`, `sweep`,
//! `scale` and `trust`: `--workload gaussian|finetune`, the fine-tune
//! parameters `--ft-*`, and real weights (`--weights FILE… --tensor NAME
//! [--base FILE] [--rows A..B | --elements A..B]`; not for trust).

use lab_core::experiment::convergence::{
    load_files, FileTensors, FileWorkload, FineTuneParams, HasWorkload, WorkloadKind,
};
use lab_core::experiment::params::Field;
use lab_core::loader::{self, Limits, Slice};
use std::path::{Path, PathBuf};

/// `--workload` and the fine-tune parameters.
#[derive(clap::Args, Debug)]
pub struct SyntheticArgs {
    /// Workload: finetune (shared base + overlapping low-rank sparse task
    /// vectors, the default) or gaussian (independent N(0,1) tensors, the
    /// seed lab's).
    #[arg(long, default_value = "finetune")]
    workload: String,
    /// Fine-tune workload: rank of each task vector (1…256, capped at dim).
    #[arg(long, default_value_t = 4)]
    ft_rank: u32,
    /// Fine-tune workload: task-vector scale relative to the base.
    #[arg(long, default_value_t = 0.1)]
    ft_scale: f64,
    /// Fine-tune workload: fraction of task-vector entries zeroed.
    #[arg(long, default_value_t = 0.0)]
    ft_sparsity: f64,
    /// Fine-tune workload: expected cosine between task vectors.
    #[arg(long, default_value_t = 0.25)]
    ft_overlap: f64,
    /// Fine-tune workload: dense noise level.
    #[arg(long, default_value_t = 0.01)]
    ft_noise: f64,
}

impl SyntheticArgs {
    /// The flags as query pairs (the configs' codec reads them).
    pub fn pairs(&self) -> Vec<(String, String)> {
        vec![
            ("workload".into(), self.workload.clone()),
            ("ft_rank".into(), self.ft_rank.to_string()),
            ("ft_scale".into(), self.ft_scale.to_string()),
            ("ft_sparsity".into(), self.ft_sparsity.to_string()),
            ("ft_overlap".into(), self.ft_overlap.to_string()),
            ("ft_noise".into(), self.ft_noise.to_string()),
        ]
    }

    /// Sets the workload fields of `config` through its query `fields`;
    /// an invalid value is an error naming its flag.
    pub fn apply<C>(&self, fields: &[Field<C>], config: &mut C) -> Result<(), String> {
        for (key, value) in self.pairs() {
            let field = fields
                .iter()
                .find(|f| f.key == key)
                .expect("every workload config has the workload fields");
            field
                .set(config, &value)
                .map_err(|m| format!("--{}: {m}", key.replace('_', "-")))?;
        }
        Ok(())
    }
}

/// The workload flags with real weights.
#[derive(clap::Args, Debug)]
pub struct WorkloadArgs {
    #[command(flatten)]
    pub synthetic: SyntheticArgs,
    /// Real weights instead of a synthetic workload (boxed: the other
    /// subcommands' arguments stay small).
    #[command(flatten)]
    pub files: Box<WeightsArgs>,
}

/// The real-weights flags.
#[derive(clap::Args, Debug)]
pub struct WeightsArgs {
    /// Merge real weights instead of a synthetic workload: two or more
    /// .safetensors files (F64, F32, F16 or BF16 tensors). Node i contributes
    /// file i mod F, so every network must have at least F nodes. The report
    /// records each file's name (without its directory), size, BLAKE3 and
    /// loaded-tensor digest.
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with = "workload")]
    weights: Vec<PathBuf>,
    /// The tensor to merge (a name every file has). Without it, the tensors
    /// the files have in common are listed.
    #[arg(long, requires = "weights")]
    tensor: Option<String>,
    /// Base model file, for strategies that need one (task_arithmetic,
    /// ties, dare, …).
    #[arg(long, requires = "weights", value_name = "FILE")]
    base: Option<PathBuf>,
    /// Load only rows START..END of the tensor's first dimension.
    #[arg(
        long,
        requires = "weights",
        value_name = "START..END",
        conflicts_with = "elements"
    )]
    rows: Option<String>,
    /// Load only the flat (row-major) elements START..END, as a 1-D tensor.
    #[arg(long, requires = "weights", value_name = "START..END")]
    elements: Option<String>,
}

/// What `--weights` gave.
pub enum Weights {
    /// No `--weights`: a synthetic workload.
    Synthetic,
    /// The common tensors were listed (no `--tensor`): exit 2.
    Listed,
    /// The loaded tensors (the file workload is in the config).
    Loaded(FileTensors),
}

impl WorkloadArgs {
    /// Applies the synthetic flags to `config`, then loads `--weights` (if
    /// given) into it. The caller validates the finished config.
    pub fn configure<C: HasWorkload>(
        &self,
        fields: &[Field<C>],
        config: &mut C,
    ) -> Result<Weights, String> {
        self.synthetic.apply(fields, config)?;
        self.load_into(config)
    }

    /// A subcommand's whole workload step: [`configure`](Self::configure)
    /// (or only [`load_into`](Self::load_into) without `fields`), then
    /// `validate`. `Err` is the exit code to stop with: 2, the reason
    /// printed (or the common tensors listed).
    pub fn ready<C: HasWorkload, E: std::fmt::Display>(
        &self,
        fields: Option<&[Field<C>]>,
        config: &mut C,
        validate: impl Fn(&C) -> Result<(), E>,
    ) -> Result<Option<FileTensors>, std::process::ExitCode> {
        let loaded = match fields {
            Some(fields) => self.configure(fields, config),
            None => self.load_into(config),
        };
        let tensors = match loaded {
            Ok(Weights::Synthetic) => None,
            Ok(Weights::Listed) => return Err(std::process::ExitCode::from(2)),
            Ok(Weights::Loaded(t)) => Some(t),
            Err(reason) => return Err(crate::invalid(reason)),
        };
        validate(config).map_err(crate::invalid)?;
        Ok(tensors)
    }

    /// Loads `--weights` (if given) into `config`'s workload.
    pub fn load_into<C: HasWorkload>(&self, config: &mut C) -> Result<Weights, String> {
        Ok(match self.files.load()? {
            Loaded::Synthetic => Weights::Synthetic,
            Loaded::Listed => Weights::Listed,
            Loaded::Files(files, tensors) => {
                *config.workload_kind_mut() = WorkloadKind::Files(files);
                Weights::Loaded(tensors)
            }
        })
    }
}

/// What `--weights` loaded, before it goes into a config.
#[allow(clippy::large_enum_variant)] // built once per run and moved at once
enum Loaded {
    Synthetic,
    Listed,
    Files(FileWorkload, FileTensors),
}

/// A file read whole, with the name recorded in the report.
struct ReadFile {
    name: String,
    bytes: Vec<u8>,
}

/// Reads `path`, refusing it before reading when it is above the limit.
fn read_file(path: &Path) -> Result<ReadFile, String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("'{}' is not a file name", path.display()))?;
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read '{}': {e}", path.display()))?
        .len();
    loader::check_file_size(&name, size, &Limits::CLI).map_err(|e| e.to_string())?;
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read '{}': {e}", path.display()))?;
    Ok(ReadFile { name, bytes })
}

/// `START..END` as a pair.
fn parse_range(flag: &str, text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--{flag}: expected START..END (e.g. 0..64), got '{text}'");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let start = a.trim().parse().map_err(|_| bad())?;
    let end = b.trim().parse().map_err(|_| bad())?;
    Ok((start, end))
}

impl WeightsArgs {
    fn slice(&self) -> Result<Option<Slice>, String> {
        Ok(match (&self.rows, &self.elements) {
            (Some(r), _) => {
                let (start, end) = parse_range("rows", r)?;
                Some(Slice::Rows { start, end })
            }
            (None, Some(e)) => {
                let (start, end) = parse_range("elements", e)?;
                Some(Slice::Elements { start, end })
            }
            (None, None) => None,
        })
    }

    /// Loads `--weights`: the file workload and its tensors.
    fn load(&self) -> Result<Loaded, String> {
        if self.weights.is_empty() {
            return Ok(Loaded::Synthetic);
        }
        let files = self
            .weights
            .iter()
            .map(|p| read_file(p))
            .collect::<Result<Vec<_>, _>>()?;
        let base = self.base.as_deref().map(read_file).transpose()?;
        let named: Vec<(&str, &[u8])> = files
            .iter()
            .map(|f| (f.name.as_str(), f.bytes.as_slice()))
            .collect();
        let Some(tensor) = &self.tensor else {
            list_common_tensors(&named)?;
            return Ok(Loaded::Listed);
        };
        let base = base.as_ref().map(|b| (b.name.as_str(), b.bytes.as_slice()));
        let (workload, tensors) = load_files(&named, base, tensor, self.slice()?, &Limits::CLI)
            .map_err(|e| e.to_string())?;
        Ok(Loaded::Files(workload, tensors))
    }
}

/// Prints the tensors every file has, with shape and dtype (the CLI's
/// tensor picker).
fn list_common_tensors(files: &[(&str, &[u8])]) -> Result<(), String> {
    let models = files
        .iter()
        .map(|(name, bytes)| loader::inspect(name, bytes).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let common = loader::common_tensors(&models).map_err(|e| e.to_string())?;
    println!(
        "Tensors in all {} files (pick one with --tensor):",
        files.len()
    );
    for t in &common {
        let dtypes: Vec<&str> = t.dtypes.iter().map(|d| d.name()).collect();
        let note = t
            .issue
            .as_ref()
            .map_or(String::new(), |e| format!("  — {e}"));
        println!("  {:<40} {:?} {}{note}", t.name, t.shape, dtypes[0]);
    }
    Ok(())
}

/// What the nodes contribute, in words, for the tables.
pub fn describe(workload: &WorkloadKind, finetune: &FineTuneParams, dim: u32) -> String {
    match workload {
        WorkloadKind::Files(f) => format!(
            "tensor '{}' {:?} {}{} of {} files",
            f.tensor,
            f.loaded_shape().unwrap_or_default(),
            f.dtype,
            f.slice.map_or(String::new(), |s| format!(" ({s})")),
            f.files.len()
        ),
        WorkloadKind::Gaussian => format!("{dim}×{dim} Gaussian tensors"),
        WorkloadKind::FineTune => format!(
            "{dim}×{dim} fine-tunes (rank {}, scale {}, sparsity {}, overlap {}, noise {})",
            finetune.rank.min(dim),
            finetune.scale,
            finetune.sparsity,
            finetune.overlap,
            finetune.noise
        ),
    }
}

/// Prints the files of a file workload, one line each (nothing otherwise).
pub fn print_files(workload: &WorkloadKind) {
    let Some(f) = workload.files() else {
        return;
    };
    for (i, file) in f.files.iter().enumerate() {
        println!(
            "  file {i}: {} ({} bytes, BLAKE3 {}…, tensor digest {}…)",
            file.name,
            file.bytes,
            &file.blake3[..16],
            &file.tensor_digest[..16]
        );
    }
    if let Some(b) = &f.base {
        println!(
            "  base:   {} ({} bytes, BLAKE3 {}…)",
            b.name,
            b.bytes,
            &b.blake3[..16]
        );
    }
}
