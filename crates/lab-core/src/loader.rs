//! Loading real model weights from `.safetensors` files — pure: bytes in,
//! tensors or typed errors out. No file system, no memory maps: the CLI reads
//! the file, the browser hands over the bytes of a picked file, and this
//! module does the rest, identically on both.
//!
//! ## The format
//! A safetensors file is an 8-byte little-endian header length `n`, a JSON
//! header of `n` bytes mapping tensor names to
//! `{"dtype", "shape", "data_offsets": [start, end]}` (plus an optional
//! `"__metadata__"` map of strings), then the data: every tensor's bytes,
//! row-major, little-endian, back to back. Offsets are relative to the start
//! of the data and must tile it exactly.
//!
//! ## How a file is read
//! 1. This module validates the whole header itself ([`inspect`]), so every
//!    problem comes back as a [`LoadError`] that names the file, the tensor
//!    and what is wrong with it (the `safetensors` crate's own errors do not
//!    name the tensor, and it reports an unknown dtype as a generic JSON
//!    error). The validation is also what guarantees that the crate's
//!    arithmetic on offsets can never overflow on a hostile header.
//! 2. The `safetensors` crate then parses the same bytes; it is the reference
//!    parser, and the tensor bytes are taken from its views. If it rejects a
//!    file this module accepted, that is [`LoadError::Rejected`].
//! 3. [`load_tensor`] decodes one tensor, or a [`Slice`] of it, to f64:
//!    F64, F32, F16 and BF16 are supported, exactly (every value of those
//!    formats is representable in f64). NaN and infinities are rejected with
//!    the index of the first one. Every other dtype is listed by [`inspect`]
//!    but refused by [`load_tensor`] ([`LoadError::UnsupportedDtype`]).
//!
//! ## Guarantees
//! - Nothing panics, whatever the bytes.
//! - Nothing is half-loaded: a call returns a whole, consistent value or an
//!   error. [`load_all`] loads one tensor from several files all-or-nothing.
//! - Bounded: the file size ([`Limits::file_bytes_max`]), the header
//!   ([`HEADER_BYTES_MAX`]), the number of tensors ([`TENSORS_PER_FILE_MAX`])
//!   and the elements decoded per call ([`Limits::elements_max`], at most
//!   [`TENSOR_ELEMENTS_MAX`]) all have checked limits. A tensor above the
//!   element limit can still be used through a [`Slice`].

use crate::error::TensorError;
use crate::tensor::{element_count, Tensor, TENSOR_DIMS_MAX, TENSOR_ELEMENTS_MAX};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use thiserror::Error;

/// Largest file the CLI accepts by default: 2 GiB.
pub const FILE_BYTES_MAX: u64 = 2 << 30;

/// Largest file the browser should accept: 512 MiB (the file is copied into
/// the wasm32 linear memory, which tops out at 4 GiB for everything).
pub const BROWSER_FILE_BYTES_MAX: u64 = 512 << 20;

/// Elements the browser should decode per call by default: 2^22 (32 MiB of
/// f64 per tensor).
pub const BROWSER_ELEMENTS_MAX: usize = 1 << 22;

/// Largest JSON header, in bytes (the same bound as the `safetensors` crate).
pub const HEADER_BYTES_MAX: u64 = 100_000_000;

/// Most tensors one file may declare.
pub const TENSORS_PER_FILE_MAX: usize = 100_000;

/// Size limits of one load. [`Limits::default`] is [`Limits::CLI`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub file_bytes_max: u64,
    /// Most elements decoded by one [`load_tensor_with`] call (after
    /// slicing). Values above [`TENSOR_ELEMENTS_MAX`] act as that limit.
    pub elements_max: usize,
}

impl Limits {
    /// Native command line: 2 GiB files, [`TENSOR_ELEMENTS_MAX`] elements.
    pub const CLI: Limits = Limits {
        file_bytes_max: FILE_BYTES_MAX,
        elements_max: TENSOR_ELEMENTS_MAX,
    };

    /// Browser: 512 MiB files, 2^22 elements per tensor.
    pub const BROWSER: Limits = Limits {
        file_bytes_max: BROWSER_FILE_BYTES_MAX,
        elements_max: BROWSER_ELEMENTS_MAX,
    };

    fn elements_cap(&self) -> usize {
        self.elements_max.min(TENSOR_ELEMENTS_MAX)
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::CLI
    }
}

