//! Layer 1 is a real CRDT: the lattice laws, delta equivalence, encoding and
//! digest properties on random histories of concurrent add / update / remove,
//! and regression tests for the reference library's Layer-1 anomalies
//! (spec strategies.md §3.4, vectors crdt_layer.json).

use lab_core::crdt::{
    ConflictPolicy, Contribution, ContributionSet, Hlc, ReplicaConfigDigest, SetError,
};
use lab_core::hash::{digest, Digest, Domain};
use proptest::prelude::*;

const POLICY: ConflictPolicy = ConflictPolicy::LastWriterWins;

fn tensor_digest(k: u64) -> Digest {
    digest(Domain::Tensor, &k.to_le_bytes())
}

fn contribution(id: &str, version: u32, content: u64, time: u64, node: u32) -> Contribution {
    let stamp = Hlc {
        time,
        logical: 0,
        node,
    };
    Contribution::new(
        id,
        version,
        1.0 + content as f64,
        tensor_digest(content),
        stamp,
    )
    .unwrap()
}

fn cfg() -> ReplicaConfigDigest {
    ReplicaConfigDigest::compute("weight_average", &[], None, 42, POLICY)
}

/// One step of a random history over `REPLICAS` replicas and `IDS` ids.
#[derive(Clone, Debug)]
enum Op {
    Put { replica: u32, id: u8, content: u64 },
    Remove { replica: u32, id: u8 },
    Sync { from: u32, to: u32 },
    DeltaSync { from: u32, to: u32 },
}

const REPLICAS: u32 = 4;
const IDS: u8 = 5;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..REPLICAS, 0..IDS, 0..1000u64).prop_map(|(replica, id, content)| Op::Put { replica, id, content }),
        1 => (0..REPLICAS, 0..IDS).prop_map(|(replica, id)| Op::Remove { replica, id }),
        2 => (0..REPLICAS, 0..REPLICAS).prop_map(|(from, to)| Op::Sync { from, to }),
        1 => (0..REPLICAS, 0..REPLICAS).prop_map(|(from, to)| Op::DeltaSync { from, to }),
    ]
}

/// Replays a history; returns the final replica states.
fn replay(ops: &[Op]) -> Vec<ContributionSet> {
    let mut states: Vec<ContributionSet> = (0..REPLICAS).map(|_| ContributionSet::new()).collect();
    for (t, op) in ops.iter().enumerate() {
        match *op {
            Op::Put {
                replica,
                id,
                content,
            } => {
                let s = &mut states[replica as usize];
                let name = format!("m{id}");
                let next = s
                    .visible(POLICY)
                    .iter()
                    .find(|c| c.model_id() == name)
                    .map_or(1, |c| c.version() + 1);
                let c = contribution(&name, next, content, t as u64, replica);
                s.add(replica, c, POLICY).unwrap();
            }
            Op::Remove { replica, id } => {
                states[replica as usize].remove(&format!("m{id}"));
            }
            Op::Sync { from, to } if from != to => {
                let src = states[from as usize].clone();
                states[to as usize].join(&src);
            }
            Op::DeltaSync { from, to } if from != to => {
                let d = states[from as usize].delta_since(states[to as usize].context());
                states[to as usize].join_delta(&d);
            }
            _ => {}
        }
    }
    for s in &states {
        s.check_invariants().unwrap();
    }
    states
}

