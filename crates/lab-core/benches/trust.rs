//! E4 trust layer speed (criterion), one thread.
//!
//! The seed lab claims "167K build/s, 101K verify/s" for proof-carrying
//! operations; those were measured without any signature (0.9.5 verified a
//! 64-byte length). Every row here is labelled: "Ed25519" rows sign or verify
//! real Ed25519 signatures; "no signature" rows do the same work minus the
//! signature, for comparison with the seed's figures only.
//!
//! Run: `cargo bench -p lab-core --bench trust -- --measurement-time 2`.
//! Throughput is reported in elements (PCOs or signatures) per second.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lab_core::crdt::{Dot, Hlc, VersionVector};
use lab_core::hash::{digest, Digest, Domain};
use lab_core::trust::pco::{aggregate, payload_digest, Metadata};
use lab_core::trust::sig::{self, BatchItem};
use lab_core::trust::verifier::verify_headers_batch;
use lab_core::trust::*;
use std::sync::Arc;
use std::time::Duration;

const SEED: u64 = 7;
/// Operations already known of the benchmarked originator (its log length).
const HISTORY: u64 = 100;
const BATCH: usize = 64;

fn body(node: u32, counter: u64) -> OpBody {
    OpBody {
        originator: node,
        model_id: format!("node-{node}-model-{counter}"),
        version: 1,
        weight: 1.0,
        tensor: digest(Domain::Tensor, &counter.to_le_bytes()),
        dot: Dot {
            replica: node,
            counter,
        },
        stamp: Hlc {
            time: counter,
            logical: 0,
            node,
        },
    }
}

fn context(node: u32, own: u64) -> VersionVector {
    let mut entries: std::collections::BTreeMap<u32, u64> = (0..8u32).map(|r| (r, 3)).collect();
    entries.insert(node, own);
    let entries: Vec<(u32, u64)> = entries.into_iter().collect();
    serde_json::from_str(&serde_json::to_string(&entries).unwrap()).unwrap()
}

/// An originator with `HISTORY` signed ops, a verifier that knows the first
/// `HISTORY - 1`, and the PCO for the last one.
fn scene(roster: &Arc<Roster>, id: Identity) -> (Originator, Verifier, PcoBundle) {
    let node = id.node();
    let mut o = Originator::new(id);
    let mut v = Verifier::new(100, roster.clone());
    for c in 1..=HISTORY {
        let op = o.sign_body(body(node, c)).unwrap();
        if c < HISTORY {
            v.ingest_op(&op).unwrap();
        }
    }
    let pco = o
        .build_pco(HISTORY, HISTORY, &context(node, HISTORY), Digest([5; 32]))
        .unwrap();
    (o, v, pco)
}

fn config(c: &mut Criterion) -> criterion::BenchmarkGroup<'_, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group("trust");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