/// Every way reading a safetensors file can fail. Each message names the
/// file (and the tensor, where there is one) so it can be shown as is.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    /// The file is larger than the caller's limit.
    #[error("file '{file}' has {bytes} bytes, above the limit of {limit} bytes")]
    FileTooLarge {
        file: String,
        bytes: u64,
        limit: u64,
    },
    /// The file ends before its header or data does.
    #[error("file '{file}' is truncated: {expected} bytes expected, only {got} present")]
    Truncated {
        file: String,
        expected: u64,
        got: u64,
    },
    /// The file goes on after the last tensor's data.
    #[error("file '{file}' has {got} bytes but its header accounts for {expected}: trailing bytes after the data")]
    TrailingBytes {
        file: String,
        expected: u64,
        got: u64,
    },
    /// The 8-byte header length points past the end of the file.
    #[error("file '{file}': header length {header_len} reaches beyond the end of the file ({file_len} bytes); not a safetensors file, or a corrupt one")]
    HeaderBeyondFile {
        file: String,
        header_len: u64,
        file_len: u64,
    },
    /// The header is larger than [`HEADER_BYTES_MAX`].
    #[error("file '{file}': header of {header_len} bytes is above the limit of {limit} bytes")]
    HeaderTooLarge {
        file: String,
        header_len: u64,
        limit: u64,
    },
    /// The header is not UTF-8, not JSON, or not the expected JSON structure.
    #[error("file '{file}': corrupt header: {reason}")]
    CorruptHeader { file: String, reason: String },
    /// A tensor's dtype is not one safetensors defines.
    #[error("file '{file}', tensor '{tensor}': unknown dtype '{dtype}'")]
    UnknownDtype {
        file: String,
        tensor: String,
        dtype: String,
    },
    /// A tensor's dtype is valid safetensors but cannot be decoded to f64
    /// here (only F64, F32, F16 and BF16 can).
    #[error("file '{file}', tensor '{tensor}': dtype {dtype} is not supported (F64, F32, F16 and BF16 are)")]
    UnsupportedDtype {
        file: String,
        tensor: String,
        dtype: String,
    },
    /// A tensor's shape cannot be sized (overflow, or not whole bytes).
    #[error("file '{file}', tensor '{tensor}': bad shape {shape:?}: {reason}")]
    BadShape {
        file: String,
        tensor: String,
        shape: Vec<u64>,
        reason: String,
    },
    /// Shape × dtype size differs from the tensor's byte range.
    #[error("file '{file}', tensor '{tensor}': shape {shape:?} of {dtype} needs {expected_bytes} bytes but its data range holds {got_bytes}")]
    SizeMismatch {
        file: String,
        tensor: String,
        dtype: String,
        shape: Vec<usize>,
        expected_bytes: u64,
        got_bytes: u64,
    },
    /// A tensor's data range is reversed, overlaps another, or leaves a gap.
    #[error("file '{file}', tensor '{tensor}': bad data offsets [{start}, {end}]: {reason}")]
    BadOffsets {
        file: String,
        tensor: String,
        start: u64,
        end: u64,
        reason: String,
    },
    /// The header declares more than [`TENSORS_PER_FILE_MAX`] tensors.
    #[error("file '{file}' declares {count} tensors, above the limit of {limit}")]
    TooManyTensors {
        file: String,
        count: usize,
        limit: usize,
    },
    /// No tensor of that name in the file.
    #[error("file '{file}' has no tensor named '{tensor}'")]
    TensorNotFound { file: String, tensor: String },
    /// No files were given.
    #[error("no model files given")]
    NoFiles,
    /// No tensor name occurs in every file.
    #[error("no tensor name is common to all files ({})", files.join(", "))]
    NoCommonTensor { files: Vec<String> },
    /// The same tensor has different shapes in two files.
    #[error("tensor '{tensor}' has shape {shape_a:?} in '{file_a}' but {shape_b:?} in '{file_b}'")]
    ShapeMismatch {
        tensor: String,
        file_a: String,
        shape_a: Vec<usize>,
        file_b: String,
        shape_b: Vec<usize>,
    },
    /// The same tensor has different dtypes in two files.
    #[error("tensor '{tensor}' is {dtype_a} in '{file_a}' but {dtype_b} in '{file_b}'")]
    DtypeMismatch {
        tensor: String,
        file_a: String,
        dtype_a: String,
        file_b: String,
        dtype_b: String,
    },
    /// The tensor holds NaN or an infinity; `index` is the row-major index in
    /// the whole tensor (not in the slice) of the first one.
    #[error("file '{file}', tensor '{tensor}': {what} at element {index}")]
    NonFinite {
        file: String,
        tensor: String,
        index: u64,
        what: &'static str,
    },
    /// More elements asked for than one load may decode.
    #[error("file '{file}', tensor '{tensor}': {elements} elements to load, above the limit of {limit}; load a slice (rows or an element range)")]
    TooManyElements {
        file: String,
        tensor: String,
        elements: u64,
        limit: u64,
    },
    /// The tensor has more dimensions than a [`Tensor`] supports.
    #[error("file '{file}', tensor '{tensor}': {dims} dimensions, at most {limit} are supported")]
    TooManyDims {
        file: String,
        tensor: String,
        dims: usize,
        limit: usize,
    },
    /// The requested slice does not fit the tensor.
    #[error("file '{file}', tensor '{tensor}': bad slice: {reason}")]
    BadSlice {
        file: String,
        tensor: String,
        reason: String,
    },
    /// The `safetensors` crate rejected a file this module's own validation
    /// accepted (a disagreement between the two parsers).
    #[error("file '{file}': rejected by the safetensors parser: {reason}")]
    Rejected { file: String, reason: String },
}

