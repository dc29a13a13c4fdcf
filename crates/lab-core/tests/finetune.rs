//! Synthetic fine-tunes: determinism, low rank, sparsity, overlap,
//! independence from the number of contributions, and validation.

use lab_core::error::ConfigError;
use lab_core::finetune::{
    base, contribution, task_vector, FineTuneError, FineTuneSpec, FINETUNE_RANK_MAX,
    FINETUNE_WORK_MAX,
};
use lab_core::tensor::{Tensor, TENSOR_ELEMENTS_MAX};
use nalgebra::DMatrix;

fn bits(t: &Tensor) -> Vec<u64> {
    t.data().iter().map(|v| v.to_bits()).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn cosine(a: &Tensor, b: &Tensor) -> f64 {
    dot(a.data(), b.data()) / (dot(a.data(), a.data()) * dot(b.data(), b.data())).sqrt()
}

fn rms(v: &[f64]) -> f64 {
    (dot(v, v) / v.len() as f64).sqrt()
}

/// Singular values, largest first.
fn singular_values(t: &Tensor) -> Vec<f64> {
    let (r, c) = (t.shape()[0], t.shape()[1]);
    let m = DMatrix::from_row_slice(r, c, t.data());
    let mut s: Vec<f64> = m.singular_values().iter().copied().collect();
    s.sort_by(|a, b| b.total_cmp(a));
    s
}

fn clean(rows: u32, cols: u32, rank: u32) -> FineTuneSpec {
    FineTuneSpec {
        rows,
        cols,
        rank,
        scale: 0.1,
        sparsity: 0.0,
        overlap: 0.0,
        noise: 0.0,
    }
}

#[test]
fn same_seed_same_bits() {
    let spec = FineTuneSpec {
        sparsity: 0.3,
        noise: 0.02,
        overlap: 0.5,
        ..FineTuneSpec::default()
    };
    assert!(spec.validate().is_ok());
    assert_eq!(
        bits(&base(7, &spec).unwrap()),
        bits(&base(7, &spec).unwrap())
    );
    let a = contribution(7, &spec, 3).unwrap();
    let b = contribution(7, &spec, 3).unwrap();
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(a.shape(), &[64, 64]);
    assert_ne!(
        bits(&a),
        bits(&contribution(8, &spec, 3).unwrap()),
        "seed matters"
    );
    assert_ne!(
        bits(&a),
        bits(&contribution(7, &spec, 4).unwrap()),
        "index matters"
    );
    assert_ne!(
        bits(&base(7, &spec).unwrap()),
        bits(&base(8, &spec).unwrap())
    );
}

#[test]
fn contribution_is_base_plus_task_vector() {
    let spec = FineTuneSpec {
        sparsity: 0.5,
        ..FineTuneSpec::default()
    };
    let b = base(1, &spec).unwrap();
    let t = task_vector(1, &spec, 2).unwrap();
    let c = contribution(1, &spec, 2).unwrap();
    let sum: Vec<u64> = b
        .data()
        .iter()
        .zip(t.data())
        .map(|(x, y)| (x + y).to_bits())
        .collect();
    assert_eq!(bits(&c), sum);
}

#[test]
fn base_is_scaled_like_a_trained_layer() {
    let spec = clean(128, 256, 4);
    let b = base(3, &spec).unwrap();
    assert_eq!(b.shape(), &[128, 256]);
    let expected = 1.0 / 256f64.sqrt();
    let got = rms(b.data());
    assert!(
        (got / expected - 1.0).abs() < 0.05,
        "base RMS {got}, expected {expected}"
    );
    let mean = b.data().iter().sum::<f64>() / b.len() as f64;
    assert!(mean.abs() < 0.03 * expected, "mean {mean}");
}

#[test]
fn scale_sets_the_update_size_relative_to_the_base() {
    for scale in [0.05, 0.2] {
        let spec = FineTuneSpec {
            scale,
            ..clean(96, 64, 8)
        };
        let base_rms = rms(base(5, &spec).unwrap().data());
        let mut ratios = Vec::new();
        for i in 0..6 {
            ratios.push(rms(task_vector(5, &spec, i).unwrap().data()) / base_rms);
        }
        let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
        assert!(
            (mean / scale - 1.0).abs() < 0.3,
            "scale {scale}: ratios {ratios:?}"
        );
    }
}

#[test]
fn task_vectors_have_the_requested_rank() {
    for (rows, cols, rank, overlap) in [(24, 16, 3, 0.0), (20, 30, 5, 0.6), (12, 12, 1, 1.0)] {
        let spec = FineTuneSpec {
            overlap,
            ..clean(rows, cols, rank)
        };
        let tv = task_vector(11, &spec, 1).unwrap();
        let s = singular_values(&tv);
        let r = rank as usize;
        assert!(s[r - 1] / s[0] > 1e-4, "rank too low: {s:?}");
        assert!(s[r] / s[0] < 1e-12, "rank above {rank}: {s:?}");

        // The same through the contribution: numerical rank ≤ r.
        let diff: Vec<f64> = contribution(11, &spec, 1)
            .unwrap()
            .data()
            .iter()
            .zip(base(11, &spec).unwrap().data())
            .map(|(c, b)| c - b)
            .collect();
        let diff = Tensor::new(vec![rows as usize, cols as usize], diff).unwrap();
        let s = singular_values(&diff);
        assert!(
            s[r] / s[0] < 1e-9,
            "contribution − base above rank {rank}: {s:?}"
        );
    }
}

#[test]
fn noise_makes_the_task_vector_full_rank() {
    let spec = FineTuneSpec {
        noise: 0.05,
        ..clean(16, 16, 2)
    };
    let s = singular_values(&task_vector(2, &spec, 0).unwrap());
    assert!(s[15] / s[0] > 1e-4, "{s:?}");
}

#[test]
fn sparsity_zeroes_the_smallest_entries() {
    let dense_spec = clean(40, 50, 4);
    let n = 40 * 50;
    let dense = task_vector(9, &dense_spec, 0).unwrap();
    assert_eq!(dense.data().iter().filter(|v| **v == 0.0).count(), 0);
    for sparsity in [0.1, 0.5, 0.9, 0.999] {
        let spec = FineTuneSpec {
            sparsity,
            ..dense_spec
        };
        let sparse = task_vector(9, &spec, 0).unwrap();
        let zeros = sparse.data().iter().filter(|v| **v == 0.0).count();
        let expected = (sparsity * n as f64).round() as usize;
        assert_eq!(zeros, expected, "sparsity {sparsity}");
        // Every kept entry is the dense entry, and no dropped entry is
        // larger than a kept one.
        let mut min_kept = f64::INFINITY;
        let mut max_dropped = 0.0f64;
        for (s, d) in sparse.data().iter().zip(dense.data()) {
            if *s == 0.0 {
                max_dropped = max_dropped.max(d.abs());
            } else {
                assert_eq!(s.to_bits(), d.to_bits());
                min_kept = min_kept.min(d.abs());
            }
        }
        assert!(min_kept >= max_dropped, "sparsity {sparsity}");
    }
    let all = FineTuneSpec {
        sparsity: 1.0,
        ..dense_spec
    };
    assert!(task_vector(9, &all, 0)
        .unwrap()
        .data()
        .iter()
        .all(|v| *v == 0.0));
    // With noise, the zeroed entries get the noise: nothing stays exactly 0.
    let noisy = FineTuneSpec {
        sparsity: 0.8,
        noise: 0.01,
        ..dense_spec
    };
    let t = task_vector(9, &noisy, 0).unwrap();
    assert!(t.data().iter().filter(|v| **v == 0.0).count() < n / 100);
}

fn mean_pairwise(
    spec: &FineTuneSpec,
    seed: u64,
    k: u32,
    f: impl Fn(&Tensor, &Tensor) -> f64,
) -> f64 {
    let tvs: Vec<Tensor> = (0..k)
        .map(|i| task_vector(seed, spec, i).unwrap())
        .collect();
    let mut total = 0.0;
    let mut pairs = 0;
    for i in 0..tvs.len() {
        for j in i + 1..tvs.len() {
            total += f(&tvs[i], &tvs[j]);
            pairs += 1;
        }
    }
    total / pairs as f64
}

fn sign_conflicts(a: &Tensor, b: &Tensor) -> f64 {
    let n = a
        .data()
        .iter()
        .zip(b.data())
        .filter(|(x, y)| **x * **y < 0.0)
        .count();
    n as f64 / a.len() as f64
}

#[test]
fn overlap_raises_the_cosine_between_task_vectors() {
    let at = |overlap: f64| FineTuneSpec {
        overlap,
        ..clean(64, 64, 8)
    };
    let c0 = mean_pairwise(&at(0.0), 21, 6, cosine);
    let c5 = mean_pairwise(&at(0.5), 21, 6, cosine);
    let c9 = mean_pairwise(&at(0.9), 21, 6, cosine);
    assert!(c0.abs() < 0.05, "overlap 0: cosine {c0}");
    assert!(c9 > 0.8, "overlap 0.9: cosine {c9}");
    assert!(c0 < c5 && c5 < c9, "{c0} {c5} {c9}");
    assert!((c5 - 0.5).abs() < 0.1, "overlap 0.5: cosine {c5}");
    // `overlap` is the expected cosine (measured: 0.007, 0.479, 0.895).
    // Sign conflicts (what TIES resolves): about half for unrelated tasks,
    // far fewer for related ones.
    let s0 = mean_pairwise(&at(0.0), 21, 6, sign_conflicts);
    let s9 = mean_pairwise(&at(0.9), 21, 6, sign_conflicts);
    assert!((s0 - 0.5).abs() < 0.1, "overlap 0: conflicts {s0}");
    assert!(s9 < 0.3, "overlap 0.9: conflicts {s9}");
    // Full overlap: every task vector is the same.
    let one = at(1.0);
    assert_eq!(
        bits(&task_vector(21, &one, 0).unwrap()),
        bits(&task_vector(21, &one, 5).unwrap())
    );
}

#[test]
fn a_contribution_does_not_depend_on_the_others() {
    let spec = FineTuneSpec {
        sparsity: 0.4,
        noise: 0.01,
        overlap: 0.3,
        ..FineTuneSpec::default()
    };
    let alone = contribution(4, &spec, 5).unwrap();
    let batch: Vec<Tensor> = (0..8).map(|i| contribution(4, &spec, i).unwrap()).collect();
    let reversed: Vec<Tensor> = (0..8)
        .rev()
        .map(|i| contribution(4, &spec, i).unwrap())
        .collect();
    assert_eq!(bits(&alone), bits(&batch[5]));
    assert_eq!(bits(&alone), bits(&reversed[2]));
}

#[test]
fn the_default_spec_is_valid_and_realistic() {
    let spec = FineTuneSpec::default();
    assert!(spec.validate().is_ok());
    assert!(
        spec.scale < 1.0,
        "a fine-tune moves weights by a fraction of their size"
    );
    assert_eq!(spec.elements(), 64 * 64);
}

#[test]
fn validation_errors() {
    let ok = FineTuneSpec::default();
    let bad = |s: FineTuneSpec| s.validate().unwrap_err();
    assert_eq!(
        bad(FineTuneSpec { rows: 0, ..ok }),
        FineTuneError::OutOfRange {
            name: "rows",
            min: 1,
            max: 1 << 16,
            got: 0
        }
    );
    assert!(matches!(
        bad(FineTuneSpec { cols: 0, ..ok }),
        FineTuneError::OutOfRange { name: "cols", .. }
    ));
    assert!(matches!(
        bad(FineTuneSpec {
            cols: 1 << 17,
            ..ok
        }),
        FineTuneError::OutOfRange { name: "cols", .. }
    ));
    assert_eq!(
        bad(FineTuneSpec {
            rows: 8192,
            cols: 8192,
            ..ok
        }),
        FineTuneError::TooLarge {
            rows: 8192,
            cols: 8192,
            elements: 1 << 26,
            limit: TENSOR_ELEMENTS_MAX as u64
        }
    );
    assert!(matches!(
        bad(FineTuneSpec { rank: 0, ..ok }),
        FineTuneError::OutOfRange { name: "rank", .. }
    ));
    assert_eq!(
        bad(FineTuneSpec {
            rows: 8,
            cols: 5,
            rank: 6,
            ..ok
        }),
        FineTuneError::OutOfRange {
            name: "rank",
            min: 1,
            max: 5,
            got: 6
        }
    );
    assert!(matches!(
        bad(FineTuneSpec {
            rows: 1024,
            cols: 1024,
            rank: FINETUNE_RANK_MAX + 1,
            ..ok
        }),
        FineTuneError::OutOfRange { name: "rank", max, .. } if max == FINETUNE_RANK_MAX as u64
    ));
    assert!(matches!(
        bad(FineTuneSpec {
            rows: 4096,
            cols: 4096,
            rank: 128,
            ..ok
        }),
        FineTuneError::TooMuchWork { limit, .. } if limit == FINETUNE_WORK_MAX
    ));
    for (name, s) in [
        ("scale", FineTuneSpec { scale: -0.1, ..ok }),
        (
            "scale",
            FineTuneSpec {
                scale: f64::NAN,
                ..ok
            },
        ),
        (
            "scale",
            FineTuneSpec {
                scale: f64::INFINITY,
                ..ok
            },
        ),
        (
            "sparsity",
            FineTuneSpec {
                sparsity: 1.5,
                ..ok
            },
        ),
        (
            "sparsity",
            FineTuneSpec {
                sparsity: f64::NAN,
                ..ok
            },
        ),
        (
            "overlap",
            FineTuneSpec {
                overlap: -0.01,
                ..ok
            },
        ),
        (
            "overlap",
            FineTuneSpec {
                overlap: 1.01,
                ..ok
            },
        ),
        ("noise", FineTuneSpec { noise: -1.0, ..ok }),
        ("noise", FineTuneSpec { noise: 1e9, ..ok }),
    ] {
        let e = bad(s);
        assert!(
            matches!(e, FineTuneError::BadValue { name: n, .. } if n == name),
            "{name}: {e:?}"
        );
    }
    // Generators refuse invalid specs instead of panicking.
    let invalid = FineTuneSpec { rank: 0, ..ok };
    assert!(base(1, &invalid).is_err());
    assert!(task_vector(1, &invalid, 0).is_err());
    assert!(contribution(1, &invalid, 0).is_err());

    // Into the engine's configuration error.
    assert_eq!(
        ConfigError::from(bad(FineTuneSpec { rows: 0, ..ok })),
        ConfigError::OutOfRange {
            name: "rows",
            min: 1,
            max: 1 << 16,
            got: 0
        }
    );
    let e = ConfigError::from(bad(FineTuneSpec {
        sparsity: 2.0,
        ..ok
    }));
    assert_eq!(e.to_string(), "sparsity must be in [0, 1], got 2");
}
