//! E4 trust layer: CRDT laws of the trust state, byte-equal trust-root
//! convergence, security (forgeries, tampering, replays, outsiders,
//! fabricated evidence), PCO levels, trust-weighted resolve, and the
//! reference-semantics contrast.

use lab_core::crdt::{ConflictPolicy, Contribution, ContributionSet, Dot, Hlc, VersionVector};
use lab_core::hash::{self, Digest, Domain};
use lab_core::rng::{Purpose, Stream};
use lab_core::strategy::Params;
use lab_core::tensor::Tensor;
use lab_core::trust::evidence::{CausalityViolation, OpProof};
use lab_core::trust::reference::{all_to_all_contrast, RefLattice};
use lab_core::trust::sig::{self, KeyError, PublicKey, SigError, SignatureBytes};
use lab_core::trust::*;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

const SEED: u64 = 2026;
const N: u32 = 8;
const POLICY: ConflictPolicy = ConflictPolicy::LastWriterWins;

fn setup() -> (Arc<Roster>, Vec<Identity>) {
    let (r, ids) = Roster::derive(SEED, N).unwrap();
    (Arc::new(r), ids)
}

fn tensor(x: f64) -> Tensor {
    Tensor::new(vec![4], vec![x, x + 1.0, x * 2.0, -x]).unwrap()
}

fn body(
    node: u32,
    id: &str,
    version: u32,
    weight: f64,
    t: Digest,
    counter: u64,
    time: u64,
) -> OpBody {
    OpBody {
        originator: node,
        model_id: id.to_string(),
        version,
        weight,
        tensor: t,
        dot: Dot {
            replica: node,
            counter,
        },
        stamp: Hlc {
            time,
            logical: 0,
            node,
        },
    }
}

fn vv(entries: &[(u32, u64)]) -> VersionVector {
    let json = serde_json::to_string(&entries.to_vec()).unwrap();
    serde_json::from_str(&json).unwrap()
}

fn identity(ids: &[Identity], i: u32) -> Identity {
    Identity::from_secret(i, ids[i as usize].dalek().to_bytes())
}

/// Node `i` publishes `count` contributions through a real contribution set.
fn honest_chain(
    ids: &[Identity],
    roster: &Arc<Roster>,
    i: u32,
    count: u32,
) -> (TrustNode, ContributionSet, Vec<(SignedOp, PcoBundle)>) {
    let mut node = TrustNode::new(identity(ids, i), roster.clone());
    let mut set = ContributionSet::new();
    let mut out = Vec::new();
    for k in 0..count {
        let t = tensor(i as f64 * 10.0 + k as f64);
        // Alternate updates of one id with new ids.
        let (id, version) = if k % 2 == 1 {
            (format!("n{i}-m{}", k - 1), 2)
        } else {
            (format!("n{i}-m{k}"), 1)
        };
        let c = Contribution::new(
            &id,
            version,
            1.0 + k as f64,
            t.digest(),
            Hlc {
                time: k as u64 + 1,
                logical: 0,
                node: i,
            },
        )
        .unwrap();
        let dot = set.add(i, c.clone(), POLICY).unwrap();
        out.push(node.publish(&c, dot, set.context()).unwrap());
    }
    (node, set, out)
}

// ---------------------------------------------------------------------------
// Identities and roster

#[test]
fn identities_are_deterministic_and_distinct() {
    let a = Identity::derive(SEED, 3);
    let b = Identity::derive(SEED, 3);
    let c = Identity::derive(SEED, 4);
    let d = Identity::derive(SEED + 1, 3);
    assert_eq!(a.public_key(), b.public_key());
    assert_eq!(
        a.sign_bytes(b"m"),
        b.sign_bytes(b"m"),
        "RFC 8032 signing is deterministic"
    );
    assert_ne!(a.public_key(), c.public_key());
    assert_ne!(a.public_key(), d.public_key());
    let (r1, _) = Roster::derive(SEED, 5).unwrap();
    let (r2, _) = Roster::derive(SEED, 5).unwrap();
    assert_eq!(r1.digest(), r2.digest());
    assert_eq!(r1.member_of(a.public_key().as_bytes()), Some(3));
    assert!(
        format!("{a:?}").len() < 200,
        "Debug must not dump the secret"
    );
}