/// A tensor element type. Every dtype safetensors defines is recognised;
/// only the four float types can be loaded.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dtype {
    /// IEEE-754 binary64.
    F64,
    /// IEEE-754 binary32.
    F32,
    /// IEEE-754 binary16.
    F16,
    /// bfloat16 (the top half of a binary32).
    BF16,
    /// Any other safetensors dtype (`I64`, `U8`, `BOOL`, `F8_E4M3`, …), by
    /// name: listed, never decoded.
    Unsupported(String),
}

/// The dtypes safetensors 0.8 defines, with their size in bits.
const KNOWN_DTYPES: &[(&str, u64)] = &[
    ("BOOL", 8),
    ("F4", 4),
    ("F6_E2M3", 6),
    ("F6_E3M2", 6),
    ("U8", 8),
    ("I8", 8),
    ("F8_E5M2", 8),
    ("F8_E4M3", 8),
    ("F8_E8M0", 8),
    ("F8_E4M3FNUZ", 8),
    ("F8_E5M2FNUZ", 8),
    ("I16", 16),
    ("U16", 16),
    ("F16", 16),
    ("BF16", 16),
    ("I32", 32),
    ("U32", 32),
    ("F32", 32),
    ("C64", 64),
    ("F64", 64),
    ("I64", 64),
    ("U64", 64),
];

impl Dtype {
    /// The dtype named `name` in a header, with its size in bits; `None` for
    /// a name safetensors does not define.
    fn parse(name: &str) -> Option<(Dtype, u64)> {
        let &(known, bits) = KNOWN_DTYPES.iter().find(|(n, _)| *n == name)?;
        let dtype = match known {
            "F64" => Dtype::F64,
            "F32" => Dtype::F32,
            "F16" => Dtype::F16,
            "BF16" => Dtype::BF16,
            other => Dtype::Unsupported(other.to_string()),
        };
        Some((dtype, bits))
    }

    /// The name as written in a safetensors header.
    pub fn name(&self) -> &str {
        match self {
            Dtype::F64 => "F64",
            Dtype::F32 => "F32",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
            Dtype::Unsupported(name) => name,
        }
    }

    /// True for the dtypes [`load_tensor`] decodes.
    pub fn is_supported(&self) -> bool {
        !matches!(self, Dtype::Unsupported(_))
    }

    /// Bytes per element of a supported dtype.
    fn width(&self) -> Option<usize> {
        match self {
            Dtype::F64 => Some(8),
            Dtype::F32 => Some(4),
            Dtype::F16 | Dtype::BF16 => Some(2),
            Dtype::Unsupported(_) => None,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the header says about one tensor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    /// Element type.
    pub dtype: Dtype,
    /// Dimensions, outermost first (row-major); empty for a scalar.
    pub shape: Vec<usize>,
    /// Size of the tensor's data, in bytes.
    pub byte_len: usize,
}

impl TensorInfo {
    /// Number of elements (1 for a scalar). The header validation guarantees
    /// the product does not overflow.
    pub fn elements(&self) -> usize {
        element_count(&self.shape).unwrap_or(usize::MAX)
    }
}

/// A validated safetensors file's table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFile {
    /// The name the caller gave the file (used in every error message).
    pub name: String,
    /// File size in bytes.
    pub bytes: u64,
    /// Every tensor, by name.
    pub tensors: BTreeMap<String, TensorInfo>,
    /// The header's free-form `__metadata__` strings (empty if none).
    pub metadata: BTreeMap<String, String>,
}

/// A part of a tensor to load instead of all of it. Both kinds select a
/// contiguous run of the row-major data, so only those bytes are decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Slice {
    /// Indices `start..end` of the first dimension, with all of the other
    /// dimensions: shape `[d0, d1, …]` becomes `[end − start, d1, …]`.
    Rows { start: usize, end: usize },
    /// Row-major elements `start..end` of the flattened tensor, loaded as a
    /// 1-D tensor of `end − start` elements.
    Elements { start: usize, end: usize },
}

impl Slice {
    /// The first `n` rows.
    pub fn first_rows(n: usize) -> Slice {
        Slice::Rows { start: 0, end: n }
    }

    /// The most leading rows of a tensor of shape `shape` that fit in
    /// `elements_max` elements: `None` if the tensor is a scalar, has no
    /// elements, or a single row is already too large.
    pub fn rows_within(shape: &[usize], elements_max: usize) -> Option<Slice> {
        let (&rows, rest) = shape.split_first()?;
        let row_len = element_count(rest)?;
        if rows == 0 || row_len == 0 {
            return None;
        }
        let fit = (elements_max / row_len).min(rows);
        (fit >= 1).then_some(Slice::first_rows(fit))
    }
}

