//! Workloads: the tensors the nodes contribute. The synthetic workload gives
//! node `i` a `dim × dim` tensor of standard-normal values drawn from the
//! stream `(seed, Tensor, [i])`, and a base model from `(seed, Base, [])` — so
//! any executor can rebuild exactly the tensors it needs from the seed alone.

use crate::hash::Digest;
use crate::rng::{Purpose, Stream};
use crate::tensor::Tensor;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most elements a whole workload may hold (all contributions plus base).
pub const WORKLOAD_ELEMENTS_MAX: u64 = 1 << 26;

/// Model id of node `i` (zero-padded so byte order equals index order).
pub fn model_id(node: u32) -> String {
    format!("m{node:05}")
}

/// The synthetic contribution of node `node`.
pub fn synthetic_tensor(seed: u64, node: u32, dim: u32) -> Tensor {
    let mut s = Stream::new(seed, Purpose::Tensor, &[node as u64]);
    gaussian_matrix(&mut s, dim)
}

/// Version `version` (≥ 2) of node `node`'s synthetic contribution (churn).
pub fn synthetic_tensor_version(seed: u64, node: u32, version: u32, dim: u32) -> Tensor {
    let mut s = Stream::new(seed, Purpose::Tensor, &[node as u64, version as u64]);
    gaussian_matrix(&mut s, dim)
}

/// The synthetic base model.
pub fn synthetic_base(seed: u64, dim: u32) -> Tensor {
    let mut s = Stream::new(seed, Purpose::Base, &[]);
    gaussian_matrix(&mut s, dim)
}

fn gaussian_matrix(s: &mut Stream, dim: u32) -> Tensor {
    let d = dim as usize;
    let data: Vec<f64> = (0..d * d).map(|_| s.gaussian()).collect();
    Tensor::new(vec![d, d], data).expect("dimension validated by the caller")
}

/// A read-only, content-addressed tensor pool: tensors keyed by digest,
/// verified when inserted.
#[derive(Default, Clone)]
pub struct TensorPool {
    tensors: BTreeMap<Digest, Arc<Tensor>>,
    elements_total: u64,
}

impl TensorPool {
    pub fn new() -> TensorPool {
        TensorPool::default()
    }

    /// Inserts a tensor and returns its digest.
    pub fn insert(&mut self, tensor: Tensor) -> Digest {
        let d = tensor.digest();
        self.elements_total += tensor.len() as u64;
        assert!(
            self.elements_total <= WORKLOAD_ELEMENTS_MAX,
            "tensor pool element limit (validated configs stay below it)"
        );
        self.tensors.entry(d).or_insert_with(|| Arc::new(tensor));
        d
    }

    pub fn get(&self, digest: &Digest) -> Option<&Arc<Tensor>> {
        self.tensors.get(digest)
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }
}
