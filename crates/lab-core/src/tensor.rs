//! `Tensor`: an n-dimensional array of f64 in row-major (C) order, with an
//! explicit element limit, canonical little-endian bytes and a BLAKE3 digest.

use crate::error::TensorError;
use crate::hash::{Digest, Domain, Hasher};
use serde::{Deserialize, Serialize};

/// Largest number of elements one tensor may hold (2^24 = 16,777,216 f64,
/// 128 MiB). Larger inputs are rejected with [`TensorError::TooLarge`].
pub const TENSOR_ELEMENTS_MAX: usize = 1 << 24;

/// Largest number of dimensions.
pub const TENSOR_DIMS_MAX: usize = 8;

/// A dense f64 tensor. The data is row-major; `shape` may be empty (a 0-d
/// scalar holding one element).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<f64>,
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
        Ok(Tensor { shape, data })
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
        }
    }

    /// Index of the first NaN or infinite element, if any.
    pub fn first_non_finite(&self) -> Option<usize> {
        self.data.iter().position(|v| !v.is_finite())
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
        let mut buf = [0u8; 8 * 256];
        for chunk in self.data.chunks(256) {
            for (i, v) in chunk.iter().enumerate() {
                buf[8 * i..8 * i + 8].copy_from_slice(&v.to_bits().to_le_bytes());
            }
            h.raw(&buf[..8 * chunk.len()]);
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
        let t = Tensor::new(vec![3, 200], (0..600).map(|i| i as f64 * 0.5).collect()).unwrap();
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
    fn negative_zero_is_distinct() {
        let a = Tensor::new(vec![1], vec![0.0]).unwrap();
        let b = Tensor::new(vec![1], vec![-0.0]).unwrap();
        assert_ne!(a.digest(), b.digest());
    }
}