/// The shape a tensor of shape `shape` has once `slice` (if any) is applied,
/// or why the slice does not fit it.
pub fn sliced_shape(shape: &[usize], slice: Option<Slice>) -> Result<Vec<usize>, String> {
    match resolve_slice("", "", shape, slice) {
        Ok((_, out)) => Ok(out),
        Err(LoadError::BadSlice { reason, .. }) => Err(reason),
        Err(other) => Err(other.to_string()),
    }
}

impl fmt::Display for Slice {
    /// `rows 0..64` or `elements 0..4096`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Slice::Rows { start, end } => write!(f, "rows {start}..{end}"),
            Slice::Elements { start, end } => write!(f, "elements {start}..{end}"),
        }
    }
}

/// One tensor name found in every file, as [`common_tensors`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommonTensor {
    /// The tensor's name.
    pub name: String,
    /// Its shape in the first file.
    pub shape: Vec<usize>,
    /// Its dtype in each file, in the order the files were given.
    pub dtypes: Vec<Dtype>,
    /// Why it cannot be loaded from all files together, if it cannot: the
    /// first of [`LoadError::UnsupportedDtype`], [`LoadError::ShapeMismatch`]
    /// or [`LoadError::DtypeMismatch`] found, in file order.
    pub issue: Option<LoadError>,
}

impl CommonTensor {
    /// True when the tensor can be loaded from every file and merged.
    pub fn is_usable(&self) -> bool {
        self.issue.is_none()
    }
}

/// Rejects a file of `bytes` bytes above `limits.file_bytes_max` — callers
/// that know the size before reading the file (the CLI, a browser `File`)
/// should call this first.
pub fn check_file_size(file: &str, bytes: u64, limits: &Limits) -> Result<(), LoadError> {
    if bytes > limits.file_bytes_max {
        return Err(LoadError::FileTooLarge {
            file: file.to_string(),
            bytes,
            limit: limits.file_bytes_max,
        });
    }
    Ok(())
}

/// Validates a whole safetensors file (header and data layout) with the
/// default [`Limits`] and lists its tensors. The data itself is not decoded.
pub fn inspect(file: &str, bytes: &[u8]) -> Result<ModelFile, LoadError> {
    inspect_with(file, bytes, &Limits::default())
}

/// [`inspect`] with explicit limits.
pub fn inspect_with(file: &str, bytes: &[u8], limits: &Limits) -> Result<ModelFile, LoadError> {
    Ok(parse(file, bytes, limits)?.model)
}

/// The tensor names present in every file, sorted, each with its dtypes and
/// any cross-file problem flagged in [`CommonTensor::issue`]. Errors:
/// [`LoadError::NoFiles`] for an empty list, [`LoadError::NoCommonTensor`]
/// when the files share no tensor name.
pub fn common_tensors(files: &[ModelFile]) -> Result<Vec<CommonTensor>, LoadError> {
    let (first, rest) = files.split_first().ok_or(LoadError::NoFiles)?;
    let common: Vec<CommonTensor> = first
        .tensors
        .keys()
        .filter(|name| rest.iter().all(|f| f.tensors.contains_key(*name)))
        .filter_map(|name| describe_common(files, name))
        .collect();
    if common.is_empty() {
        return Err(LoadError::NoCommonTensor {
            files: files.iter().map(|f| f.name.clone()).collect(),
        });
    }
    Ok(common)
}

/// The tensor `tensor` as it appears in every file, if it can be loaded from
/// all of them: [`LoadError::TensorNotFound`] names the first file without
/// it, otherwise the [`CommonTensor::issue`] is the error.
pub fn common_tensor(files: &[ModelFile], tensor: &str) -> Result<CommonTensor, LoadError> {
    if files.is_empty() {
        return Err(LoadError::NoFiles);
    }
    if let Some(f) = files.iter().find(|f| !f.tensors.contains_key(tensor)) {
        return Err(LoadError::TensorNotFound {
            file: f.name.clone(),
            tensor: tensor.to_string(),
        });
    }
    let common = describe_common(files, tensor).ok_or(LoadError::NoFiles)?;
    match common.issue {
        Some(issue) => Err(issue),
        None => Ok(common),
    }
}

