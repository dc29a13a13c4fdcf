//! safetensors loading: exact decoding of every supported dtype, every typed
//! error, compatibility with the official writer, and property tests that
//! feed arbitrary bytes and mutated files to the loader (no input panics).

use lab_core::loader::{
    bf16_to_f64, check_file_size, common_tensor, common_tensors, f16_to_f64, inspect, inspect_with,
    load_all, load_tensor, load_tensor_with, Dtype, Limits, LoadError, ModelFile, Slice,
    FILE_BYTES_MAX, HEADER_BYTES_MAX, TENSORS_PER_FILE_MAX,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Building files by hand: 8-byte LE header length, JSON header, data.

fn raw_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A well-formed file: tensors back to back in the given order, header
/// padded with spaces to a multiple of 8 (as the official writer does).
fn file(tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    file_with_meta(tensors, None)
}

fn file_with_meta(tensors: &[(&str, &str, &[usize], Vec<u8>)], meta: Option<&str>) -> Vec<u8> {
    let mut entries = Vec::new();
    if let Some(m) = meta {
        entries.push(format!("\"__metadata__\":{m}"));
    }
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let start = data.len();
        data.extend_from_slice(bytes);
        entries.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{start},{}]}}",
            data.len()
        ));
    }
    let mut header = format!("{{{}}}", entries.join(","));
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    raw_file(&header, &data)
}

fn f64s(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

fn assert_bits_eq(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(
            g.to_bits(),
            w.to_bits(),
            "element {i}: got {g:e}, want {w:e}"
        );
    }
}

/// A small valid file with one tensor of every supported dtype plus an
/// unsupported one.
fn sample() -> Vec<u8> {
    file(&[
        ("a.f64", "F64", &[2, 2], f64s(&[1.0, -2.5, 0.125, 3.0])),
        ("b.f32", "F32", &[3], f32s(&[0.5, -1.0, 7.0])),
        ("c.f16", "F16", &[2], u16s(&[0x3c00, 0xc000])),
        ("d.bf16", "BF16", &[1, 2], u16s(&[0x3f80, 0x4049])),
        ("e.i64", "I64", &[1], vec![1, 0, 0, 0, 0, 0, 0, 0]),
    ])
}

// ---------------------------------------------------------------------------
// Exact decoding.

#[test]
fn decodes_every_float_dtype_exactly() {
    let v64 = [0.1, -0.0, f64::MIN_POSITIVE, 5e-324, f64::MAX, -1.5];
    let v32 = [0.1f32, -0.0, f32::MIN_POSITIVE, 1e-45, f32::MAX, -1.5];
    let h16 = [
        0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0xc000, 0x7bff, 0x3555, 0x8001,
    ];
    let b16 = [
        0x0000, 0x8000, 0x0001, 0x007f, 0x0080, 0x3f80, 0xc000, 0x7f7f, 0x4049, 0x3eab,
    ];
    let bytes = file(&[
        ("f64", "F64", &[6], f64s(&v64)),
        ("f32", "F32", &[2, 3], f32s(&v32)),
        ("f16", "F16", &[10], u16s(&h16)),
        ("bf16", "BF16", &[5, 2], u16s(&b16)),
    ]);
    let t = load_tensor("m.safetensors", &bytes, "f64", None).unwrap();
    assert_eq!(t.shape(), &[6]);
    assert_bits_eq(t.data(), &v64);

    let t = load_tensor("m.safetensors", &bytes, "f32", None).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_bits_eq(
        t.data(),
        &[
            f64::from(0.1f32),
            -0.0,
            pow2(-126),
            pow2(-149),
            (2.0 - pow2(-23)) * pow2(127),
            -1.5,
        ],
    );

    let t = load_tensor("m.safetensors", &bytes, "f16", None).unwrap();
    assert_bits_eq(
        t.data(),
        &[
            0.0,
            -0.0,
            pow2(-24),          // smallest subnormal
            1023.0 * pow2(-24), // largest subnormal
            pow2(-14),          // smallest normal
            1.0,
            -2.0,
            65504.0,        // largest finite
            0.333251953125, // nearest to 1/3
            -pow2(-24),
        ],
    );

    let t = load_tensor("m.safetensors", &bytes, "bf16", None).unwrap();
    assert_eq!(t.shape(), &[5, 2]);
    assert_bits_eq(
        t.data(),
        &[
            0.0,
            -0.0,
            pow2(-133),         // smallest subnormal
            127.0 * pow2(-133), // largest subnormal
            pow2(-126),         // smallest normal
            1.0,
            -2.0,
            255.0 * pow2(120), // largest finite, 3.3895313892515355e38
            3.140625,
            0.333984375,
        ],
    );
}

