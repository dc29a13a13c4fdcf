//! `Tensor`: an n-dimensional array of f64 in row-major (C) order, with an
//! explicit element limit, canonical little-endian bytes and a BLAKE3 digest.

use crate::error::TensorError;
use crate::hash::{Digest, Domain, Hasher};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// Largest number of elements one tensor may hold (2^24 = 16,777,216 f64,
/// 128 MiB). Larger inputs are rejected with [`TensorError::TooLarge`].
pub const TENSOR_ELEMENTS_MAX: usize = 1 << 24;

/// Largest number of dimensions.
pub const TENSOR_DIMS_MAX: usize = 8;

/// A dense f64 tensor. The data is row-major; `shape` may be empty (a 0-d
/// scalar holding one element).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
    /// [`Tensor::first_non_finite`], computed on first use: every resolve
    /// checks every input, and a contribution is resolved by many nodes.
    /// Reset by [`Tensor::data_mut`]; not part of the value.
    #[serde(skip)]
    non_finite: OnceLock<Option<usize>>,
}

/// Tensors are equal when their shapes and elements are (the cached scan
/// result is not part of the value).
impl PartialEq for Tensor {
    fn eq(&self, other: &Tensor) -> bool {
        self.shape == other.shape && self.data == other.data
    }
}

/// Elements per block of the branch-free finiteness scan.
const FINITE_SCAN_BLOCK: usize = 512;

/// Index of the first NaN or infinite value of `data`: blocks of
/// [`FINITE_SCAN_BLOCK`] elements are tested without a branch per element
/// (the loop vectorises), and only a block holding a NaN or an infinity is
/// searched element by element.
fn first_non_finite(data: &[f64]) -> Option<usize> {
    const EXPONENT: u64 = 0x7ff0_0000_0000_0000;
    data.chunks(FINITE_SCAN_BLOCK)
        .enumerate()
        .find_map(|(block, values)| {
            // A value is NaN or ±∞ exactly when its exponent bits are all set.
            let any = values
                .iter()
                .fold(false, |any, v| any | (v.to_bits() & EXPONENT == EXPONENT));
            any.then(|| {
                let at = values.iter().position(|v| !v.is_finite());
                block * FINITE_SCAN_BLOCK + at.expect("a flagged block holds a non-finite value")
            })
        })
}

impl Tensor {
    /// Builds a tensor, checking the element count against the shape and the
    /// global limit.
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Result<Tensor, TensorError> {
        if shape.len() > TENSOR_DIMS_MAX {
            return Err(TensorError::TooManyDims(shape.len()));
        }
        let expected = element_count(&shape).ok_or_else(|| TensorError::TooLarge {
            shape: shape.clone(),
            limit: TENSOR_ELEMENTS_MAX,
        })?;
        if expected > TENSOR_ELEMENTS_MAX {
            return Err(TensorError::TooLarge {
                shape,
                limit: TENSOR_ELEMENTS_MAX,
            });
        }
        if data.len() != expected {
            return Err(TensorError::LengthMismatch {
                shape,
                expected,
                got: data.len(),
            });
        }
        Ok(Tensor {
            shape,
            data,
            non_finite: OnceLock::new(),
        })
    }

    /// A tensor of zeros with the given shape.
    pub fn zeros(shape: &[usize]) -> Result<Tensor, TensorError> {
        let n = element_count(shape).unwrap_or(usize::MAX);
        if n > TENSOR_ELEMENTS_MAX {
            return Err(TensorError::TooLarge {
                shape: shape.to_vec(),
                limit: TENSOR_ELEMENTS_MAX,
            });
        }
        Tensor::new(shape.to_vec(), vec![0.0; n])
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn data(&self) -> &[f64] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f64] {
        self.non_finite = OnceLock::new();
        &mut self.data
    }