/// Describes `name`, which every file in `files` (non-empty) has.
fn describe_common(files: &[ModelFile], name: &str) -> Option<CommonTensor> {
    let infos: Vec<(&str, &TensorInfo)> = files
        .iter()
        .map(|f| f.tensors.get(name).map(|t| (f.name.as_str(), t)))
        .collect::<Option<_>>()?;
    let &(file_a, first) = infos.first()?;
    let unsupported = infos.iter().find(|(_, t)| !t.dtype.is_supported());
    let shape_diff = infos.iter().find(|(_, t)| t.shape != first.shape);
    let dtype_diff = infos.iter().find(|(_, t)| t.dtype != first.dtype);
    let issue = if let Some((file, t)) = unsupported {
        Some(LoadError::UnsupportedDtype {
            file: file.to_string(),
            tensor: name.to_string(),
            dtype: t.dtype.name().to_string(),
        })
    } else if let Some((file_b, t)) = shape_diff {
        Some(LoadError::ShapeMismatch {
            tensor: name.to_string(),
            file_a: file_a.to_string(),
            shape_a: first.shape.clone(),
            file_b: file_b.to_string(),
            shape_b: t.shape.clone(),
        })
    } else {
        dtype_diff.map(|(file_b, t)| LoadError::DtypeMismatch {
            tensor: name.to_string(),
            file_a: file_a.to_string(),
            dtype_a: first.dtype.name().to_string(),
            file_b: file_b.to_string(),
            dtype_b: t.dtype.name().to_string(),
        })
    };
    Some(CommonTensor {
        name: name.to_string(),
        shape: first.shape.clone(),
        dtypes: infos.iter().map(|(_, t)| t.dtype.clone()).collect(),
        issue,
    })
}

/// Loads tensor `tensor` of the file `bytes` (named `file` in errors) as f64,
/// whole or a [`Slice`] of it, with the default [`Limits`].
pub fn load_tensor(
    file: &str,
    bytes: &[u8],
    tensor: &str,
    slice: Option<Slice>,
) -> Result<Tensor, LoadError> {
    load_tensor_with(file, bytes, tensor, slice, &Limits::default())
}

/// [`load_tensor`] with explicit limits. The whole file is validated first
/// (as by [`inspect`]); then only the selected elements are decoded.
pub fn load_tensor_with(
    file: &str,
    bytes: &[u8],
    tensor: &str,
    slice: Option<Slice>,
    limits: &Limits,
) -> Result<Tensor, LoadError> {
    let parsed = parse(file, bytes, limits)?;
    let info = parsed
        .model
        .tensors
        .get(tensor)
        .ok_or_else(|| LoadError::TensorNotFound {
            file: file.to_string(),
            tensor: tensor.to_string(),
        })?;
    let width = info
        .dtype
        .width()
        .ok_or_else(|| LoadError::UnsupportedDtype {
            file: file.to_string(),
            tensor: tensor.to_string(),
            dtype: info.dtype.name().to_string(),
        })?;
    let (range, shape) = resolve_slice(file, tensor, &info.shape, slice)?;
    let count = range.1 - range.0;
    let cap = limits.elements_cap();
    if count > cap {
        return Err(LoadError::TooManyElements {
            file: file.to_string(),
            tensor: tensor.to_string(),
            elements: count as u64,
            limit: cap as u64,
        });
    }
    if shape.len() > TENSOR_DIMS_MAX {
        return Err(LoadError::TooManyDims {
            file: file.to_string(),
            tensor: tensor.to_string(),
            dims: shape.len(),
            limit: TENSOR_DIMS_MAX,
        });
    }
    let rejected = |reason: String| LoadError::Rejected {
        file: file.to_string(),
        reason,
    };
    let view = parsed
        .reference
        .tensor(tensor)
        .map_err(|e| rejected(e.to_string()))?;
    if view.shape() != info.shape.as_slice() || view.data().len() != info.byte_len {
        return Err(rejected(format!(
            "tensor '{tensor}' has shape {:?} and {} bytes there",
            view.shape(),
            view.data().len()
        )));
    }
    // count ≤ TENSOR_ELEMENTS_MAX and width ≤ 8: no overflow.
    let raw = view
        .data()
        .get(range.0 * width..range.1 * width)
        .ok_or_else(|| rejected(format!("tensor '{tensor}' data is shorter than its shape")))?;
    let data = decode(&info.dtype, raw);
    if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
        let v = data[pos];
        let what = if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+infinity"
        } else {
            "-infinity"
        };
        return Err(LoadError::NonFinite {
            file: file.to_string(),
            tensor: tensor.to_string(),
            index: (range.0 + pos) as u64,
            what,
        });
    }
    Tensor::new(shape, data).map_err(|e| match e {
        TensorError::TooLarge { .. } => LoadError::TooManyElements {
            file: file.to_string(),
            tensor: tensor.to_string(),
            elements: count as u64,
            limit: TENSOR_ELEMENTS_MAX as u64,
        },
        TensorError::TooManyDims(dims) => LoadError::TooManyDims {
            file: file.to_string(),
            tensor: tensor.to_string(),
            dims,
            limit: TENSOR_DIMS_MAX,
        },
        other => rejected(other.to_string()),
    })
}