fn joined(a: &ContributionSet, b: &ContributionSet) -> ContributionSet {
    let mut x = a.clone();
    x.join(b);
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn join_is_commutative(ops in proptest::collection::vec(op(), 0..40)) {
        let s = replay(&ops);
        let ab = joined(&s[0], &s[1]);
        let ba = joined(&s[1], &s[0]);
        prop_assert_eq!(&ab, &ba);
        prop_assert_eq!(ab.replica_digest(), ba.replica_digest());
        prop_assert_eq!(ab.state_digest(&cfg(), POLICY), ba.state_digest(&cfg(), POLICY));
    }

    #[test]
    fn join_is_associative(ops in proptest::collection::vec(op(), 0..40)) {
        let s = replay(&ops);
        let left = joined(&joined(&s[0], &s[1]), &s[2]);
        let right = joined(&s[0], &joined(&s[1], &s[2]));
        prop_assert_eq!(left, right);
    }

    #[test]
    fn join_is_idempotent(ops in proptest::collection::vec(op(), 0..40)) {
        let s = replay(&ops);
        let mut a = s[0].clone();
        prop_assert!(!a.join(&s[0]), "joining a state into itself reported a change");
        prop_assert_eq!(&a, &s[0]);
        let ab = joined(&s[0], &s[1]);
        prop_assert_eq!(joined(&ab, &s[1]), ab);
    }

    #[test]
    fn join_is_an_upper_bound(ops in proptest::collection::vec(op(), 0..40)) {
        // a ⊔ b absorbs a and b: joining either again changes nothing.
        let s = replay(&ops);
        let mut ab = joined(&s[0], &s[1]);
        prop_assert!(!ab.join(&s[0]));
        prop_assert!(!ab.join(&s[1]));
        prop_assert!(s[0].context().le(ab.context()));
    }

    #[test]
    fn delta_join_equals_full_join(ops in proptest::collection::vec(op(), 0..40), more in proptest::collection::vec(op(), 0..20)) {
        // The delta is computed against an *older* context of the receiver
        // (as after a lost acknowledgement); it must still give the full join.
        let before = replay(&ops);
        let mut all = ops.clone();
        all.extend(more);
        let after = replay(&all);
        let stale_context = before[1].context().clone();
        prop_assume!(stale_context.le(after[1].context()));
        let delta = after[0].delta_since(&stale_context);
        let mut via_delta = after[1].clone();
        via_delta.join_delta(&delta);
        prop_assert_eq!(via_delta, joined(&after[1], &after[0]));
        let fresh = after[0].delta_since(after[1].context());
        let mut via_fresh = after[1].clone();
        via_fresh.join_delta(&fresh);
        prop_assert_eq!(via_fresh, joined(&after[1], &after[0]));
    }

    #[test]
    fn encoding_round_trips(ops in proptest::collection::vec(op(), 0..40)) {
        let s = replay(&ops);
        for state in &s {
            let bytes = postcard::to_allocvec(state).unwrap();
            prop_assert_eq!(bytes.len(), state.encoded_len());
            let back: ContributionSet = postcard::from_bytes(&bytes).unwrap();
            back.check_invariants().unwrap();
            prop_assert_eq!(&back, state);
            prop_assert_eq!(back.replica_digest(), state.replica_digest());
        }
    }

    #[test]
    fn digest_is_independent_of_insertion_and_join_order(
        contents in proptest::collection::vec(0..1000u64, 1..12),
        perm_seed in any::<u64>(),
    ) {
        // Replica i adds contribution i; join them into a fresh state in two
        // different orders.
        let singles: Vec<ContributionSet> = contents.iter().enumerate().map(|(i, &c)| {
            let mut s = ContributionSet::new();
            s.add(i as u32, contribution(&format!("id{i}"), 1, c, 0, i as u32), POLICY).unwrap();
            s
        }).collect();
        let mut order: Vec<usize> = (0..singles.len()).collect();
        let mut x = perm_seed;
        for i in (1..order.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut a = ContributionSet::new();
        for s in &singles { a.join(s); }
        let mut b = ContributionSet::new();
        for &i in &order { b.join(&singles[i]); }
        prop_assert_eq!(a.state_digest(&cfg(), POLICY), b.state_digest(&cfg(), POLICY));
        prop_assert_eq!(a.replica_digest(), b.replica_digest());
    }
}

#[test]
fn add_wins_over_a_concurrent_remove() {
    let mut a = ContributionSet::new();
    a.add(0, contribution("m", 1, 1, 0, 0), POLICY).unwrap();
    let mut b = a.clone();
    // Concurrently: b removes m, a updates m to version 2.
    assert!(b.remove("m"));
    a.add(0, contribution("m", 2, 2, 1, 0), POLICY).unwrap();
    for merged in [joined(&a, &b), joined(&b, &a)] {
        let v = merged.visible(POLICY);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].version(), 2);
    }
    // A remove that *has seen* the add does remove it.
    let mut c = joined(&a, &b);
    c.remove("m");
    assert!(joined(&c, &a).visible(POLICY).is_empty());
}

#[test]
fn reference_anomaly_remove_then_identical_readd_is_not_lost() {
    // crdt_layer.json `remove_readd_same_content`: in the reference the
    // re-added contribution reuses the old tombstoned tag and vanishes after
    // merging (ids_after_merge = ["n"]). Here a re-add is a new dot.
    let x = contribution("m", 1, 7, 0, 0);
    let y = contribution("n", 1, 8, 0, 0);
    let mut a = ContributionSet::new();
    a.add(0, x.clone(), POLICY).unwrap();
    a.add(0, y, POLICY).unwrap();
    let mut b = ContributionSet::new();
    b.join(&a);
    a.remove("m");
    b.join(&a);
    a.add(0, x, POLICY).unwrap(); // identical content and version
    a.join(&b);
    let ids: Vec<&str> = a.visible(POLICY).iter().map(|c| c.model_id()).collect();
    assert_eq!(ids, ["m", "n"]);
    b.join(&a);
    assert_eq!(a.replica_digest(), b.replica_digest());
}

#[test]
fn reference_anomaly_lww_tie_is_not_broken_by_merge_order() {
    // Reference: LAST_WRITE_WINS with equal timestamps keeps *self's* entry,
    // so the winner depends on who merges whom. Here equal HLC times are
    // ordered by node, then by record digest: both orders agree.
    for policy in [
        ConflictPolicy::LastWriterWins,
        ConflictPolicy::FirstWriterWins,
    ] {
        let mut a = ContributionSet::new();
        a.add(0, contribution("m", 1, 1, 5, 0), policy).unwrap();
        let mut b = ContributionSet::new();
        b.add(1, contribution("m", 1, 2, 5, 1), policy).unwrap();
        let ab = joined(&a, &b);
        let ba = joined(&b, &a);
        assert_eq!(
            ab.visible(policy)[0].record(),
            ba.visible(policy)[0].record()
        );
        assert_eq!(
            ab.state_digest(&cfg(), policy),
            ba.state_digest(&cfg(), policy)
        );
    }
}