    pub fn into_data(self) -> Vec<f64> {
        self.data
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Same shape, new data (length checked by the caller's construction).
    pub fn with_data(&self, data: Vec<f64>) -> Tensor {
        assert_eq!(data.len(), self.data.len(), "with_data: length must match");
        Tensor {
            shape: self.shape.clone(),
            data,
            non_finite: OnceLock::new(),
        }
    }

    /// Index of the first NaN or infinite element, if any.
    /// Scanned once per tensor (see the `non_finite` field) by
    /// [`first_non_finite`].
    pub fn first_non_finite(&self) -> Option<usize> {
        *self.non_finite.get_or_init(|| first_non_finite(&self.data))
    }

    /// Canonical bytes: `ndim: u32 LE`, each dimension as `u64 LE`, then the
    /// elements as IEEE-754 binary64 little-endian, row-major.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 8 * self.shape.len() + 8 * self.data.len());
        out.extend_from_slice(&(self.shape.len() as u32).to_le_bytes());
        for &d in &self.shape {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        for &v in &self.data {
            out.extend_from_slice(&v.to_bits().to_le_bytes());
        }
        out
    }

    /// BLAKE3 digest of the canonical bytes in the tensor domain. Streams the
    /// data so no copy of the tensor is made.
    pub fn digest(&self) -> Digest {
        let mut h = Hasher::new(Domain::Tensor);
        h.u32(self.shape.len() as u32);
        for &d in &self.shape {
            h.u64(d as u64);
        }
        // One update over all the elements: BLAKE3 hashes many of its 1 KiB
        // chunks at once with SIMD only when handed that many bytes. On
        // little-endian targets (x86-64, wasm32) the f64s in memory are
        // already their canonical little-endian bytes.
        #[cfg(target_endian = "little")]
        h.raw(bytemuck::cast_slice(&self.data));
        #[cfg(not(target_endian = "little"))]
        for v in &self.data {
            h.raw(&v.to_bits().to_le_bytes());
        }
        h.finish()
    }
}

/// Product of the dimensions, or `None` on overflow. The empty shape has one
/// element.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_streams_the_canonical_bytes() {
        // Several BLAKE3 chunks (36,000 bytes), the last one partial.
        let t = Tensor::new(vec![3, 1500], (0..4500).map(|i| i as f64 * 0.5).collect()).unwrap();
        let mut h = Hasher::new(Domain::Tensor);
        h.raw(&t.canonical_bytes());
        assert_eq!(t.digest(), h.finish());
    }

    #[test]
    fn shape_is_part_of_the_digest() {
        let a = Tensor::new(vec![2, 3], vec![1.0; 6]).unwrap();
        let b = Tensor::new(vec![3, 2], vec![1.0; 6]).unwrap();
        assert_ne!(a.digest(), b.digest());
    }

    #[test]
    fn limits_are_enforced() {
        assert!(matches!(
            Tensor::new(vec![2, 2], vec![0.0; 3]),
            Err(TensorError::LengthMismatch { .. })
        ));
        assert!(matches!(
            Tensor::zeros(&[1 << 13, 1 << 13]),
            Err(TensorError::TooLarge { .. })
        ));
        assert!(matches!(
            Tensor::zeros(&[usize::MAX, 2]),
            Err(TensorError::TooLarge { .. })
        ));
        assert!(Tensor::new(vec![], vec![7.0]).is_ok());
    }

    #[test]
    fn first_non_finite_finds_the_first_in_any_block() {
        let n = 3 * FINITE_SCAN_BLOCK + 7;
        let finite = Tensor::new(vec![n], (0..n).map(|i| i as f64 - 1e300).collect()).unwrap();
        assert_eq!(finite.first_non_finite(), None);
        let specials = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN];
        for at in [
            0,
            1,
            FINITE_SCAN_BLOCK - 1,
            FINITE_SCAN_BLOCK,
            2 * FINITE_SCAN_BLOCK + 3,
            n - 1,
        ] {
            for special in specials {
                let mut data = finite.data().to_vec();
                data[at] = special;
                if at + 2 < n {
                    data[at + 2] = f64::NAN; // a later one in the same block
                }
                let t = Tensor::new(vec![n], data).unwrap();
                assert_eq!(t.first_non_finite(), Some(at), "{special} at {at}");
            }
        }
        // Subnormals and the largest finite values are finite.
        let edge = Tensor::new(vec![3], vec![f64::MIN_POSITIVE / 4.0, f64::MAX, f64::MIN]).unwrap();
        assert_eq!(edge.first_non_finite(), None);
    }

    #[test]
    fn the_cached_scan_follows_mutation() {
        let mut t = Tensor::new(vec![4], vec![1.0; 4]).unwrap();
        assert_eq!(t.first_non_finite(), None);
        t.data_mut()[2] = f64::INFINITY;
        assert_eq!(t.first_non_finite(), Some(2));
        let copy = t.clone();
        t.data_mut()[2] = 0.0;
        assert_eq!(t.first_non_finite(), None);
        assert_eq!(copy.first_non_finite(), Some(2));
        // The cache is not part of the value.
        let fresh = Tensor::new(vec![4], vec![1.0, 1.0, 0.0, 1.0]).unwrap();
        assert_eq!(t, fresh);
    }

    #[test]
    fn negative_zero_is_distinct() {
        let a = Tensor::new(vec![1], vec![0.0]).unwrap();
        let b = Tensor::new(vec![1], vec![-0.0]).unwrap();
        assert_ne!(a.digest(), b.digest());
    }
}