/// Loads the same tensor (or slice) from every file, all-or-nothing: the
/// files are inspected, the tensor is checked with [`common_tensor`] (same
/// shape and dtype everywhere), then each is loaded. `files` pairs each
/// file's name with its bytes.
pub fn load_all(
    files: &[(&str, &[u8])],
    tensor: &str,
    slice: Option<Slice>,
    limits: &Limits,
) -> Result<Vec<Tensor>, LoadError> {
    let models = files
        .iter()
        .map(|(name, bytes)| inspect_with(name, bytes, limits))
        .collect::<Result<Vec<_>, _>>()?;
    common_tensor(&models, tensor)?;
    files
        .iter()
        .map(|(name, bytes)| load_tensor_with(name, bytes, tensor, slice, limits))
        .collect()
}

/// Exact conversion of an IEEE-754 binary16 bit pattern to f64: ±0,
/// subnormals (multiples of 2^-24), normals, ±infinity, and NaN (sign and
/// payload kept in the top mantissa bits, so a quiet NaN stays quiet).
pub fn f16_to_f64(bits: u16) -> f64 {
    let sign = ((bits >> 15) as u64) << 63;
    let exp = ((bits >> 10) & 0x1f) as u64;
    let man = (bits & 0x3ff) as u64;
    let magnitude = match exp {
        // Subnormal or zero: man × 2^-24, exact (man < 2^10).
        0 => (man as f64 * TWO_POW_M24).to_bits(),
        0x1f => (0x7ffu64 << 52) | (man << 42),
        // Normal: rebias the exponent (15 → 1023), widen the mantissa.
        _ => ((exp + 1023 - 15) << 52) | (man << 42),
    };
    f64::from_bits(sign | magnitude)
}

/// Exact conversion of a bfloat16 bit pattern (the top 16 bits of a binary32)
/// to f64: ±0, subnormals (multiples of 2^-133), normals, ±infinity, NaN.
pub fn bf16_to_f64(bits: u16) -> f64 {
    let sign = ((bits >> 15) as u64) << 63;
    let exp = ((bits >> 7) & 0xff) as u64;
    let man = (bits & 0x7f) as u64;
    let magnitude = match exp {
        // Subnormal or zero: man × 2^-133 = (man × 2^-7) × 2^-126, exact.
        0 => (man as f64 * TWO_POW_M133).to_bits(),
        0xff => (0x7ffu64 << 52) | (man << 45),
        // Normal: rebias the exponent (127 → 1023), widen the mantissa.
        _ => ((exp + 1023 - 127) << 52) | (man << 45),
    };
    f64::from_bits(sign | magnitude)
}

/// 2^-24 (the smallest positive binary16 subnormal), as an exact constant.
const TWO_POW_M24: f64 = 1.0 / (1u64 << 24) as f64;
/// 2^-133 (the smallest positive bfloat16 subnormal): 2^-127 / 2^6, both
/// steps exact.
const TWO_POW_M133: f64 = (1.0 / (1u128 << 127) as f64) / (1u64 << 6) as f64;