#[test]
fn roster_rejects_unusable_keys() {
    let good = *Identity::derive(SEED, 0).public_key().as_bytes();
    // The identity point (small order).
    let mut ident = [0u8; 32];
    ident[0] = 1;
    assert_eq!(
        Roster::from_public_keys(&[good, ident]).unwrap_err(),
        RosterError::BadKey {
            index: 1,
            reason: KeyError::SmallOrder
        }
    );
    // y = p (non-canonical encoding of 0).
    let mut noncanon = [0xffu8; 32];
    noncanon[0] = 0xed;
    noncanon[31] = 0x7f;
    assert!(matches!(
        Roster::from_public_keys(&[noncanon]),
        Err(RosterError::BadKey {
            reason: KeyError::NonCanonical,
            ..
        })
    ));
    assert!(matches!(
        Roster::from_public_keys(&[good, good]),
        Err(RosterError::DuplicateKey {
            first: 0,
            second: 1
        })
    ));
    assert!(matches!(
        Roster::from_public_keys(&[]),
        Err(RosterError::Size(0))
    ));
    assert!(Roster::derive(SEED, 0).is_err());
    // A point with a torsion component.
    let torsion = (Identity::derive(SEED, 0).public_key().point()
        + curve25519_dalek::constants::EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    assert_eq!(
        PublicKey::from_bytes(torsion).unwrap_err(),
        KeyError::Torsion
    );
}

// ---------------------------------------------------------------------------
// Signed operations: security

fn keyed_blake3_forgery(public: &[u8; 32], msg: &[u8]) -> SignatureBytes {
    // The reference's fallback: a MAC keyed with the *public* key.
    let a = blake3::keyed_hash(public, msg);
    let b = blake3::keyed_hash(a.as_bytes(), msg);
    let mut s = [0u8; 64];
    s[..32].copy_from_slice(a.as_bytes());
    s[32..].copy_from_slice(b.as_bytes());
    SignatureBytes(s)
}

#[test]
fn forged_and_tampered_operations_are_rejected_and_counted_never_evidence() {
    let (roster, ids) = setup();
    let t = tensor(1.0).digest();
    let b = body(2, "m2", 1, 1.0, t, 1, 1);
    let good = SignedOp::sign_unchecked(&ids[2], b.clone());
    let mut v = Verifier::new(0, roster.clone());

    let mut random = [0u8; 64];
    let mut s = Stream::new(SEED, Purpose::Other, &[99]);
    for c in random.chunks_mut(8) {
        c.copy_from_slice(&s.next_u64().to_le_bytes());
    }
    let hmac = keyed_blake3_forgery(roster.key(2).unwrap().as_bytes(), &b.digest().0);
    let attempts: Vec<(&str, SignedOp)> = vec![
        (
            "zero signature",
            SignedOp {
                body: b.clone(),
                signature: SignatureBytes::ZERO,
            },
        ),
        (
            "random 64 bytes",
            SignedOp {
                body: b.clone(),
                signature: SignatureBytes(random),
            },
        ),
        (
            "wrong key (node 3 signs as node 2)",
            SignedOp::sign_unchecked(&ids[3], b.clone()),
        ),
        (
            "HMAC keyed with the public key",
            SignedOp {
                body: b.clone(),
                signature: hmac,
            },
        ),
        (
            "tampered weight",
            SignedOp {
                body: OpBody {
                    weight: 9.0,
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
        (
            "tampered tensor",
            SignedOp {
                body: OpBody {
                    tensor: tensor(2.0).digest(),
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
        (
            "tampered model id",
            SignedOp {
                body: OpBody {
                    model_id: "m3".into(),
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
        (
            "tampered version",
            SignedOp {
                body: OpBody {
                    version: 2,
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
        (
            "tampered dot",
            SignedOp {
                body: OpBody {
                    dot: Dot {
                        replica: 2,
                        counter: 2,
                    },
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
        (
            "tampered stamp",
            SignedOp {
                body: OpBody {
                    stamp: Hlc {
                        time: 7,
                        logical: 0,
                        node: 2,
                    },
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
        (
            "tampered originator",
            SignedOp {
                body: OpBody {
                    originator: 4,
                    dot: Dot {
                        replica: 4,
                        counter: 1,
                    },
                    stamp: Hlc { node: 4, ..b.stamp },
                    ..b.clone()
                },
                signature: good.signature,
            },
        ),
    ];
    for (what, op) in &attempts {
        assert!(
            matches!(v.ingest_op(op), Err(OpError::BadSignature { .. })),
            "{what} must be rejected as a bad signature"
        );
    }
    // Outsider: not on the roster, whatever it signs.
    let outsider = Identity::from_secret(N + 5, [42u8; 32]);
    let ob = body(N + 5, "x", 1, 1.0, t, 1, 1);
    assert_eq!(
        v.ingest_op(&SignedOp::sign_unchecked(&outsider, ob)),
        Err(OpError::UnknownIdentity(N + 5))
    );
    // Forger: an outsider key claiming a member's id.
    let forger = Identity::from_secret(2, [43u8; 32]);
    assert!(matches!(
        v.ingest_op(&SignedOp::sign_unchecked(&forger, b.clone())),
        Err(OpError::BadSignature { .. })
    ));
    // Malformed: a dot of another replica.
    let foreign = SignedOp::sign_unchecked(
        &ids[2],
        OpBody {
            dot: Dot {
                replica: 1,
                counter: 1,
            },
            ..b.clone()
        },
    );
    assert!(matches!(
        v.ingest_op(&foreign),
        Err(OpError::Malformed(MalformedOp::ForeignDot { .. }))
    ));

    let c = v.counts();
    assert_eq!(c.bad_signature, attempts.len() as u64 + 1);
    assert_eq!(c.unknown_identity, 1);
    assert_eq!(c.malformed, 1);
    assert!(v.trust().is_empty(), "rejections are never evidence");
    assert_eq!(v.known_ops(), 0);
    // And the genuine one passes.
    assert_eq!(v.ingest_op(&good).unwrap().status, OpStatus::New);
}

#[test]
fn replays_are_harmless() {
    let (roster, ids) = setup();
    let (_, _, chain) = honest_chain(&ids, &roster, 1, 3);
    let mut v = Verifier::new(0, roster.clone());
    for (op, _) in &chain {
        assert_eq!(v.ingest_op(op).unwrap().status, OpStatus::New);
    }
    let before = (v.known_ops(), v.trust().root());
    for _ in 0..3 {
        for (op, pco) in &chain {
            let o = v.ingest_op(op).unwrap();
            assert_eq!(o.status, OpStatus::Replay);
            assert!(o.evidence.is_empty());
            let p = v.ingest_pco(pco, Level::Causal).unwrap();
            assert!(p.new_ops.is_empty());
            assert_eq!(p.known_ops, 1);
            assert!(p.evidence.is_empty());
        }
    }
    assert_eq!((v.known_ops(), v.trust().root()), before);
    assert!(v.trust().is_empty());
    assert_eq!(v.counts().replayed, 18);
}

#[test]
fn wire_round_trips() {
    let (roster, ids) = setup();
    let (_, _, chain) = honest_chain(&ids, &roster, 1, 2);
    let (op, pco) = &chain[1];
    let bytes = pco.header.to_bytes();
    assert_eq!(bytes.len(), PCO_LEN);
    assert_eq!(Pco::from_bytes(&bytes).unwrap(), pco.header);
    let op2: SignedOp = postcard::from_bytes(&postcard::to_allocvec(op).unwrap()).unwrap();
    assert_eq!(&op2, op);
    let pco2: PcoBundle = postcard::from_bytes(&postcard::to_allocvec(pco).unwrap()).unwrap();
    assert_eq!(&pco2, pco);
    let pco3: PcoBundle = serde_json::from_str(&serde_json::to_string(pco).unwrap()).unwrap();
    assert_eq!(&pco3, pco);
    // Logical time is Σ context, not a clock.
    let sum: u64 = pco.claims.context.entries().iter().map(|e| e.1).sum();
    assert_eq!(pco.header.metadata.logical_time, sum);
    // A header with unknown flags does not decode.
    let mut bad = bytes;
    bad[98] = 1;
    assert_eq!(Pco::from_bytes(&bad), Err(WireError::Flags(1)));
    let mut enc = postcard::to_allocvec(pco).unwrap();
    enc[2 + 98] ^= 0x01; // the flags, after the 2-byte varint length 128
    assert!(postcard::from_bytes::<PcoBundle>(&enc).is_err());
}

// ---------------------------------------------------------------------------
// PCOs: levels and security

#[test]
fn honest_pcos_pass_every_level() {
    let (roster, ids) = setup();
    let (_, _, chain) = honest_chain(&ids, &roster, 1, 4);
    for level in Level::ALL {
        let mut v = Verifier::new(0, roster.clone());
        for (op, pco) in &chain {
            let out = v.ingest_pco(pco, level).unwrap();
            if level == Level::Signature {
                assert_eq!(out.verdict, PcoVerdict::HeaderOnly);
                assert!(out.new_ops.is_empty(), "level 0 never applies a payload");
            } else {
                assert_eq!(out.verdict, PcoVerdict::Applied);
                assert_eq!(out.new_ops, vec![op.body.dot]);
            }
        }
        assert!(v.trust().is_empty());
    }
    // A multi-operation delta.
    let (node, set, _) = honest_chain(&ids, &roster, 2, 5);
    let pco = node
        .originator
        .build_pco(2, 5, set.context(), Digest::ZERO)
        .unwrap();
    let mut v = Verifier::new(0, roster.clone());
    assert!(matches!(
        v.ingest_pco(&pco, Level::Causal),
        Err(PcoError::MissingHistory {
            originator: 2,
            have: 0,
            need: 1
        })
    ));
    let first = node
        .originator
        .build_pco(1, 1, set.context(), Digest::ZERO)
        .unwrap();
    v.ingest_pco(&first, Level::Causal).unwrap();
    let out = v.ingest_pco(&pco, Level::Causal).unwrap();
    assert_eq!(out.new_ops.len(), 4);
    assert_eq!(v.known_prefix(2), 5);
}

#[test]
fn tampered_pcos_are_rejected_at_the_right_level() {
    let (roster, ids) = setup();
    let (_, _, chain) = honest_chain(&ids, &roster, 1, 1);
    let (_, pco) = &chain[0];
    let v = Verifier::new(0, roster.clone());
    assert!(v.verify_pco(pco, Level::Quarantine).is_ok());

    let with_header = |f: &dyn Fn(&mut [u8; 128])| {
        let mut b = pco.header.to_bytes();
        f(&mut b);
        Pco::from_bytes(&b).map(|h| PcoBundle {
            header: h,
            claims: pco.claims.clone(),
        })
    };
    // Signature bytes, signed fields.
    type Tamper = Box<dyn Fn(&mut [u8; 128])>;
    let cases: Vec<(&str, Tamper)> = vec![
        ("zero signature", Box::new(|b| b[..64].fill(0))),
        (
            "random signature",
            Box::new(|b| {
                let mut s = Stream::new(1, Purpose::Other, &[7]);
                for c in b[..64].chunks_mut(8) {
                    c.copy_from_slice(&s.next_u64().to_le_bytes());
                }
            }),
        ),
        ("aggregate bit", Box::new(|b| b[70] ^= 1)),
        ("logical time", Box::new(|b| b[100] ^= 1)),
        ("bounds", Box::new(|b| b[120] ^= 2)),
        ("originator index", Box::new(|b| b[108] = 2)),
    ];
    for (what, f) in &cases {
        let bad = with_header(f.as_ref()).unwrap();
        assert!(
            matches!(
                v.verify_pco(&bad, Level::Signature),
                Err(PcoError::BadSignature { .. })
            ),
            "{what}"
        );
    }
    // Originator outside the roster.
    let outsider = with_header(&|b| b[108..112].copy_from_slice(&(N + 1).to_le_bytes())).unwrap();
    assert_eq!(
        v.verify_pco(&outsider, Level::Signature),
        Err(PcoError::UnknownIdentity(N + 1))
    );
    // HMAC keyed with the public key.
    let mut h = pco.header;
    h.signature = keyed_blake3_forgery(roster.key(1).unwrap().as_bytes(), &h.signed_message());
    let bad = PcoBundle {
        header: h,
        claims: pco.claims.clone(),
    };
    assert!(matches!(
        v.verify_pco(&bad, Level::Signature),
        Err(PcoError::BadSignature { .. })
    ));
    // Wrong key: node 3 signs node 1's header.
    let mut h = pco.header;
    h.signature = ids[3].sign_bytes(&h.signed_message());
    let bad = PcoBundle {
        header: h,
        claims: pco.claims.clone(),
    };
    assert!(matches!(
        v.verify_pco(&bad, Level::Signature),
        Err(PcoError::BadSignature { .. })
    ));

    // Claims: level 0 cannot see them (the reference's weakness), level 1 can.
    let tamper_claims = |f: &dyn Fn(&mut PcoClaims)| {
        let mut b = pco.clone();
        f(&mut b.claims);
        b
    };
    for (what, bad) in [
        (
            "payload weight",
            tamper_claims(&|c| c.payload[0].weight = 100.0),
        ),
        (
            "payload tensor",
            tamper_claims(&|c| c.payload[0].tensor = Digest([9; 32])),
        ),
        ("log root", tamper_claims(&|c| c.log_root = Digest([1; 32]))),
        (
            "trust root",
            tamper_claims(&|c| c.trust_root = Digest([2; 32])),
        ),
        (
            "context",
            tamper_claims(&|c| c.context = vv(&[(1, 1), (2, 4)])),
        ),
    ] {
        assert_eq!(
            v.verify_pco(&bad, Level::Signature).unwrap().verdict,
            PcoVerdict::HeaderOnly,
            "{what}"
        );
        let e = v.verify_pco(&bad, Level::Content).unwrap_err();
        assert!(
            matches!(
                e,
                PcoError::AggregateMismatch | PcoError::LogicalTimeMismatch { .. }
            ),
            "{what}: {e:?}"
        );
    }
    // An originator field in the payload that is not the signer's.
    let bad = tamper_claims(&|c| {
        c.payload[0].originator = 2;
        c.payload[0].dot.replica = 2;
        c.payload[0].stamp.node = 2;
    });
    assert!(matches!(
        v.verify_pco(&bad, Level::Content),
        Err(PcoError::ForeignOp { .. })
    ));
}

#[test]
fn level_one_checks_the_merkle_root_and_level_two_causality_and_trust() {
    let (roster, ids) = setup();
    let t = tensor(5.0).digest();
    // Node 5 signs a consistent aggregate over a false log root.
    let op = body(5, "m5", 1, 1.0, t, 1, 1);
    let lie = PcoBundle::build_unchecked(
        &ids[5],
        vec![op.clone()],
        vv(&[(5, 1)]),
        Digest([7; 32]),
        Digest::ZERO,
        1,
        1,
    )
    .unwrap();
    let v = Verifier::new(0, roster.clone());
    assert_eq!(
        v.verify_pco(&lie, Level::Signature).unwrap().verdict,
        PcoVerdict::HeaderOnly
    );
    assert!(matches!(
        v.verify_pco(&lie, Level::Content),
        Err(PcoError::RootMismatch { .. })
    ));

    // Correct root, but bounds wider than the payload: fine for level 1's
    // root (history is there), not minimal for level 2.
    let mut o5 = Originator::new(identity(&ids, 5));
    let s1 = o5.sign_body(op.clone()).unwrap();
    let s2 = o5.sign_body(body(5, "m5b", 1, 1.0, t, 2, 2)).unwrap();
    let mut v = Verifier::new(0, roster.clone());
    v.ingest_op(&s1).unwrap();
    v.ingest_op(&s2).unwrap();
    let wide = PcoBundle::build_unchecked(
        &ids[5],
        vec![s2.body.clone()],
        vv(&[(5, 2)]),
        o5.log_root(),
        Digest::ZERO,
        1,
        2,
    )
    .unwrap();
    assert!(v.verify_pco(&wide, Level::Content).is_ok());
    assert!(matches!(
        v.verify_pco(&wide, Level::Causal),
        Err(PcoError::BoundsNotMinimal { .. })
    ));

    // The context claims events of the verifier it never made.
    let ahead = PcoBundle::build_unchecked(
        &ids[5],
        vec![s2.body.clone()],
        vv(&[(0, 3), (5, 2)]),
        o5.log_root(),
        Digest::ZERO,
        2,
        2,
    )
    .unwrap();
    assert!(v.verify_pco(&ahead, Level::Content).is_ok());
    assert_eq!(
        v.verify_pco(&ahead, Level::Causal),
        Err(PcoError::ContextAhead {
            claimed: 3,
            made: 0
        })
    );

    // Distrusted originator: level 2 rejects, level 3 quarantines.
    let equiv = SignedOp::sign_unchecked(&ids[5], body(5, "m5", 1, 2.0, t, 3, 3));
    let out = v.ingest_op(&equiv).unwrap();
    assert_eq!(
        out.status,
        OpStatus::New,
        "set membership does not depend on trust"
    );
    assert_eq!(out.evidence.len(), 1);
    assert!(v.trust().scores().rejected(5));
    let b4 = body(5, "m5c", 1, 1.0, t, 4, 4);
    let s4 = SignedOp::sign_unchecked(&ids[5], b4.clone());
    let mut log = LogFrontier::new();
    for d in [s1.digest(), s2.digest(), equiv.digest(), s4.digest()] {
        log.push(&d);
    }
    let p4 = PcoBundle::build_unchecked(
        &ids[5],
        vec![b4],
        vv(&[(5, 4)]),
        log.root(),
        Digest::ZERO,
        4,
        4,
    )
    .unwrap();
    assert!(matches!(
        v.verify_pco(&p4, Level::Causal),
        Err(PcoError::Distrusted { originator: 5, .. })
    ));
    let q = v.ingest_pco(&p4, Level::Quarantine).unwrap();
    assert_eq!(q.verdict, PcoVerdict::Quarantined);
    assert_eq!(v.quarantine().count(), 1);
    assert_eq!(v.counts().quarantined, 1);
    assert_eq!(Level::for_trust(v.trust().trust(5)), Level::Quarantine);
    assert_eq!(Level::for_trust(1.0), Level::Causal);
    assert_eq!(Level::reference_for_trust(0.5), Level::Content);
}

// ---------------------------------------------------------------------------
// Evidence

struct World {
    roster: Arc<Roster>,
    ids: Vec<Identity>,
}

fn world() -> World {
    let (roster, ids) = setup();
    World { roster, ids }
}

#[test]
fn equivocation_is_detected_self_certifying_and_excludes() {
    let w = world();
    let (t1, t2) = (tensor(1.0).digest(), tensor(2.0).digest());
    let a = SignedOp::sign_unchecked(&w.ids[5], body(5, "m5", 1, 1.0, t1, 1, 1));
    let b = SignedOp::sign_unchecked(&w.ids[5], body(5, "m5", 1, 1.0, t2, 2, 1));
    // Two receivers see them in opposite orders and still build the same record.
    let mut v1 = Verifier::new(0, w.roster.clone());
    let mut v2 = Verifier::new(1, w.roster.clone());
    v1.ingest_op(&a).unwrap();
    let e1 = v1.ingest_op(&b).unwrap().evidence;
    v2.ingest_op(&b).unwrap();
    let e2 = v2.ingest_op(&a).unwrap().evidence;
    assert_eq!(e1.len(), 1);
    assert_eq!(e1, e2);
    assert_eq!(v1.trust().root(), v2.trust().root());
    // A third node checks it from the record alone.
    let rec = v1.trust().to_wire().pop().unwrap();
    let mut fresh = TrustState::new();
    assert!(fresh.ingest(&w.roster, rec.clone()).unwrap());
    assert!(
        !fresh.ingest(&w.roster, rec).unwrap(),
        "re-delivery is a no-op"
    );
    let s = fresh.scores().peer(5);
    assert_eq!(s.get(Dimension::Integrity), 0.0);
    assert_eq!(s.get(Dimension::Consistency), 0.75);
    assert!(s.rejected());
    assert_eq!(fresh.trust(4), 1.0);
}

#[test]
fn dot_reuse_is_causality_evidence() {
    let w = world();
    let t = tensor(1.0).digest();
    let a = SignedOp::sign_unchecked(&w.ids[6], body(6, "x", 1, 1.0, t, 1, 1));
    let b = SignedOp::sign_unchecked(&w.ids[6], body(6, "y", 1, 1.0, t, 1, 1));
    let mut v = Verifier::new(0, w.roster.clone());
    v.ingest_op(&a).unwrap();
    let out = v.ingest_op(&b).unwrap();
    assert_eq!(out.status, OpStatus::DotConflict);
    assert_eq!(out.evidence.len(), 1);
    assert_eq!(
        v.op(a.body.dot).unwrap().body,
        a.body,
        "the dot keeps its first operation"
    );
    let rec = v.trust().records().next().unwrap().evidence().clone();
    assert!(matches!(
        rec,
        Evidence::Causality(CausalityViolation::DotReuse { .. })
    ));
    assert_eq!(rec.kind(), EvidenceKind::DotReuse);
    let s = v.trust().scores().peer(6);
    assert_eq!(
        (s.get(Dimension::Causality), s.get(Dimension::Integrity)),
        (0.0, 0.0)
    );

    // Dot reuse inside a PCO payload, and against a known op: PCO-proved evidence.
    let c = body(6, "z", 1, 1.0, t, 1, 1);
    let p = PcoBundle::build_unchecked(
        &w.ids[6],
        vec![c],
        vv(&[(6, 1)]),
        Digest::ZERO,
        Digest::ZERO,
        1,
        1,
    )
    .unwrap();
    let mut v2 = Verifier::new(1, w.roster.clone());
    v2.ingest_op(&a).unwrap();
    let err = v2.ingest_pco(&p, Level::Causal).unwrap_err();
    assert!(matches!(
        err,
        PcoError::RootMismatch { .. } | PcoError::DotConflict { .. }
    ));
    assert_eq!(
        v2.trust().len(),
        1,
        "evidence is kept although the PCO is rejected"
    );
    let rec = v2.trust().to_wire().pop().unwrap();
    let Evidence::Causality(CausalityViolation::DotReuse { a: x, b: y }) = &rec else {
        panic!()
    };
    assert!(matches!(x.proof, OpProof::Pco(_)) || matches!(y.proof, OpProof::Pco(_)));
    assert!(TrustState::new().ingest(&w.roster, rec).is_ok());
}

#[test]
fn invalid_content_needs_the_originators_attestation() {
    let w = world();
    let good = tensor(3.0);
    let bad = tensor(4.0);
    // Honest originators refuse to attest bytes that do not match.
    let mut o1 = Originator::new(identity(&w.ids, 1));
    let op1 = o1
        .sign_body(body(1, "m1", 1, 1.0, good.digest(), 1, 1))
        .unwrap();
    assert!(matches!(
        o1.attest(&op1.body, &bad.canonical_bytes()),
        Err(SignError::TensorMismatch { .. })
    ));
    let att1 = o1.attest(&op1.body, &good.canonical_bytes()).unwrap();

    let mut v = Verifier::new(0, w.roster.clone());
    v.ingest_op(&op1).unwrap();
    assert_eq!(
        v.check_tensor(op1.body.dot, &att1, &good.canonical_bytes()),
        Ok(TensorOutcome::Valid)
    );
    // A relay corrupts the bytes: nobody is blamed.
    assert!(matches!(
        v.check_tensor(op1.body.dot, &att1, &bad.canonical_bytes()),
        Err(TensorCheckError::RelayMismatch { .. })
    ));
    // A forged attestation in node 1's name: rejected, no evidence.
    let forged = TensorAttestation::sign_unchecked(
        &Identity::from_secret(1, [9; 32]),
        &op1.body,
        &bad.canonical_bytes(),
    );
    assert!(matches!(
        v.check_tensor(op1.body.dot, &forged, &bad.canonical_bytes()),
        Err(TensorCheckError::BadSignature(_))
    ));
    assert!(v.trust().is_empty());
    assert_eq!(v.counts().relay_corrupted, 1);

    // A corrupter (node 7) signs digest X and attests bytes hashing to Y.
    let op7 = SignedOp::sign_unchecked(&w.ids[7], body(7, "m7", 1, 1.0, good.digest(), 1, 1));
    let att7 = TensorAttestation::sign_unchecked(&w.ids[7], &op7.body, &bad.canonical_bytes());
    v.ingest_op(&op7).unwrap();
    let TensorOutcome::Invalid { evidence } = v
        .check_tensor(op7.body.dot, &att7, &bad.canonical_bytes())
        .unwrap()
    else {
        panic!("expected evidence")
    };
    assert!(v.trust().contains(&evidence));
    let rec = v.trust().to_wire().pop().unwrap();
    let Evidence::InvalidContent { attestation, .. } = &rec else {
        panic!()
    };
    assert_eq!(
        attestation.bytes,
        hash::digest(Domain::Tensor, &bad.canonical_bytes())
    );
    assert!(TrustState::new().ingest(&w.roster, rec).is_ok());
    let s = v.trust().scores().peer(7);
    assert_eq!(
        (s.get(Dimension::Model), s.get(Dimension::Integrity)),
        (0.5, 0.0)
    );
}

#[test]
fn context_behind_dot_downweights_without_excluding() {
    let w = world();
    let t = tensor(1.0).digest();
    let op = body(4, "m4", 1, 2.0, t, 1, 1);
    let mut log = LogFrontier::new();
    log.push(&op.digest());
    let p = PcoBundle::build_unchecked(
        &w.ids[4],
        vec![op],
        vv(&[(2, 3)]),
        log.root(),
        Digest::ZERO,
        1,
        1,
    )
    .unwrap();
    let mut v = Verifier::new(0, w.roster.clone());
    assert_eq!(
        v.ingest_pco(&p, Level::Causal),
        Err(PcoError::ContextBehindDot { own: 0, hi: 1 })
    );
    assert_eq!(v.trust().len(), 1);
    let s = v.trust().scores().peer(4);
    assert_eq!(s.get(Dimension::Context), 0.75);
    assert_eq!(s.overall(), 0.75);
    assert!(!s.rejected());
    // Honest originators never build such a PCO.
    let o = Originator::new(identity(&w.ids, 4));
    assert!(o.build_pco(1, 1, &vv(&[]), Digest::ZERO).is_err());
}

#[test]
fn fabricated_evidence_is_rejected() {
    let w = world();
    let (t1, t2) = (tensor(1.0).digest(), tensor(2.0).digest());
    let honest = SignedOp::sign_unchecked(&w.ids[1], body(1, "m1", 1, 1.0, t1, 1, 1));
    // The attacker (node 5) "signs" node 1's conflicting op with its own key.
    let forged = SignedOp::sign_unchecked(&w.ids[5], body(1, "m1", 1, 1.0, t2, 2, 1));
    let outsider = SignedOp::sign_unchecked(
        &Identity::from_secret(1, [77; 32]),
        body(1, "m1", 1, 1.0, t2, 2, 1),
    );
    let zero = SignedOp {
        body: body(1, "m1", 1, 1.0, t2, 2, 1),
        signature: SignatureBytes::ZERO,
    };
    let own5a = SignedOp::sign_unchecked(&w.ids[5], body(5, "m5", 1, 1.0, t1, 1, 1));
    let own5b = SignedOp::sign_unchecked(&w.ids[5], body(5, "m5", 1, 1.0, t2, 2, 1));
    let own5c = SignedOp::sign_unchecked(&w.ids[5], body(5, "other", 1, 1.0, t2, 3, 1));
    let own5same = SignedOp::sign_unchecked(&w.ids[5], body(5, "m5", 1, 1.0, t1, 4, 1));

    let check = |e: Evidence| e.verify(&w.roster).map(|_| ());
    let eq =
        |a: &SignedOp, b: &SignedOp| Evidence::equivocation(a.clone().into(), b.clone().into());
    // One real op and one forged op.
    assert!(matches!(
        check(eq(&honest, &forged)),
        Err(EvidenceError::Op { .. })
    ));
    assert!(matches!(
        check(eq(&honest, &outsider)),
        Err(EvidenceError::Op { .. })
    ));
    assert!(matches!(
        check(eq(&honest, &zero)),
        Err(EvidenceError::Op { .. })
    ));
    // Ops of two different originators.
    assert_eq!(
        check(eq(&honest, &own5b)),
        Err(EvidenceError::DifferentOriginators)
    );
    // Different (model, version) or the same content.
    assert_eq!(check(eq(&own5a, &own5c)), Err(EvidenceError::DifferentKeys));
    assert_eq!(
        check(eq(&own5a, &own5same)),
        Err(EvidenceError::SameContent)
    );
    // Non-canonical order.
    let ok = eq(&own5a, &own5b);
    let Evidence::Equivocation { a, b } = ok.clone() else {
        panic!()
    };
    assert_eq!(
        check(Evidence::Equivocation { a: b, b: a }),
        Err(EvidenceError::NotCanonical)
    );
    assert!(check(ok).is_ok());
    // Dot reuse with one operation twice, or different dots.
    assert_eq!(
        check(Evidence::dot_reuse(
            own5a.clone().into(),
            own5a.clone().into()
        )),
        Err(EvidenceError::SameOperation)
    );
    assert_eq!(
        check(Evidence::dot_reuse(
            own5a.clone().into(),
            own5b.clone().into()
        )),
        Err(EvidenceError::DifferentDots)
    );
    // Invalid content: honest attestation of matching bytes; attestation forged.
    let mut o1 = Originator::new(identity(&w.ids, 1));
    let h1 = o1
        .sign_body(body(1, "m1", 1, 1.0, tensor(1.0).digest(), 1, 1))
        .unwrap();
    let att = o1.attest(&h1.body, &tensor(1.0).canonical_bytes()).unwrap();
    assert_eq!(
        check(Evidence::InvalidContent {
            op: h1.clone().into(),
            attestation: att.clone()
        }),
        Err(EvidenceError::ContentMatches)
    );
    let mut lying = att.clone();
    lying.bytes = Digest([3; 32]);
    assert!(matches!(
        check(Evidence::InvalidContent {
            op: h1.clone().into(),
            attestation: lying
        }),
        Err(EvidenceError::AttestationSignature(_))
    ));
    let by5 =
        TensorAttestation::sign_unchecked(&w.ids[5], &h1.body, &tensor(9.0).canonical_bytes());
    assert_eq!(
        check(Evidence::InvalidContent {
            op: h1.clone().into(),
            attestation: by5
        }),
        Err(EvidenceError::AttestationMismatch)
    );
    // A PCO proof whose payload does not contain the accused op.
    let p = PcoBundle::build_unchecked(
        &w.ids[5],
        vec![own5a.body.clone()],
        vv(&[(5, 1)]),
        Digest::ZERO,
        Digest::ZERO,
        1,
        1,
    )
    .unwrap();
    let fake = AuthOp {
        body: own5b.body.clone(),
        proof: OpProof::Pco(Arc::new(p.clone())),
    };
    assert!(matches!(
        check(Evidence::equivocation(own5a.clone().into(), fake)),
        Err(EvidenceError::NotInPayload { .. })
    ));
    // A PCO-based "context behind" claim against a consistent PCO.
    let consistent = Evidence::Causality(CausalityViolation::ContextBehindDot { pco: Arc::new(p) });
    assert_eq!(check(consistent), Err(EvidenceError::ContextConsistent));
    // Nothing fabricated reached a trust state.
    let mut v = Verifier::new(0, w.roster.clone());
    assert!(v.ingest_evidence(eq(&honest, &forged)).is_err());
    assert_eq!(v.counts().bad_evidence, 1);
    assert!(v.trust().is_empty());
    assert_eq!(v.trust().trust(1), 1.0);
}

#[test]
fn honest_nodes_cannot_be_made_to_contradict_themselves() {
    let w = world();
    let mut o = Originator::new(identity(&w.ids, 2));
    let t1 = tensor(1.0).digest();
    o.sign_body(body(2, "m", 1, 1.0, t1, 1, 1)).unwrap();
    // Same (model, version), other content.
    assert!(matches!(
        o.sign_body(body(2, "m", 1, 1.0, tensor(2.0).digest(), 2, 2)),
        Err(SignError::WouldEquivocate { .. })
    ));
    // Reusing a dot, skipping a dot, someone else's dot.
    assert!(matches!(
        o.sign_body(body(2, "n", 1, 1.0, t1, 1, 2)),
        Err(SignError::NotNextDot { .. })
    ));
    assert!(matches!(
        o.sign_body(body(2, "n", 1, 1.0, t1, 3, 2)),
        Err(SignError::NotNextDot { .. })
    ));
    assert!(matches!(
        o.sign_body(body(3, "n", 1, 1.0, t1, 2, 2)),
        Err(SignError::NotMine { .. })
    ));
    // Re-adding identical content (remove + add) is fine and is not evidence.
    let again = o.sign_body(body(2, "m", 1, 1.0, t1, 2, 3)).unwrap();
    let mut v = Verifier::new(0, w.roster.clone());
    assert_eq!(o.ops().len(), 2);
    let first = SignedOp::sign_unchecked(&w.ids[2], body(2, "m", 1, 1.0, t1, 1, 1));
    assert!(v.ingest_op(&first).unwrap().evidence.is_empty());
    assert!(v.ingest_op(&again).unwrap().evidence.is_empty());
    assert!(v.trust().is_empty());
}

/// A full mixed run: honest nodes 0..5 publish through `TrustNode`, node 5
/// equivocates, 6 forks a dot, 7 corrupts a tensor; a forger, a replayer and
/// an outsider send junk. Every honest node receives everything (in its own
/// order) and then exchanges evidence over the wire.
#[test]
fn mixed_run_no_false_accusations_and_identical_roots() {
    let w = world();
    let honest: Vec<u32> = (0..5).collect();
    let mut nodes: Vec<TrustNode> = honest
        .iter()
        .map(|&i| TrustNode::new(identity(&w.ids, i), w.roster.clone()))
        .collect();
    let mut msgs: Vec<SignedOp> = Vec::new();
    let mut tensors: Vec<(Dot, TensorAttestation, Vec<u8>)> = Vec::new();
    for &i in &honest {
        let mut set = ContributionSet::new();
        let t = tensor(i as f64);
        let c = Contribution::new(
            &format!("n{i}"),
            1,
            1.0,
            t.digest(),
            Hlc {
                time: 1,
                logical: 0,
                node: i,
            },
        )
        .unwrap();
        let dot = set.add(i, c.clone(), POLICY).unwrap();
        let (op, _) = nodes[i as usize].publish(&c, dot, set.context()).unwrap();
        let att = nodes[i as usize]
            .originator
            .attest(&op.body, &t.canonical_bytes())
            .unwrap();
        tensors.push((dot, att, t.canonical_bytes()));
        msgs.push(op);
    }
    let (t1, t2) = (tensor(50.0), tensor(51.0));
    msgs.push(SignedOp::sign_unchecked(
        &w.ids[5],
        body(5, "n5", 1, 1.0, t1.digest(), 1, 1),
    ));
    msgs.push(SignedOp::sign_unchecked(
        &w.ids[5],
        body(5, "n5", 1, 1.0, t2.digest(), 2, 1),
    ));
    msgs.push(SignedOp::sign_unchecked(
        &w.ids[6],
        body(6, "n6", 1, 1.0, t1.digest(), 1, 1),
    ));
    msgs.push(SignedOp::sign_unchecked(
        &w.ids[6],
        body(6, "n6b", 1, 1.0, t1.digest(), 1, 1),
    ));
    let op7 = SignedOp::sign_unchecked(&w.ids[7], body(7, "n7", 1, 1.0, t1.digest(), 1, 1));
    tensors.push((
        op7.body.dot,
        TensorAttestation::sign_unchecked(&w.ids[7], &op7.body, &t2.canonical_bytes()),
        t2.canonical_bytes(),
    ));
    msgs.push(op7);
    // Forger: claims to be node 0 with a conflicting op.
    msgs.push(SignedOp::sign_unchecked(
        &Identity::from_secret(0, [1; 32]),
        body(0, "n0", 1, 1.0, t2.digest(), 2, 1),
    ));
    // Outsider / Sybil.
    msgs.push(SignedOp::sign_unchecked(
        &Identity::from_secret(N + 3, [2; 32]),
        body(N + 3, "sybil", 1, 1.0, t1.digest(), 1, 1),
    ));
    // Replayer: re-sends everything.
    let replay = msgs.clone();
    msgs.extend(replay);

    for (k, node) in nodes.iter_mut().enumerate() {
        let mut order: Vec<usize> = (0..msgs.len()).collect();
        Stream::new(SEED, Purpose::DeliveryOrder, &[k as u64]).shuffle(&mut order);
        let batch: Vec<SignedOp> = order.iter().map(|&i| msgs[i].clone()).collect();
        let _ = node.verifier.ingest_ops_batch(&batch);
        for (dot, att, bytes) in &tensors {
            let _ = node.verifier.check_tensor(*dot, att, bytes);
        }
    }
    // Evidence gossip over the wire until quiet.
    loop {
        let mut changed = false;
        for a in 0..nodes.len() {
            for b in 0..nodes.len() {
                if a == b {
                    continue;
                }
                let send = nodes[a]
                    .verifier
                    .trust()
                    .missing_from(nodes[b].verifier.trust());
                let bytes = postcard::to_allocvec(&send).unwrap();
                let recv: Vec<Evidence> = postcard::from_bytes(&bytes).unwrap();
                for e in recv {
                    changed |= nodes[b].verifier.ingest_evidence(e).unwrap();
                }
            }
        }
        if !changed {
            break;
        }
    }
    let root = nodes[0].verifier.trust().root();
    for n in &nodes {
        assert_eq!(n.verifier.trust().root(), root);
        assert_eq!(
            n.verifier.trust().scores_digest(),
            nodes[0].verifier.trust().scores_digest()
        );
        let scores = n.verifier.trust().scores();
        let accused: Vec<u32> = scores.accused().map(|(p, _)| p).collect();
        assert_eq!(
            accused,
            vec![5, 6, 7],
            "exactly the Byzantine members, no false accusation"
        );
        for &h in &honest {
            assert_eq!(scores.trust(h), 1.0);
        }
        assert_eq!(n.verifier.counts().bad_signature, 2, "the forger, twice");
        assert_eq!(
            n.verifier.counts().unknown_identity,
            2,
            "the outsider, twice"
        );
        assert_eq!(n.verifier.counts().bad_evidence, 0);
    }
}

// ---------------------------------------------------------------------------
// Trust state: CRDT laws and convergence

/// A pool of verified records from several Byzantine behaviours.
fn pool() -> &'static (Arc<Roster>, Vec<VerifiedEvidence>) {
    static POOL: OnceLock<(Arc<Roster>, Vec<VerifiedEvidence>)> = OnceLock::new();
    POOL.get_or_init(|| {
        let w = world();
        let mut v = Verifier::new(0, w.roster.clone());
        let ts: Vec<Digest> = (0..6).map(|i| tensor(i as f64 + 100.0).digest()).collect();
        // Node 5: a three-way equivocation on two keys.
        for (k, t) in ts.iter().take(3).enumerate() {
            v.ingest_op(&SignedOp::sign_unchecked(
                &w.ids[5],
                body(5, "a", 1, 1.0, *t, k as u64 + 1, 1),
            ))
            .unwrap();
        }
        for (k, t) in ts.iter().skip(3).take(2).enumerate() {
            v.ingest_op(&SignedOp::sign_unchecked(
                &w.ids[5],
                body(5, "b", 2, 1.0, *t, k as u64 + 4, 1),
            ))
            .unwrap();
        }
        // Node 6: forks of two dots.
        for c in 1..=2u64 {
            for m in ["x", "y"] {
                v.ingest_op(&SignedOp::sign_unchecked(
                    &w.ids[6],
                    body(6, m, 1, 1.0, ts[0], c, 1),
                ))
                .unwrap();
            }
        }
        // Node 6 again: the same fork signed twice (a different record of
        // one offence is not possible with deterministic signatures, so use
        // the PCO form of one of the ops).
        let p = PcoBundle::build_unchecked(
            &w.ids[6],
            vec![body(6, "z", 1, 1.0, ts[0], 1, 1)],
            vv(&[(6, 1)]),
            Digest::ZERO,
            Digest::ZERO,
            1,
            1,
        )
        .unwrap();
        let _ = v.ingest_pco(&p, Level::Content);
        // Node 7: two PCOs with contexts behind their dots.
        for k in 0..2u64 {
            let b = body(7, "c", 1, 1.0, ts[k as usize], 1, 1);
            let p = PcoBundle::build_unchecked(
                &w.ids[7],
                vec![b],
                vv(&[(1, k + 1)]),
                Digest::ZERO,
                Digest::ZERO,
                1,
                1,
            )
            .unwrap();
            let _ = v.ingest_pco(&p, Level::Content);
        }
        let records: Vec<VerifiedEvidence> = v.trust().records().cloned().collect();
        assert!(records.len() >= 8, "pool has {} records", records.len());
        (w.roster, records)
    })
}

fn state_of(mask: &[bool]) -> TrustState {
    let (_, recs) = pool();
    let mut s = TrustState::new();
    for (r, &m) in recs.iter().zip(mask) {
        if m {
            s.insert(r.clone()).unwrap();
        }
    }
    s
}

fn joined(a: &TrustState, b: &TrustState) -> TrustState {
    let mut x = a.clone();
    x.join(b).unwrap();
    x
}

fn mask() -> impl Strategy<Value = Vec<bool>> {
    prop::collection::vec(any::<bool>(), 16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn trust_join_is_a_semilattice(a in mask(), b in mask(), c in mask()) {
        let (a, b, c) = (state_of(&a), state_of(&b), state_of(&c));
        let ab = joined(&a, &b);
        let ba = joined(&b, &a);
        prop_assert_eq!(&ab, &ba);
        prop_assert_eq!(ab.root(), ba.root());
        prop_assert_eq!(ab.scores_digest(), ba.scores_digest());
        let l = joined(&ab, &c);
        let r = joined(&a, &joined(&b, &c));
        prop_assert_eq!(l.root(), r.root());
        prop_assert_eq!(&joined(&a, &a), &a);
        prop_assert_eq!(joined(&a, &a).root(), a.root());
        // Monotone: joining never raises anyone's trust.
        for p in 0..N {
            prop_assert!(ab.trust(p) <= a.trust(p));
        }
    }

    #[test]
    fn redelivery_never_double_counts(m in mask(), repeats in 1usize..5) {
        let (_, recs) = pool();
        let once = state_of(&m);
        let mut many = TrustState::new();
        for _ in 0..repeats {
            for (r, &keep) in recs.iter().zip(&m) {
                if keep {
                    many.insert(r.clone()).unwrap();
                }
            }
            many.join(&once).unwrap();
        }
        prop_assert_eq!(many.len(), once.len());
        prop_assert_eq!(many.root(), once.root());
        prop_assert_eq!(&*many.scores(), &*once.scores());
    }

    /// Honest nodes start with different records, gossip with random
    /// delivery order, delays and duplication inside a partition, then heal:
    /// every node ends with the byte-identical trust root of the union.
    #[test]
    fn trust_roots_converge_byte_equal(seed in any::<u64>(), n in 2usize..7, steps in 0usize..40, dup in 0.0f64..0.5) {
        let (_, recs) = pool();
        let mut s = Stream::new(seed, Purpose::Other, &[1]);
        let mut states: Vec<TrustState> = (0..n).map(|_| TrustState::new()).collect();
        for (i, r) in recs.iter().enumerate() {
            // Each record is detected by at least one node, maybe more.
            states[i % n].insert(r.clone()).unwrap();
            if s.chance(0.3) {
                states[s.below(n as u64) as usize].insert(r.clone()).unwrap();
            }
        }
        let mut union = TrustState::new();
        for st in &states {
            union.join(st).unwrap();
        }
        let cut = 1 + s.below(n as u64) as usize; // nodes < cut | nodes >= cut
        let side = |i: usize| i < cut;
        let gossip = |states: &mut Vec<TrustState>, partitioned: bool, s: &mut Stream| {
            let mut queue: Vec<(usize, TrustState)> = Vec::new();
            for _ in 0..steps {
                let from = s.below(n as u64) as usize;
                let to = s.below(n as u64) as usize;
                if from == to || (partitioned && side(from) != side(to)) {
                    continue;
                }
                queue.push((to, states[from].clone()));
                if s.chance(dup) {
                    queue.push((to, states[from].clone()));
                }
                if s.chance(0.5) {
                    s.shuffle(&mut queue);
                    let k = s.below(queue.len() as u64 + 1) as usize;
                    for (to, msg) in queue.drain(..k) {
                        states[to].join(&msg).unwrap();
                    }
                }
            }
            s.shuffle(&mut queue);
            for (to, msg) in queue {
                states[to].join(&msg).unwrap();
            }
        };
        gossip(&mut states, true, &mut s);
        // Inside each side, full exchange: the sides converge separately.
        for _ in 0..2 {
            for a in 0..n {
                for b in 0..n {
                    if side(a) == side(b) && a != b {
                        let m = states[a].clone();
                        states[b].join(&m).unwrap();
                    }
                }
            }
        }
        for a in 0..n {
            for b in 0..n {
                if side(a) == side(b) {
                    prop_assert_eq!(states[a].root(), states[b].root());
                }
            }
        }
        // Heal: random gossip, then anti-entropy until quiet.
        gossip(&mut states, false, &mut s);
        loop {
            let mut changed = false;
            let mut order: Vec<(usize, usize)> = (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).filter(|(a, b)| a != b).collect();
            s.shuffle(&mut order);
            for (a, b) in order {
                let m = states[a].clone();
                changed |= states[b].join(&m).unwrap();
            }
            if !changed {
                break;
            }
        }
        for st in &states {
            prop_assert_eq!(st.root(), union.root());
            prop_assert_eq!(st.scores_digest(), union.scores_digest());
        }
    }
}

#[test]
fn trust_root_is_the_merkle_root_of_sorted_digests() {
    let (_, recs) = pool();
    let s = state_of(&[true; 16]);
    let mut ds: Vec<Digest> = recs.iter().map(|r| r.digest()).collect();
    ds.sort();
    let leaves: Vec<Digest> = ds.iter().map(|d| hash::merkle_leaf(&d.0)).collect();
    assert_eq!(s.root(), hash::merkle_root(&leaves));
    assert_eq!(TrustState::new().root(), hash::merkle_root(&[]));
    // Offences, not records, are counted: node 6's fork seen as two records
    // (signed-op form and PCO form) still counts once per dot.
    let scores = s.scores();
    assert_eq!(scores.peer(6).get(Dimension::Causality), 0.0);
    assert_eq!(
        scores.peer(5).get(Dimension::Consistency),
        0.5,
        "two equivocated keys"
    );
    assert_eq!(
        scores.peer(7).get(Dimension::Context),
        0.5,
        "two context violations"
    );
    assert!(scores.rejected(5) && scores.rejected(6) && !scores.rejected(7));
}

// ---------------------------------------------------------------------------
// Batch verification

#[test]
fn batch_ingest_equals_one_by_one() {
    let w = world();
    let (_, _, chain1) = honest_chain(&w.ids, &w.roster, 1, 4);
    let (_, _, chain2) = honest_chain(&w.ids, &w.roster, 2, 3);
    let mut ops: Vec<SignedOp> = chain1
        .iter()
        .chain(&chain2)
        .map(|(o, _)| o.clone())
        .collect();
    let mut bad = ops[2].clone();
    bad.signature.0[10] ^= 1;
    ops.insert(1, bad);
    ops.push(SignedOp::sign_unchecked(
        &Identity::from_secret(N, [3; 32]),
        body(N, "s", 1, 1.0, Digest::ZERO, 1, 1),
    ));
    ops.push(ops[0].clone());
    let mut a = Verifier::new(0, w.roster.clone());
    let mut b = Verifier::new(0, w.roster.clone());
    let batch = a.ingest_ops_batch(&ops);
    let single: Vec<_> = ops.iter().map(|o| b.ingest_op(o)).collect();
    assert_eq!(batch, single);
    assert_eq!(a.counts(), b.counts());

    let mut pcos: Vec<PcoBundle> = chain1
        .iter()
        .chain(&chain2)
        .map(|(_, p)| p.clone())
        .collect();
    let mut badp = pcos[3].clone();
    badp.header.signature.0[40] ^= 4;
    pcos.insert(2, badp);
    for level in Level::ALL {
        let mut a = Verifier::new(0, w.roster.clone());
        let mut b = Verifier::new(0, w.roster.clone());
        let batch = a.ingest_pco_batch(&pcos, level);
        let single: Vec<_> = pcos.iter().map(|p| b.ingest_pco(p, level)).collect();
        assert_eq!(batch, single, "level {level:?}");
        let v = Verifier::new(0, w.roster.clone());
        let pure = v.verify_pco_batch(&pcos, level);
        let pure1: Vec<_> = pcos.iter().map(|p| v.verify_pco(p, level)).collect();
        assert_eq!(pure, pure1);
    }
}

/// A signature whose R carries an 8-torsion component (only the key owner
/// can make one). dalek's cofactorless batch accepts or rejects it depending
/// on the rest of the batch; the lab's cofactored equation gives one answer
/// in every batch and alone.
#[test]
fn torsion_signatures_get_one_verdict_whatever_the_batch() {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest as _, Sha512};
    let id = Identity::derive(SEED, 0);
    let pk = *id.public_key().as_bytes();
    let msg = b"torsion".to_vec();
    let r = Scalar::from_bytes_mod_order([7u8; 32]);
    let big_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    let h = Sha512::new()
        .chain_update(big_r)
        .chain_update(pk)
        .chain_update(&msg)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(h.as_slice());
    let k = Scalar::from_bytes_mod_order_wide(&wide);
    let s = r + k * id.dalek().to_scalar();
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&big_r);
    sig[32..].copy_from_slice(&s.to_bytes());
    let sig = SignatureBytes(sig);

    assert_eq!(sig::verify(id.public_key(), &msg, &sig), Ok(()));
    let dalek_key = ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap();
    let dalek_sig = ed25519_dalek::Signature::from_bytes(&sig.0);
    assert!(dalek_key.verify_strict(&msg, &dalek_sig).is_err());

    let others: Vec<(Identity, Vec<u8>, SignatureBytes)> = (1..9)
        .map(|i| {
            let id = Identity::derive(SEED, i);
            let m = vec![i as u8; 5];
            let s = id.sign_bytes(&m);
            (id, m, s)
        })
        .collect();
    let mut dalek_verdicts = std::collections::BTreeSet::new();
    for m in 0..128usize {
        // Batch = the torsion signature + a different subset of honest ones.
        let chosen: Vec<&(Identity, Vec<u8>, SignatureBytes)> = others
            .iter()
            .enumerate()
            .filter(|(i, _)| (m >> i) & 1 == 1)
            .map(|(_, o)| o)
            .collect();
        let mut msgs: Vec<&[u8]> = vec![&msg];
        let mut sigs = vec![dalek_sig];
        let mut keys = vec![dalek_key];
        let mut lab_keys: Vec<&PublicKey> = vec![id.public_key()];
        let mut lab_sigs: Vec<&SignatureBytes> = vec![&sig];
        for (o, mm, s) in &chosen {
            msgs.push(mm);
            sigs.push(ed25519_dalek::Signature::from_bytes(&s.0));
            keys.push(ed25519_dalek::VerifyingKey::from_bytes(o.public_key().as_bytes()).unwrap());
            lab_keys.push(o.public_key());
            lab_sigs.push(s);
        }
        dalek_verdicts.insert(ed25519_dalek::verify_batch(&msgs, &sigs, &keys).is_ok());
        let items: Vec<sig::BatchItem> = (0..msgs.len())
            .map(|i| (lab_keys[i], msgs[i], lab_sigs[i]))
            .collect();
        assert!(
            sig::verify_batch(&items).iter().all(|r| r.is_ok()),
            "batch {m}"
        );
    }
    assert_eq!(
        dalek_verdicts.len(),
        2,
        "dalek's cofactorless batch verdict depends on the batch"
    );
    let _ = SigError::Equation;
}

// ---------------------------------------------------------------------------
// Trust-weighted resolve

fn pool_of(ts: &[Tensor]) -> BTreeMap<Digest, &Tensor> {
    ts.iter().map(|t| (t.digest(), t)).collect()
}

#[test]
fn trust_weighted_resolve_excludes_and_downweights_deterministically() {
    let tensors: Vec<Tensor> = (0..8).map(|i| tensor(i as f64)).collect();
    let tpool = pool_of(&tensors);
    // Node i's own set; node 5 also shadows node 0's model id with a higher
    // version (its second operation).
    let own_set = |i: u32| {
        let mut mine = ContributionSet::new();
        let c = Contribution::new(
            &format!("n{i}"),
            1,
            1.0 + i as f64,
            tensors[i as usize].digest(),
            Hlc {
                time: 1,
                logical: 0,
                node: i,
            },
        )
        .unwrap();
        mine.add(i, c, POLICY).unwrap();
        if i == 5 {
            let c = Contribution::new(
                "n0",
                9,
                100.0,
                tensors[5].digest(),
                Hlc {
                    time: 2,
                    logical: 0,
                    node: 5,
                },
            )
            .unwrap();
            mine.add(5, c, POLICY).unwrap();
        }
        mine
    };
    let mut set = ContributionSet::new();
    for i in 0..8u32 {
        set.join(&own_set(i));
    }
    assert_eq!(
        set.visible(POLICY)[0].stamp().node,
        5,
        "node 5's row is visible for n0"
    );
    // Without evidence: the plain inputs, bit for bit.
    let empty = TrustState::new();
    let plain = trust_weighted_rows(&set, POLICY, &empty.scores());
    let vis = set.visible(POLICY);
    assert_eq!(plain.contributions, vis);
    assert_eq!(
        plain.weights,
        vis.iter().map(|c| c.weight()).collect::<Vec<_>>()
    );

    // Evidence: 5 equivocated (excluded), 7 has one context violation (×0.75).
    let (_, recs) = pool();
    let mut trust = TrustState::new();
    for r in recs {
        if r.accused() == 5
            || (r.accused() == 7 && trust.scores().peer(7).get(Dimension::Context) == 1.0)
        {
            trust.insert(r.clone()).unwrap();
        }
    }
    let scores = trust.scores();
    let tw = trust_weighted_rows(&set, POLICY, &scores);
    let ids: Vec<&str> = tw.ids.clone();
    assert_eq!(ids, vec!["n0", "n1", "n2", "n3", "n4", "n6", "n7"]);
    assert_eq!(
        tw.contributions[0].stamp().node,
        0,
        "the honest row wins again"
    );
    assert_eq!(tw.weights[6], 8.0 * 0.75);
    assert_eq!(tw.excluded.len(), 1);
    assert_eq!(tw.excluded[0].originator, 5);
    // The visible-only variant loses n0 entirely (shadowed by an excluded peer).
    let tv = trust_weighted(&vis, &scores);
    assert_eq!(tv.ids.len(), 6);
    assert_eq!(tv.excluded.len(), 2);

    // Two nodes with the same sets (joined in different orders) and the
    // same evidence resolve identical bits.
    let mut other = ContributionSet::new();
    for i in (0..8u32).rev() {
        other.join(&own_set(i));
    }
    let mut trust2 = TrustState::new();
    trust2.join(&trust).unwrap();
    let tw2 = trust_weighted_rows(&other, POLICY, &trust2.scores());
    let look = |d: &Digest| tpool.get(d).copied();
    let m1 = tw
        .resolve("weight_average", &Params::new(), look, None, 0, "")
        .unwrap();
    let m2 = tw2
        .resolve("weight_average", &Params::new(), look, None, 0, "")
        .unwrap();
    assert_eq!(m1.digest(), m2.digest());
    let unweighted = plain
        .resolve("weight_average", &Params::new(), look, None, 0, "")
        .unwrap();
    assert_ne!(
        m1.digest(),
        unweighted.digest(),
        "trust changes the merged model"
    );
    assert!(matches!(
        tw.resolve("weight_average", &Params::new(), |_| None, None, 0, ""),
        Err(ResolveError::MissingTensor(_))
    ));
}

#[test]
fn row_winner_matches_the_crdt_order() {
    for seed in 0..30u64 {
        let mut s = Stream::new(seed, Purpose::Other, &[5]);
        let mut sets: Vec<ContributionSet> = (0..4).map(|_| ContributionSet::new()).collect();
        for step in 0..20u64 {
            let node = s.below(4) as u32;
            let id = format!("m{}", s.below(4));
            let version = 1 + s.below(3) as u32;
            let c = Contribution::new(
                &id,
                version,
                1.0,
                Digest([s.below(3) as u8; 32]),
                Hlc {
                    time: s.below(4),
                    logical: step as u32,
                    node,
                },
            )
            .unwrap();
            let _ = sets[node as usize].add(node, c, ConflictPolicy::LastWriterWins);
            if s.chance(0.3) {
                let other = sets[s.below(4) as usize].clone();
                sets[node as usize].join(&other);
            }
        }
        let mut all = ContributionSet::new();
        for st in &sets {
            all.join(st);
        }
        for policy in [
            ConflictPolicy::LastWriterWins,
            ConflictPolicy::FirstWriterWins,
        ] {
            let tw = trust_weighted_rows(&all, policy, &TrustState::new().scores());
            assert_eq!(
                tw.contributions,
                all.visible(policy),
                "seed {seed} {policy:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Reference-semantics contrast (clearly not the lab's design)

#[test]
fn reference_semantics_do_not_converge_with_homeostasis() {
    let mut l = RefLattice::new();
    assert_eq!(l.score(3, Dimension::Integrity), 0.5);
    l.record(0, 3, Dimension::Integrity, 0.05);
    assert_eq!(
        l.score(3, Dimension::Integrity),
        0.95,
        "the first accusation raises trust"
    );
    l.record(0, 3, Dimension::Integrity, 0.05);
    assert!(
        (l.score(3, Dimension::Integrity) - 0.9).abs() < 1e-12,
        "re-applying double-counts"
    );

    let with = all_to_all_contrast(SEED, 10, 4, true);
    let without = all_to_all_contrast(SEED, 10, 4, false);
    println!("reference semantics, homeostasis: {with:?}\nwithout homeostasis: {without:?}");
    assert!(with.distinct_roots > 1, "{with:?}");
    assert!(with.max_divergence.iter().any(|&d| d > 0.0));
    assert_eq!(without.distinct_roots, 1, "{without:?}");
    assert!(without.max_divergence.iter().all(|&d| d == 0.0));
}