#[test]
fn half_precision_special_values() {
    assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
    assert_eq!(f16_to_f64(0xfc00), f64::NEG_INFINITY);
    assert!(f16_to_f64(0x7e00).is_nan());
    assert!(f16_to_f64(0x7c01).is_nan(), "signalling NaN stays NaN");
    assert!(f16_to_f64(0xfe00).is_sign_negative());
    assert_eq!(bf16_to_f64(0x7f80), f64::INFINITY);
    assert_eq!(bf16_to_f64(0xff80), f64::NEG_INFINITY);
    assert!(bf16_to_f64(0x7fc0).is_nan());
    assert!(bf16_to_f64(0x7f81).is_nan());
    assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
    assert_eq!(bf16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
}

/// Every one of the 65,536 binary16 patterns against an independent formula.
#[test]
fn f16_conversion_is_exact_for_every_pattern() {
    for bits in 0..=u16::MAX {
        let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
        let exp = ((bits >> 10) & 0x1f) as i32;
        let man = (bits & 0x3ff) as f64;
        let got = f16_to_f64(bits);
        match exp {
            0x1f if man == 0.0 => assert_eq!(got, sign * f64::INFINITY),
            0x1f => assert!(got.is_nan(), "{bits:#06x}"),
            0 => assert_eq!(
                got.to_bits(),
                (sign * man * 2f64.powi(-24)).to_bits(),
                "{bits:#06x}"
            ),
            _ => assert_eq!(
                got.to_bits(),
                (sign * (1.0 + man / 1024.0) * 2f64.powi(exp - 15)).to_bits(),
                "{bits:#06x}"
            ),
        }
    }
}

/// Every bfloat16 pattern against the binary32 it is the top half of.
#[test]
fn bf16_conversion_is_exact_for_every_pattern() {
    for bits in 0..=u16::MAX {
        let reference = f32::from_bits((bits as u32) << 16);
        let got = bf16_to_f64(bits);
        if reference.is_nan() {
            assert!(got.is_nan(), "{bits:#06x}");
        } else {
            assert_eq!(got.to_bits(), (reference as f64).to_bits(), "{bits:#06x}");
        }
    }
}

// ---------------------------------------------------------------------------
// Inspecting, slicing, the official writer.

#[test]
fn inspect_lists_every_tensor_and_the_metadata() {
    let bytes = file_with_meta(
        &[
            ("w", "F32", &[2, 3], f32s(&[0.0; 6])),
            ("ids", "I64", &[2], vec![0; 16]),
            ("mask", "BOOL", &[3], vec![1, 0, 1]),
            ("empty", "F16", &[0, 4], vec![]),
            ("scalar", "F64", &[], f64s(&[2.0])),
        ],
        Some(r#"{"format":"pt","note":"test"}"#),
    );
    let m = inspect("model.safetensors", &bytes).unwrap();
    assert_eq!(m.name, "model.safetensors");
    assert_eq!(m.bytes, bytes.len() as u64);
    let names: Vec<&str> = m.tensors.keys().map(|s| s.as_str()).collect();
    assert_eq!(names, ["empty", "ids", "mask", "scalar", "w"]);
    assert_eq!(m.tensors["w"].dtype, Dtype::F32);
    assert_eq!(m.tensors["w"].shape, vec![2, 3]);
    assert_eq!(m.tensors["w"].byte_len, 24);
    assert_eq!(m.tensors["w"].elements(), 6);
    assert_eq!(m.tensors["ids"].dtype, Dtype::Unsupported("I64".into()));
    assert!(!m.tensors["mask"].dtype.is_supported());
    assert_eq!(m.tensors["empty"].elements(), 0);
    assert_eq!(m.tensors["scalar"].elements(), 1);
    assert_eq!(m.metadata["format"], "pt");

    let s = load_tensor("model.safetensors", &bytes, "scalar", None).unwrap();
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(s.data(), &[2.0]);
    let e = load_tensor("model.safetensors", &bytes, "empty", None).unwrap();
    assert_eq!(e.shape(), &[0, 4]);
    assert!(e.is_empty());
}

#[test]
fn tensors_may_be_stored_in_any_order() {
    // Offsets need not follow the header's key order.
    let header = r#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let bytes = raw_file(header, &f32s(&[1.0, 2.0]));
    assert_eq!(load_tensor("f", &bytes, "a", None).unwrap().data(), &[1.0]);
    assert_eq!(load_tensor("f", &bytes, "b", None).unwrap().data(), &[2.0]);
}

#[test]
fn slices_select_rows_or_elements() {
    let vals: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let bytes = file(&[("w", "F32", &[3, 4], f32s(&vals))]);
    let rows = load_tensor("f", &bytes, "w", Some(Slice::Rows { start: 1, end: 3 })).unwrap();
    assert_eq!(rows.shape(), &[2, 4]);
    assert_eq!(rows.data(), &[4., 5., 6., 7., 8., 9., 10., 11.]);
    let first = load_tensor("f", &bytes, "w", Some(Slice::first_rows(1))).unwrap();
    assert_eq!(first.shape(), &[1, 4]);
    assert_eq!(first.data(), &[0., 1., 2., 3.]);
    let flat = load_tensor("f", &bytes, "w", Some(Slice::Elements { start: 5, end: 9 })).unwrap();
    assert_eq!(flat.shape(), &[4]);
    assert_eq!(flat.data(), &[5., 6., 7., 8.]);

    assert_eq!(Slice::rows_within(&[3, 4], 9), Some(Slice::first_rows(2)));
    assert_eq!(Slice::rows_within(&[3, 4], 100), Some(Slice::first_rows(3)));
    assert_eq!(Slice::rows_within(&[3, 4], 3), None);
    assert_eq!(Slice::rows_within(&[], 3), None);
    assert_eq!(Slice::rows_within(&[0, 4], 3), None);
}

#[test]
fn reads_files_written_by_the_safetensors_crate() {
    use safetensors::tensor::{Dtype as StDtype, TensorView};
    let w = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let h = u16s(&[0x3c00, 0x4000]);
    let d = f64s(&[-0.5]);
    let views = vec![
        (
            "layer.weight",
            TensorView::new(StDtype::F32, vec![2, 3], &w).unwrap(),
        ),
        (
            "layer.half",
            TensorView::new(StDtype::F16, vec![2], &h).unwrap(),
        ),
        (
            "layer.bias",
            TensorView::new(StDtype::F64, vec![1], &d).unwrap(),
        ),
    ];
    let bytes = safetensors::serialize(views, None).unwrap();
    let m = inspect("official.safetensors", &bytes).unwrap();
    assert_eq!(m.tensors.len(), 3);
    let t = load_tensor("official.safetensors", &bytes, "layer.weight", None).unwrap();
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(t.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let t = load_tensor("official.safetensors", &bytes, "layer.half", None).unwrap();
    assert_eq!(t.data(), &[1.0, 2.0]);
    let t = load_tensor("official.safetensors", &bytes, "layer.bias", None).unwrap();
    assert_eq!(t.data(), &[-0.5]);
}

#[test]
fn our_hand_built_files_satisfy_the_safetensors_crate() {
    assert!(safetensors::SafeTensors::deserialize(&sample()).is_ok());
}

// ---------------------------------------------------------------------------
// Several files.

fn model(name: &str, tensors: &[(&str, &str, &[usize], Vec<u8>)]) -> (ModelFile, Vec<u8>) {
    let bytes = file(tensors);
    (inspect(name, &bytes).unwrap(), bytes)
}

#[test]
fn common_tensors_are_sorted_and_flag_mismatches() {
    let (a, _) = model(
        "a",
        &[
            ("z", "F32", &[2], f32s(&[1.0, 2.0])),
            ("shape", "F32", &[2], f32s(&[1.0, 2.0])),
            ("dtype", "F32", &[1], f32s(&[1.0])),
            ("ints", "I32", &[1], vec![0; 4]),
            ("only_a", "F32", &[1], f32s(&[1.0])),
        ],
    );
    let (b, _) = model(
        "b",
        &[
            ("z", "F32", &[2], f32s(&[3.0, 4.0])),
            ("shape", "F32", &[1, 2], f32s(&[1.0, 2.0])),
            ("dtype", "F16", &[1], u16s(&[0x3c00])),
            ("ints", "I32", &[1], vec![0; 4]),
        ],
    );
    let common = common_tensors(&[a.clone(), b.clone()]).unwrap();
    let names: Vec<&str> = common.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["dtype", "ints", "shape", "z"]);
    assert!(matches!(
        common[0].issue,
        Some(LoadError::DtypeMismatch { .. })
    ));
    assert_eq!(common[0].dtypes, vec![Dtype::F32, Dtype::F16]);
    assert!(matches!(
        common[1].issue,
        Some(LoadError::UnsupportedDtype { .. })
    ));
    assert_eq!(
        common[2].issue,
        Some(LoadError::ShapeMismatch {
            tensor: "shape".into(),
            file_a: "a".into(),
            shape_a: vec![2],
            file_b: "b".into(),
            shape_b: vec![1, 2],
        })
    );
    assert!(common[3].is_usable());

    let files = [a.clone(), b.clone()];
    assert_eq!(common_tensor(&files, "z").unwrap().shape, vec![2]);
    assert!(matches!(
        common_tensor(&files, "shape"),
        Err(LoadError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        common_tensor(&files, "dtype"),
        Err(LoadError::DtypeMismatch { .. })
    ));
    assert_eq!(
        common_tensor(&files, "only_a"),
        Err(LoadError::TensorNotFound {
            file: "b".into(),
            tensor: "only_a".into()
        })
    );
    assert_eq!(common_tensors(&[]), Err(LoadError::NoFiles));
    assert_eq!(common_tensor(&[], "z"), Err(LoadError::NoFiles));

    let (c, _) = model("c", &[("other", "F32", &[1], f32s(&[1.0]))]);
    assert_eq!(
        common_tensors(&[a, b, c]),
        Err(LoadError::NoCommonTensor {
            files: vec!["a".into(), "b".into(), "c".into()]
        })
    );
}

#[test]
fn load_all_is_all_or_nothing() {
    let a = file(&[("w", "F32", &[2], f32s(&[1.0, 2.0]))]);
    let b = file(&[("w", "F32", &[2], f32s(&[3.0, 4.0]))]);
    let bad = file(&[("w", "F32", &[2], f32s(&[5.0, f32::NAN]))]);
    let other = file(&[("w", "F32", &[1, 2], f32s(&[5.0, 6.0]))]);
    let limits = Limits::default();
    let got = load_all(&[("a", &a), ("b", &b)], "w", None, &limits).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].data(), &[3.0, 4.0]);
    assert!(matches!(
        load_all(&[("a", &a), ("bad", &bad)], "w", None, &limits),
        Err(LoadError::NonFinite { index: 1, .. })
    ));
    assert!(matches!(
        load_all(&[("a", &a), ("o", &other)], "w", None, &limits),
        Err(LoadError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        load_all(&[("a", &a), ("t", &a[..a.len() - 1])], "w", None, &limits),
        Err(LoadError::Truncated { .. })
    ));
}

// ---------------------------------------------------------------------------
// Every bad input gives its typed error.

fn inspect_err(bytes: &[u8]) -> LoadError {
    inspect("bad.safetensors", bytes).unwrap_err()
}

#[test]
fn truncated_files() {
    let good = sample();
    assert_eq!(
        inspect_err(&good[..5]),
        LoadError::Truncated {
            file: "bad.safetensors".into(),
            expected: 8,
            got: 5
        }
    );
    assert!(matches!(
        inspect_err(&[]),
        LoadError::Truncated {
            expected: 8,
            got: 0,
            ..
        }
    ));
    let cut = &good[..good.len() - 3];
    assert_eq!(
        inspect_err(cut),
        LoadError::Truncated {
            file: "bad.safetensors".into(),
            expected: good.len() as u64,
            got: good.len() as u64 - 3
        }
    );
    let e = inspect_err(cut);
    assert!(e.to_string().contains("bad.safetensors"), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    // Cut inside the header: the header length now reaches past the end.
    assert!(matches!(
        inspect_err(&good[..20]),
        LoadError::HeaderBeyondFile { .. }
    ));
}

#[test]
fn trailing_bytes() {
    let mut bytes = sample();
    bytes.extend_from_slice(&[0, 0]);
    assert!(matches!(
        inspect_err(&bytes),
        LoadError::TrailingBytes { expected, got, .. } if got == expected + 2
    ));
}

#[test]
fn header_length_beyond_the_file() {
    let mut bytes = sample();
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        inspect_err(&bytes),
        LoadError::HeaderBeyondFile {
            file: "bad.safetensors".into(),
            header_len: u64::MAX,
            file_len: bytes.len() as u64
        }
    );
    // Not a safetensors file at all.
    assert!(matches!(
        inspect_err(b"PK\x03\x04 this is a zip file, not safetensors"),
        LoadError::HeaderBeyondFile { .. }
    ));
}

#[test]
fn header_above_the_limit() {
    // Zeroed memory: cheap, and the limit is checked before anything is read.
    let n = HEADER_BYTES_MAX + 1;
    let mut bytes = vec![0u8; 8 + n as usize];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    assert!(matches!(
        inspect_err(&bytes),
        LoadError::HeaderTooLarge { header_len, limit, .. } if header_len == n && limit == HEADER_BYTES_MAX
    ));
}

#[test]
fn corrupt_headers() {
    let cases: &[&str] = &[
        "{not json",
        "[1, 2, 3]",
        "",
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        r#"{"a":{"shape":[1],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
        r#"{"a":[1,2,3]}"#,
        r#"{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} trailing"#,
    ];
    for header in cases {
        let bytes = raw_file(header, &f32s(&[1.0, 2.0]));
        assert!(
            matches!(inspect_err(&bytes), LoadError::CorruptHeader { .. }),
            "{header}: {:?}",
            inspect_err(&bytes)
        );
    }
    let mut bytes = raw_file(
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
        &f32s(&[1.0]),
    );
    bytes[10] = 0xff; // not UTF-8
    let e = inspect_err(&bytes);
    assert!(matches!(e, LoadError::CorruptHeader { .. }), "{e:?}");
    assert!(e.to_string().contains("UTF-8"), "{e}");
    let e = inspect_err(&raw_file("{not json", &[]));
    assert!(
        e.to_string()
            .starts_with("file 'bad.safetensors': corrupt header"),
        "{e}"
    );
}

#[test]
fn unknown_and_unsupported_dtypes() {
    let bytes = file(&[("w", "F128", &[1], vec![0; 16])]);
    assert_eq!(
        inspect_err(&bytes),
        LoadError::UnknownDtype {
            file: "bad.safetensors".into(),
            tensor: "w".into(),
            dtype: "F128".into()
        }
    );
    let bytes = sample();
    assert_eq!(
        load_tensor("s", &bytes, "e.i64", None),
        Err(LoadError::UnsupportedDtype {
            file: "s".into(),
            tensor: "e.i64".into(),
            dtype: "I64".into()
        })
    );
}

#[test]
fn shape_and_size_mismatches() {
    let bytes = raw_file(
        r#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
        &[0; 12],
    );
    assert_eq!(
        inspect_err(&bytes),
        LoadError::SizeMismatch {
            file: "bad.safetensors".into(),
            tensor: "w".into(),
            dtype: "F32".into(),
            shape: vec![2, 2],
            expected_bytes: 16,
            got_bytes: 12
        }
    );
    let huge = raw_file(
        r#"{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#,
        &[0; 8],
    );
    assert!(matches!(inspect_err(&huge), LoadError::BadShape { .. }));
    let bits = raw_file(
        r#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
        &[0; 2],
    );
    assert!(matches!(inspect_err(&bits), LoadError::BadShape { .. }));
    // Fits the shape arithmetic but points far past the data.
    let far = raw_file(
        r#"{"w":{"dtype":"U8","shape":[1152921504606846976],"data_offsets":[0,1152921504606846976]}}"#,
        &[0; 8],
    );
    assert!(matches!(inspect_err(&far), LoadError::Truncated { .. }));
}

#[test]
fn bad_offsets() {
    let gap = raw_file(
        r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        &[0; 8],
    );
    assert!(matches!(
        inspect_err(&gap),
        LoadError::BadOffsets {
            start: 4,
            end: 8,
            ..
        }
    ));
    let overlap = raw_file(
        r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        &[0; 8],
    );
    let e = inspect_err(&overlap);
    assert!(
        matches!(&e, LoadError::BadOffsets { tensor, .. } if tensor == "b"),
        "{e:?}"
    );
    let reversed = raw_file(
        r#"{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#,
        &[0; 4],
    );
    assert!(matches!(
        inspect_err(&reversed),
        LoadError::BadOffsets {
            start: 4,
            end: 0,
            ..
        }
    ));
}

#[test]
fn too_many_tensors() {
    let entries: Vec<String> = (0..=TENSORS_PER_FILE_MAX)
        .map(|i| format!("\"t{i}\":{{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}"))
        .collect();
    let bytes = raw_file(&format!("{{{}}}", entries.join(",")), &[]);
    assert!(matches!(
        inspect_err(&bytes),
        LoadError::TooManyTensors { limit, .. } if limit == TENSORS_PER_FILE_MAX
    ));
}

#[test]
fn missing_tensor() {
    assert_eq!(
        load_tensor("s", &sample(), "nope", None),
        Err(LoadError::TensorNotFound {
            file: "s".into(),
            tensor: "nope".into()
        })
    );
}

#[test]
fn non_finite_values_report_the_first_index() {
    let bytes = file(&[
        ("h", "F16", &[2, 2], u16s(&[0x3c00, 0x3c00, 0x7e00, 0x7c00])),
        ("f", "F32", &[3], f32s(&[1.0, f32::NEG_INFINITY, f32::NAN])),
        ("b", "BF16", &[2], u16s(&[0x7f80, 0])),
        ("d", "F64", &[2], f64s(&[0.0, f64::NAN])),
    ]);
    assert_eq!(
        load_tensor("n", &bytes, "h", None),
        Err(LoadError::NonFinite {
            file: "n".into(),
            tensor: "h".into(),
            index: 2,
            what: "NaN"
        })
    );
    // The index is in the whole tensor, not in the slice.
    assert!(matches!(
        load_tensor("n", &bytes, "h", Some(Slice::Rows { start: 1, end: 2 })),
        Err(LoadError::NonFinite { index: 2, .. })
    ));
    assert!(matches!(
        load_tensor("n", &bytes, "h", Some(Slice::Elements { start: 3, end: 4 })),
        Err(LoadError::NonFinite {
            index: 3,
            what: "+infinity",
            ..
        })
    ));
    // The finite part loads.
    assert!(load_tensor("n", &bytes, "h", Some(Slice::first_rows(1))).is_ok());
    assert!(matches!(
        load_tensor("n", &bytes, "f", None),
        Err(LoadError::NonFinite {
            index: 1,
            what: "-infinity",
            ..
        })
    ));
    assert!(matches!(
        load_tensor("n", &bytes, "b", None),
        Err(LoadError::NonFinite { index: 0, .. })
    ));
    let e = load_tensor("n", &bytes, "d", None).unwrap_err();
    assert_eq!(e.to_string(), "file 'n', tensor 'd': NaN at element 1");
}

#[test]
fn file_size_limit() {
    let bytes = sample();
    let small = Limits {
        file_bytes_max: 100,
        ..Limits::default()
    };
    assert_eq!(
        inspect_with("big", &bytes, &small),
        Err(LoadError::FileTooLarge {
            file: "big".into(),
            bytes: bytes.len() as u64,
            limit: 100
        })
    );
    assert!(matches!(
        load_tensor_with("big", &bytes, "a.f64", None, &small),
        Err(LoadError::FileTooLarge { .. })
    ));
    assert_eq!(Limits::default().file_bytes_max, FILE_BYTES_MAX);
    assert_eq!(FILE_BYTES_MAX, 2 << 30);
    assert!(check_file_size("x", FILE_BYTES_MAX, &Limits::CLI).is_ok());
    assert!(matches!(
        check_file_size("x", FILE_BYTES_MAX + 1, &Limits::CLI),
        Err(LoadError::FileTooLarge { .. })
    ));
    assert!(matches!(
        check_file_size("x", FILE_BYTES_MAX, &Limits::BROWSER),
        Err(LoadError::FileTooLarge { .. })
    ));
}

#[test]
fn element_limit_and_slices() {
    let vals: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let bytes = file(&[("w", "F32", &[3, 4], f32s(&vals))]);
    let limits = Limits {
        elements_max: 8,
        ..Limits::default()
    };
    assert_eq!(
        load_tensor_with("f", &bytes, "w", None, &limits),
        Err(LoadError::TooManyElements {
            file: "f".into(),
            tensor: "w".into(),
            elements: 12,
            limit: 8
        })
    );
    let slice = Slice::rows_within(&[3, 4], limits.elements_max).unwrap();
    let t = load_tensor_with("f", &bytes, "w", Some(slice), &limits).unwrap();
    assert_eq!(t.shape(), &[2, 4]);
    let e = load_tensor_with("f", &bytes, "w", None, &limits).unwrap_err();
    assert!(e.to_string().contains("slice"), "{e}");
}

#[test]
fn bad_slices() {
    let bytes = sample();
    for slice in [
        Slice::Rows { start: 1, end: 1 },
        Slice::Rows { start: 0, end: 3 },
        Slice::Rows { start: 2, end: 1 },
        Slice::Elements { start: 0, end: 5 },
        Slice::Elements { start: 3, end: 3 },
        Slice::Elements {
            start: usize::MAX - 1,
            end: usize::MAX,
        },
    ] {
        assert!(
            matches!(
                load_tensor("s", &bytes, "a.f64", Some(slice)),
                Err(LoadError::BadSlice { .. })
            ),
            "{slice:?}"
        );
    }
    let scalar = file(&[("s", "F64", &[], f64s(&[1.0]))]);
    assert!(matches!(
        load_tensor("s", &scalar, "s", Some(Slice::first_rows(1))),
        Err(LoadError::BadSlice { .. })
    ));
}

#[test]
fn too_many_dimensions() {
    let bytes = file(&[("w", "F32", &[1; 9], f32s(&[1.0]))]);
    assert!(inspect("f", &bytes).is_ok(), "listed, not loadable");
    assert_eq!(
        load_tensor("f", &bytes, "w", None),
        Err(LoadError::TooManyDims {
            file: "f".into(),
            tensor: "w".into(),
            dims: 9,
            limit: 8
        })
    );
    // A slice of the flat data still works.
    assert!(load_tensor("f", &bytes, "w", Some(Slice::Elements { start: 0, end: 1 })).is_ok());
}

// ---------------------------------------------------------------------------
// Property tests: nothing panics, whatever the bytes.

/// Runs every entry point on `bytes`; any panic fails the property. When the
/// file inspects, loading each listed tensor gives a tensor of the listed
/// shape or a typed error — never anything half-built.
fn exercise(bytes: &[u8]) {
    let names = ["a.f64", "b.f32", "c.f16", "d.bf16", "e.i64", "w", ""];
    let inspected = inspect("fuzz", bytes);
    let slices = [
        None,
        Some(Slice::first_rows(1)),
        Some(Slice::Rows { start: 1, end: 2 }),
        Some(Slice::Elements { start: 0, end: 1 }),
        Some(Slice::Elements { start: 1, end: 3 }),
    ];
    for name in names {
        for slice in slices {
            let loaded = load_tensor("fuzz", bytes, name, slice);
            if let Err(e) = &loaded {
                let _ = e.to_string();
            }
            match (&inspected, &loaded) {
                (Err(_), Ok(_)) => panic!("inspect failed but load_tensor succeeded"),
                (Ok(m), Ok(t)) if slice.is_none() => {
                    assert_eq!(t.shape(), m.tensors[name].shape.as_slice());
                    assert!(t.first_non_finite().is_none());
                }
                _ => {}
            }
        }
    }
    let small = Limits {
        file_bytes_max: 64,
        elements_max: 1,
    };
    let _ = inspect_with("fuzz", bytes, &small);
    let _ = load_tensor_with("fuzz", bytes, "a.f64", None, &small);
    if let Ok(m) = inspected {
        let _ = common_tensors(&[m.clone(), m]);
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    SetByte(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    SetHeaderLen(u64),
    NudgeHeaderLen(i16),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(p, x)| Mutation::Flip(p, x)),
        (
            any::<usize>(),
            prop::sample::select(b"{}[]\",:0123456789-.eE \\FIUB_".to_vec())
        )
            .prop_map(|(p, b)| Mutation::SetByte(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<u64>().prop_map(Mutation::SetHeaderLen),
        any::<i16>().prop_map(Mutation::NudgeHeaderLen),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match *m {
        Mutation::Truncate(at) => bytes.truncate(at % (n + 1)),
        Mutation::Flip(p, x) if n > 0 => bytes[p % n] ^= x,
        Mutation::SetByte(p, b) if n > 0 => bytes[p % n] = b,
        Mutation::Insert(p, b) => bytes.insert(p % (n + 1), b),
        Mutation::Remove(p) if n > 0 => {
            bytes.remove(p % n);
        }
        Mutation::SetHeaderLen(len) if n >= 8 => bytes[..8].copy_from_slice(&len.to_le_bytes()),
        Mutation::NudgeHeaderLen(d) if n >= 8 => {
            let mut len = [0u8; 8];
            len.copy_from_slice(&bytes[..8]);
            let len = u64::from_le_bytes(len).wrapping_add_signed(d as i64);
            bytes[..8].copy_from_slice(&len.to_le_bytes());
        }
        _ => {}
    }
}

/// Header fields drawn to hit the arithmetic edges.
fn dim() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..5,
        Just(u32::MAX as u64),
        Just(1u64 << 32),
        Just(u64::MAX),
        any::<u64>(),
    ]
}

fn header_entry() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "F64", "F32", "F16", "BF16", "I64", "F4", "F6_E2M3", "BOOL", "X",
        ]),
        prop::collection::vec(dim(), 0..4),
        dim(),
        dim(),
    )
        .prop_map(|(dtype, shape, s, e)| {
            format!("{{\"dtype\":\"{dtype}\",\"shape\":{shape:?},\"data_offsets\":[{s},{e}]}}")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_headers_never_panic(
        header in "\\PC{0,80}",
        data in prop::collection::vec(any::<u8>(), 0..32),
        pad in 0usize..4,
    ) {
        let mut bytes = raw_file(&header, &data);
        // Sometimes the length field is off by a few bytes.
        let len = header.len() as u64 + pad as u64;
        bytes[..8].copy_from_slice(&len.to_le_bytes());
        exercise(&bytes);
    }

    #[test]
    fn arbitrary_header_fields_never_panic(
        entries in prop::collection::vec(header_entry(), 0..4),
        data_len in 0usize..64,
    ) {
        let body: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| format!("\"{}\":{e}", ["a.f64", "w", "c.f16", "x"][i % 4]))
            .collect();
        let bytes = raw_file(&format!("{{{}}}", body.join(",")), &vec![0x3c; data_len]);
        exercise(&bytes);
    }

    #[test]
    fn mutated_files_never_panic(mutations in prop::collection::vec(mutation(), 1..5)) {
        let mut bytes = sample();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        exercise(&bytes);
    }

    #[test]
    fn valid_files_round_trip(
        f64_vals in prop::collection::vec(-1e300f64..1e300, 1..20),
        f32_vals in prop::collection::vec(any::<f32>().prop_filter("finite", |v| v.is_finite()), 1..20),
        half in prop::collection::vec(any::<u16>().prop_filter("finite", |b| b & 0x7c00 != 0x7c00), 1..20),
    ) {
        let bytes = file(&[
            ("d", "F64", &[f64_vals.len()], f64s(&f64_vals)),
            ("f", "F32", &[f32_vals.len()], f32s(&f32_vals)),
            ("h", "F16", &[half.len()], u16s(&half)),
        ]);
        let d = load_tensor("r", &bytes, "d", None).unwrap();
        prop_assert_eq!(d.data(), f64_vals.as_slice());
        let f = load_tensor("r", &bytes, "f", None).unwrap();
        let want: Vec<f64> = f32_vals.iter().map(|&v| v as f64).collect();
        prop_assert_eq!(f.data(), want.as_slice());
        let h = load_tensor("r", &bytes, "h", None).unwrap();
        let want: Vec<f64> = half.iter().map(|&b| f16_to_f64(b)).collect();
        prop_assert_eq!(h.data(), want.as_slice());
        exercise(&bytes);
    }
}