/// Decodes little-endian elements of a supported dtype; `raw.len()` is a
/// multiple of the width.
fn decode(dtype: &Dtype, raw: &[u8]) -> Vec<f64> {
    match dtype {
        Dtype::F64 => raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
        Dtype::F32 => raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
            .collect(),
        Dtype::F16 => raw
            .chunks_exact(2)
            .map(|c| f16_to_f64(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => raw
            .chunks_exact(2)
            .map(|c| bf16_to_f64(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::Unsupported(_) => Vec::new(),
    }
}

/// The flat element range `[start, end)` a slice selects and the shape of
/// the result.
fn resolve_slice(
    file: &str,
    tensor: &str,
    shape: &[usize],
    slice: Option<Slice>,
) -> Result<((usize, usize), Vec<usize>), LoadError> {
    let bad = |reason: String| LoadError::BadSlice {
        file: file.to_string(),
        tensor: tensor.to_string(),
        reason,
    };
    // The header validation bounds the product.
    let total = element_count(shape).ok_or_else(|| bad("shape overflows".to_string()))?;
    match slice {
        None => Ok(((0, total), shape.to_vec())),
        Some(Slice::Elements { start, end }) => {
            if start >= end || end > total {
                return Err(bad(format!(
                    "element range {start}..{end} is empty or outside 0..{total}"
                )));
            }
            Ok(((start, end), vec![end - start]))
        }
        Some(Slice::Rows { start, end }) => {
            let (&rows, rest) = shape
                .split_first()
                .ok_or_else(|| bad("a scalar has no rows".to_string()))?;
            if start >= end || end > rows {
                return Err(bad(format!(
                    "row range {start}..{end} is empty or outside 0..{rows}"
                )));
            }
            // end ≤ rows, so end × row_len ≤ total: no overflow.
            let row_len = element_count(rest).unwrap_or(0);
            let mut out = Vec::with_capacity(shape.len());
            out.push(end - start);
            out.extend_from_slice(rest);
            Ok(((start * row_len, end * row_len), out))
        }
    }
}

/// A validated file: its table of contents and the reference parser's view.
struct Parsed<'a> {
    model: ModelFile,
    reference: safetensors::SafeTensors<'a>,
}

/// The header's top-level entries in file order, rejecting duplicate names
/// (which a plain JSON map would silently collapse).
struct HeaderEntries(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for HeaderEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = HeaderEntries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object mapping tensor names to their dtype, shape and offsets")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderEntries, A::Error> {
                let mut seen = BTreeSet::new();
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate entry '{key}'")));
                    }
                    let value: serde_json::Value = map.next_value()?;
                    out.push((key, value));
                }
                Ok(HeaderEntries(out))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// One tensor's header entry after validation.
struct Entry {
    name: String,
    start: u64,
    end: u64,
}

/// Validates the file and parses it with the reference parser.
fn parse<'a>(file: &str, bytes: &'a [u8], limits: &Limits) -> Result<Parsed<'a>, LoadError> {
    let file_len = bytes.len() as u64;
    check_file_size(file, file_len, limits)?;
    let corrupt = |reason: String| LoadError::CorruptHeader {
        file: file.to_string(),
        reason,
    };
    let Some(len_bytes) = bytes.first_chunk::<8>() else {
        return Err(LoadError::Truncated {
            file: file.to_string(),
            expected: 8,
            got: file_len,
        });
    };
    let header_len = u64::from_le_bytes(*len_bytes);
    if header_len > file_len - 8 {
        return Err(LoadError::HeaderBeyondFile {
            file: file.to_string(),
            header_len,
            file_len,
        });
    }
    if header_len > HEADER_BYTES_MAX {
        return Err(LoadError::HeaderTooLarge {
            file: file.to_string(),
            header_len,
            limit: HEADER_BYTES_MAX,
        });
    }
    // header_len ≤ file_len − 8, so this range is inside the buffer.
    let header_end = 8 + header_len as usize;
    let header = bytes.get(8..header_end).unwrap_or_default();
    let text = std::str::from_utf8(header).map_err(|e| {
        corrupt(format!(
            "header is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })?;
    let HeaderEntries(entries) = serde_json::from_str(text)
        .map_err(|e| corrupt(format!("header is not a valid JSON object: {e}")))?;

    let mut tensors = BTreeMap::new();
    let mut metadata = BTreeMap::new();
    let mut layout: Vec<Entry> = Vec::new();
    for (name, value) in entries {
        if name == "__metadata__" {
            metadata = parse_metadata(&value).map_err(corrupt)?;
            continue;
        }
        if layout.len() >= TENSORS_PER_FILE_MAX {
            return Err(LoadError::TooManyTensors {
                file: file.to_string(),
                count: layout.len() + 1,
                limit: TENSORS_PER_FILE_MAX,
            });
        }
        let (info, start, end) = parse_entry(file, &name, &value)?;
        tensors.insert(name.clone(), info);
        layout.push(Entry { name, start, end });
    }

    // The data ranges must tile [0, data_len) exactly, in offset order.
    layout.sort_by(|a, b| (a.start, a.end, &a.name).cmp(&(b.start, b.end, &b.name)));
    let mut data_len = 0u64;
    for e in &layout {
        if e.start != data_len {
            let reason = if e.start < data_len {
                format!("overlaps the data before it (which ends at {data_len})")
            } else {
                format!("leaves a gap after the data before it (which ends at {data_len})")
            };
            return Err(LoadError::BadOffsets {
                file: file.to_string(),
                tensor: e.name.clone(),
                start: e.start,
                end: e.end,
                reason,
            });
        }
        data_len = e.end;
    }
    let available = file_len - 8 - header_len;
    if data_len > available {
        return Err(LoadError::Truncated {
            file: file.to_string(),
            expected: (8 + header_len).saturating_add(data_len),
            got: file_len,
        });
    }
    if data_len < available {
        return Err(LoadError::TrailingBytes {
            file: file.to_string(),
            expected: 8 + header_len + data_len,
            got: file_len,
        });
    }

    let reference =
        safetensors::SafeTensors::deserialize(bytes).map_err(|e| LoadError::Rejected {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
    if reference.len() != tensors.len() {
        return Err(LoadError::Rejected {
            file: file.to_string(),
            reason: format!(
                "it lists {} tensors where the header validation found {}",
                reference.len(),
                tensors.len()
            ),
        });
    }
    Ok(Parsed {
        model: ModelFile {
            name: file.to_string(),
            bytes: file_len,
            tensors,
            metadata,
        },
        reference,
    })
}

/// The `__metadata__` entry: null or an object of strings.
fn parse_metadata(value: &serde_json::Value) -> Result<BTreeMap<String, String>, String> {
    match value {
        serde_json::Value::Null => Ok(BTreeMap::new()),
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v.as_str() {
                Some(s) => Ok((k.clone(), s.to_string())),
                None => Err(format!("__metadata__ entry '{k}' is not a string")),
            })
            .collect(),
        _ => Err("__metadata__ is not an object of strings".to_string()),
    }
}

/// Validates one tensor entry: its fields, dtype, shape and byte range size.
fn parse_entry(
    file: &str,
    name: &str,
    value: &serde_json::Value,
) -> Result<(TensorInfo, u64, u64), LoadError> {
    let corrupt = |what: &str| LoadError::CorruptHeader {
        file: file.to_string(),
        reason: format!("tensor '{name}': {what}"),
    };
    let obj = value
        .as_object()
        .ok_or_else(|| corrupt("entry is not a JSON object"))?;
    let dtype_name = obj
        .get("dtype")
        .and_then(|v| v.as_str())
        .ok_or_else(|| corrupt("missing or non-string \"dtype\""))?;
    let shape_raw: Vec<u64> = obj
        .get("shape")
        .and_then(|v| v.as_array())
        .and_then(|dims| {
            dims.iter()
                .map(|d| d.as_u64())
                .collect::<Option<Vec<u64>>>()
        })
        .ok_or_else(|| corrupt("\"shape\" is not a list of non-negative integers"))?;
    let offsets: Vec<u64> = obj
        .get("data_offsets")
        .and_then(|v| v.as_array())
        .and_then(|o| o.iter().map(|d| d.as_u64()).collect::<Option<Vec<u64>>>())
        .filter(|o| o.len() == 2)
        .ok_or_else(|| corrupt("\"data_offsets\" is not a pair of non-negative integers"))?;
    let (start, end) = (offsets[0], offsets[1]);
    let (dtype, bits) = Dtype::parse(dtype_name).ok_or_else(|| LoadError::UnknownDtype {
        file: file.to_string(),
        tensor: name.to_string(),
        dtype: dtype_name.to_string(),
    })?;
    let bad_shape = |reason: &str| LoadError::BadShape {
        file: file.to_string(),
        tensor: name.to_string(),
        shape: shape_raw.clone(),
        reason: reason.to_string(),
    };
    let shape: Vec<usize> = shape_raw
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| bad_shape("a dimension does not fit this platform's address space"))?;
    let elements =
        element_count(&shape).ok_or_else(|| bad_shape("the number of elements overflows"))?;
    let total_bits = (elements as u64)
        .checked_mul(bits)
        .ok_or_else(|| bad_shape("the size in bytes overflows"))?;
    if total_bits % 8 != 0 {
        return Err(bad_shape(&format!(
            "{elements} elements of {dtype_name} are not a whole number of bytes"
        )));
    }
    let expected_bytes = total_bits / 8;
    if end < start {
        return Err(LoadError::BadOffsets {
            file: file.to_string(),
            tensor: name.to_string(),
            start,
            end,
            reason: "the end is before the start".to_string(),
        });
    }
    if end - start != expected_bytes {
        return Err(LoadError::SizeMismatch {
            file: file.to_string(),
            tensor: name.to_string(),
            dtype: dtype_name.to_string(),
            shape,
            expected_bytes,
            got_bytes: end - start,
        });
    }
    let byte_len = usize::try_from(expected_bytes)
        .map_err(|_| bad_shape("the size in bytes does not fit this platform's address space"))?;
    Ok((
        TensorInfo {
            dtype,
            shape,
            byte_len,
        },
        start,
        end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dtype table agrees with the `safetensors` crate's names and sizes.
    #[test]
    fn dtype_table_matches_the_safetensors_crate() {
        for &(name, bits) in KNOWN_DTYPES {
            let theirs: safetensors::Dtype = serde_json::from_str(&format!("\"{name}\""))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(theirs.bitsize() as u64, bits, "{name}");
            assert_eq!(theirs.to_string(), name);
            let (ours, _) = Dtype::parse(name).unwrap();
            assert_eq!(ours.name(), name);
        }
        assert!(Dtype::parse("F128").is_none());
        assert!(serde_json::from_str::<safetensors::Dtype>("\"F128\"").is_err());
    }

    #[test]
    fn subnormal_units_are_exact_powers_of_two() {
        assert_eq!(TWO_POW_M24, 2f64.powi(-24));
        assert_eq!(TWO_POW_M133, 2f64.powi(-133));
        assert_eq!(TWO_POW_M133.to_bits(), ((1023 - 133) as u64) << 52);
    }

    #[test]
    fn decode_reads_little_endian() {
        assert_eq!(
            decode(&Dtype::F16, &[0x00, 0x3c, 0x00, 0xc0]),
            vec![1.0, -2.0]
        );
        assert_eq!(decode(&Dtype::BF16, &[0x80, 0x3f]), vec![1.0]);
        assert_eq!(decode(&Dtype::F32, &1.5f32.to_le_bytes()), vec![1.5]);
        assert_eq!(decode(&Dtype::F64, &(-0.25f64).to_le_bytes()), vec![-0.25]);
    }
}