#[test]
fn reference_anomaly_first_writer_wins_is_order_independent() {
    // Reference FIRST_WRITE_WINS keeps whichever entry the merging replica
    // already had. Here the earlier HLC stamp wins regardless of order.
    let policy = ConflictPolicy::FirstWriterWins;
    let early = contribution("m", 1, 1, 1, 3);
    let late = contribution("m", 1, 2, 9, 0);
    let mut a = ContributionSet::new();
    a.add(3, early.clone(), policy).unwrap();
    let mut b = ContributionSet::new();
    b.add(0, late.clone(), policy).unwrap();
    for merged in [joined(&a, &b), joined(&b, &a)] {
        assert_eq!(merged.visible(policy)[0].record(), early.record());
        assert_eq!(
            merged.visible(ConflictPolicy::LastWriterWins)[0].record(),
            late.record()
        );
    }
}

#[test]
fn higher_version_wins_whatever_the_stamp() {
    let mut a = ContributionSet::new();
    a.add(0, contribution("m", 1, 1, 100, 0), POLICY).unwrap();
    let mut b = ContributionSet::new();
    b.add(1, contribution("m", 2, 2, 1, 1), POLICY).unwrap();
    assert_eq!(joined(&a, &b).visible(POLICY)[0].version(), 2);
    assert_eq!(joined(&b, &a).visible(POLICY)[0].version(), 2);
}

#[test]
fn state_digest_covers_strategy_params_base_and_seed() {
    // crdt_layer.json `base_not_in_hash`: the reference's state_hash ignores
    // the base, so replicas with equal hashes resolve differently.
    let mut s = ContributionSet::new();
    s.add(0, contribution("a", 1, 1, 0, 0), POLICY).unwrap();
    let base0 = Some(tensor_digest(10));
    let base1 = Some(tensor_digest(11));
    let variants = [
        ReplicaConfigDigest::compute("ties", &[], base0, 42, POLICY),
        ReplicaConfigDigest::compute("ties", &[], base1, 42, POLICY),
        ReplicaConfigDigest::compute("ties", &[], None, 42, POLICY),
        ReplicaConfigDigest::compute("ties", &[], base0, 43, POLICY),
        ReplicaConfigDigest::compute("dare", &[], base0, 42, POLICY),
        ReplicaConfigDigest::compute("ties", &[1], base0, 42, POLICY),
        ReplicaConfigDigest::compute("ties", &[], base0, 42, ConflictPolicy::FirstWriterWins),
    ];
    let digests: std::collections::BTreeSet<Digest> =
        variants.iter().map(|c| s.state_digest(c, POLICY)).collect();
    assert_eq!(digests.len(), variants.len());
}

#[test]
fn local_update_needs_a_higher_version() {
    let mut s = ContributionSet::new();
    s.add(0, contribution("m", 2, 1, 0, 0), POLICY).unwrap();
    let err = s.add(0, contribution("m", 2, 9, 1, 0), POLICY).unwrap_err();
    assert!(matches!(
        err,
        SetError::StaleVersion {
            have: 2,
            got: 2,
            ..
        }
    ));
    assert!(Contribution::new("", 1, 1.0, Digest::ZERO, Hlc::default()).is_err());
    assert!(Contribution::new("m", 0, 1.0, Digest::ZERO, Hlc::default()).is_err());
    assert!(Contribution::new("m", 1, f64::NAN, Digest::ZERO, Hlc::default()).is_err());
}

#[test]
fn canonical_order_is_byte_order() {
    let mut s = ContributionSet::new();
    for (i, id) in ["m10", "m2", "M1", "m1"].iter().enumerate() {
        s.add(i as u32, contribution(id, 1, i as u64, 0, i as u32), POLICY)
            .unwrap();
    }
    let ids: Vec<&str> = s.visible(POLICY).iter().map(|c| c.model_id()).collect();
    assert_eq!(ids, ["M1", "m1", "m10", "m2"]);
}

#[test]
fn decoding_rejects_states_that_break_invariants() {
    let mut s = ContributionSet::new();
    s.add(0, contribution("a", 1, 1, 0, 0), POLICY).unwrap();
    let mut bytes = postcard::to_allocvec(&s).unwrap();
    // The last byte is the context's counter for replica 0 (1): make it 0 so
    // the row's dot is no longer covered.
    *bytes.last_mut().unwrap() = 0;
    let back: ContributionSet = postcard::from_bytes(&bytes).unwrap();
    assert!(back.check_invariants().is_err());
}