fn pco_benches(c: &mut Criterion) {
    let (roster, ids) = Roster::derive(SEED, 128).unwrap();
    let roster = Arc::new(roster);
    let mut ids = ids.into_iter();
    let id0 = ids.next().unwrap();
    let (o, v, pco) = scene(&roster, id0);
    let ctx = context(0, HISTORY);
    let root = o.log_root();
    let last = o.ops().last().unwrap().clone();

    let mut g = config(c);
    g.throughput(Throughput::Elements(1));

    g.bench_function("build PCO, Ed25519", |b| {
        b.iter(|| {
            PcoBundle::build_unchecked(
                o.identity(),
                vec![last.clone()],
                ctx.clone(),
                root,
                Digest([5; 32]),
                HISTORY,
                HISTORY,
            )
            .unwrap()
        })
    });
    g.bench_function("build PCO, no signature (comparison only)", |b| {
        b.iter(|| {
            let payload = vec![last.clone()];
            let agg = aggregate(
                0,
                &payload_digest(&payload),
                &root,
                &ctx.digest(),
                &Digest([5; 32]),
                HISTORY,
                HISTORY,
            );
            let meta = Metadata {
                version: 1,
                flags: 0,
                logical_time: ctx.entries().iter().map(|e| e.1).sum(),
                originator: 0,
                lo: HISTORY,
                hi: HISTORY,
            };
            let mut bytes = [0u8; PCO_LEN];
            bytes[64..96].copy_from_slice(&agg.0);
            bytes[96..].copy_from_slice(&meta.to_bytes());
            black_box((bytes, payload, ctx.clone()))
        })
    });
    g.bench_function("sign op + build PCO, Ed25519 (2 signatures)", |b| {
        b.iter_batched(
            || Originator::new(Identity::derive(SEED, 0)),
            |mut o2| {
                let op = o2.sign_body(body(0, 1)).unwrap();
                o2.build_pco(1, 1, &context(0, 1), Digest::ZERO).unwrap();
                op
            },
            BatchSize::SmallInput,
        )
    });

    for level in Level::ALL {
        assert!(v.verify_pco(&pco, level).is_ok());
        g.bench_function(
            format!("verify PCO level {}, Ed25519", level.as_u8()),
            |b| b.iter(|| v.verify_pco(black_box(&pco), level).unwrap()),
        );
    }
    g.bench_function("verify PCO claims, no signature (comparison only)", |b| {
        b.iter(|| black_box(&pco).check_claims(&roster).unwrap())
    });

    // Batches: 64 PCOs from 64 originators, each the next op of a known log.
    let scenes: Vec<(Originator, Verifier, PcoBundle)> = ids
        .by_ref()
        .take(BATCH)
        .map(|id| scene(&roster, id))
        .collect();
    let mut batch_verifier = Verifier::new(100, roster.clone());
    for (o, _, _) in &scenes {
        for op in &o.ops()[..(HISTORY - 1) as usize] {
            let signed = SignedOp::sign_unchecked(o.identity(), op.clone());
            batch_verifier.ingest_op(&signed).unwrap();
        }
    }
    let pcos: Vec<PcoBundle> = scenes.iter().map(|s| s.2.clone()).collect();
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("verify 64 PCO headers one by one (level 0), Ed25519", |b| {
        b.iter(|| {
            for p in &pcos {
                p.header.verify_signature(&roster).unwrap();
            }
        })
    });
    g.bench_function("verify 64 PCO headers as a batch (level 0), Ed25519", |b| {
        b.iter(|| verify_headers_batch(&roster, black_box(&pcos)))
    });
    for level in [Level::Content, Level::Causal] {
        for p in &pcos {
            assert!(batch_verifier.verify_pco(p, level).is_ok());
        }
        g.bench_function(
            format!(
                "verify 64 PCOs one by one (level {}), Ed25519",
                level.as_u8()
            ),
            |b| {
                b.iter(|| {
                    for p in &pcos {
                        batch_verifier.verify_pco(p, level).unwrap();
                    }
                })
            },
        );
        g.bench_function(
            format!(
                "verify 64 PCOs as a batch (level {}), Ed25519",
                level.as_u8()
            ),
            |b| b.iter(|| batch_verifier.verify_pco_batch(black_box(&pcos), level)),
        );
    }

    // The signature primitive alone, and ed25519-dalek's own checks for
    // comparison (dalek's batch is cofactorless: not used for decisions).
    let msgs: Vec<[u8; 64]> = pcos.iter().map(|p| p.header.signed_message()).collect();
    let items: Vec<BatchItem> = pcos
        .iter()
        .zip(&msgs)
        .map(|(p, m)| {
            (
                roster.key(p.originator()).unwrap(),
                m.as_slice(),
                &p.header.signature,
            )
        })
        .collect();
    g.bench_function(
        "signature only, 64 one by one, Ed25519 (lab cofactored)",
        |b| {
            b.iter(|| {
                for (k, m, s) in &items {
                    sig::verify(k, m, s).unwrap();
                }
            })
        },
    );
    g.bench_function(
        "signature only, batch of 64, Ed25519 (lab cofactored)",
        |b| b.iter(|| sig::verify_batch(black_box(&items))),
    );
    let dk: Vec<ed25519_dalek::VerifyingKey> = pcos
        .iter()
        .map(|p| {
            ed25519_dalek::VerifyingKey::from_bytes(roster.key(p.originator()).unwrap().as_bytes())
                .unwrap()
        })
        .collect();
    let ds: Vec<ed25519_dalek::Signature> = pcos
        .iter()
        .map(|p| ed25519_dalek::Signature::from_bytes(&p.header.signature.0))
        .collect();
    let dm: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    g.bench_function(
        "signature only, 64 one by one, Ed25519 (dalek verify_strict)",
        |b| {
            b.iter(|| {
                for i in 0..BATCH {
                    dk[i].verify_strict(dm[i], &ds[i]).unwrap();
                }
            })
        },
    );
    g.bench_function(
        "signature only, batch of 64, Ed25519 (dalek verify_batch)",
        |b| b.iter(|| ed25519_dalek::verify_batch(&dm, &ds, &dk).unwrap()),
    );
    g.finish();
}

criterion_group!(benches, pco_benches);
criterion_main!(benches);
