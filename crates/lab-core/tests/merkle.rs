//! Digest-diff (Merkle) anti-entropy: the replica trie, projection joins,
//! convergence to the full-state result, bytes against full state and the
//! oracle, and behaviour under loss, duplication and delay.

use lab_core::crdt::{
    ConflictPolicy, Contribution, ContributionSet, Hlc, ReplicaId, TriePath, TRIE_FANOUT,
};
use lab_core::experiment::convergence::{run, run_with, ConvergenceConfig, ResolveMode};
use lab_core::experiment::fuzz::{check, draw};
use lab_core::hash::{digest, Digest, Domain};
use lab_core::sim::faults::{ChurnAction, ChurnEvent, FaultPlan, LinkFaults};
use lab_core::sim::merkle::{respond, MerklePart};
use lab_core::sim::{AntiEntropy, Contributions, Executor, Protocol, Schedule};
use proptest::prelude::*;
use std::sync::Arc;

fn contribution(node: u32, version: u32, stamp: u64) -> Contribution {
    let tensor = digest(
        Domain::Tensor,
        &[node.to_le_bytes(), version.to_le_bytes()].concat(),
    );
    Contribution::new(
        &format!("node-{node:05}"),
        version,
        1.0,
        tensor,
        Hlc {
            time: stamp,
            logical: 0,
            node,
        },
    )
    .unwrap()
}

/// A set built by a little history: adds by `replica`s (three, from
/// `first`), updates, removes. Histories that are joined use disjoint
/// replicas, so a dot always names one write.
fn history(ops: &[(u8, u8, bool)], first: ReplicaId) -> ContributionSet {
    let mut s = ContributionSet::new();
    for (k, &(replica, node, remove)) in ops.iter().enumerate() {
        let node = node as u32 % 12;
        if remove {
            s.remove(&format!("node-{node:05}"));
        } else {
            let version = 1 + k as u32;
            let _ = s.add(
                first + replica as ReplicaId % 3,
                contribution(node, version, k as u64),
                ConflictPolicy::LastWriterWins,
            );
        }
    }
    s
}

/// Two replicas that share a past and then diverge.
fn diverged(
    common: &[(u8, u8, bool)],
    a: &[(u8, u8, bool)],
    b: &[(u8, u8, bool)],
) -> (ContributionSet, ContributionSet) {
    let base = history(common, 0);
    let mut x = base.clone();
    let mut y = base;
    x.join(&history(a, 3));
    y.join(&history(b, 6));
    (x, y)
}

fn ops() -> impl Strategy<Value = Vec<(u8, u8, bool)>> {
    proptest::collection::vec(
        (any::<u8>(), any::<u8>(), proptest::bool::weighted(0.2)),
        0..12,
    )
}

/// Runs a whole session between `a` (initiator) and `b` on frozen states:
/// returns the data each side received.
fn session(
    a: &ContributionSet,
    b: &ContributionSet,
    to_initiator: bool,
    to_responder: bool,
) -> (Vec<ContributionSet>, Vec<ContributionSet>, usize) {
    let mut to_a = Vec::new();
    let mut to_b = Vec::new();
    let mut part = MerklePart::open(a.trie().root(), to_initiator, to_responder);
    let mut at_b = true;
    let mut hops = 1;
    loop {
        let (me, inbox) = if at_b { (b, &mut to_b) } else { (a, &mut to_a) };
        if let Some(d) = &part.data {
            inbox.push((**d).clone());
        }
        let Some(reply) = respond(me, &part) else {
            break;
        };
        part = reply;
        at_b = !at_b;
        hops += 1;
        assert!(hops < 64, "sessions end");
    }
    // The last part's data (a reply that only carries data) is delivered too.
    (to_a, to_b, hops)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Equal roots iff equal states; every node's hash is consistent with
    /// its children.
    #[test]
    fn roots_decide_equality(common in ops(), a in ops(), b in ops()) {
        let (x, y) = diverged(&common, &a, &b);
        prop_assert_eq!(x.trie().root() == y.trie().root(), x == y);
        let t = x.trie();
        let kids = t.children(TriePath::ROOT);
        prop_assert!(kids.len() <= TRIE_FANOUT as usize);
        prop_assert_eq!(t.root() == Digest::ZERO, t.is_empty());
    }

    /// A projection is a valid state below its source, and joining the
    /// projections of every top-level subtree equals joining the state.
    #[test]
    fn projections_compose_to_the_join(common in ops(), a in ops(), b in ops()) {
        let (x, y) = diverged(&common, &a, &b);
        let mut whole = x.clone();
        whole.join(&y);
        let mut pieces = x.clone();
        for i in 0..TRIE_FANOUT {
            let p = y.trie_projection(&[TriePath::ROOT.child(i)]);
            prop_assert!(p.check_invariants().is_ok());
            let mut below = y.clone();
            prop_assert!(!below.join(&p), "a projection is below its source");
            pieces.join(&p);
        }
        prop_assert_eq!(&pieces, &whole);
        // Duplicated and reordered pieces change nothing.
        let mut again = pieces.clone();
        for i in (0..TRIE_FANOUT).rev() {
            again.join(&y.trie_projection(&[TriePath::ROOT.child(i)]));
        }
        prop_assert_eq!(&again, &whole);
    }

    /// On frozen states a pull session gives the initiator exactly `a ⊔ b`,
    /// a push session the responder, push-pull both.
    #[test]
    fn a_session_on_frozen_states_joins(common in ops(), a in ops(), b in ops()) {
        let (x, y) = diverged(&common, &a, &b);
        let mut xy = x.clone();
        xy.join(&y);
        for (to_i, to_r) in [(true, false), (false, true), (true, true)] {
            let (to_a, to_b, _) = session(&x, &y, to_i, to_r);
            let mut a2 = x.clone();
            for d in &to_a { a2.join(d); }
            let mut b2 = y.clone();
            for d in &to_b { b2.join(d); }
            if to_i { prop_assert_eq!(&a2, &xy); } else { prop_assert_eq!(&a2, &x); }
            if to_r { prop_assert_eq!(&b2, &xy); } else { prop_assert_eq!(&b2, &y); }
        }
    }
}

proptest! {
    /// The galloping cursor answers exactly like a binary search, in any
    /// query order.
    #[test]
    fn cursor_agrees_with_get(adds in proptest::collection::vec(0u32..300, 0..80), queries in proptest::collection::vec(0u32..320, 0..200)) {
        let mut vv = lab_core::crdt::VersionVector::new();
        for r in adds {
            vv.next_dot(r);
        }
        let cursor = vv.cursor();
        for q in queries {
            prop_assert_eq!(cursor.get(q), vv.get(q));
        }
    }
}

#[test]
fn equal_states_end_the_session_at_the_root() {
    let x = history(&[(1, 1, false), (2, 2, false)], 0);
    let part = MerklePart::open(x.trie().root(), true, true);
    assert!(respond(&x.clone(), &part).is_none());
}

#[test]
fn anti_entropy_names_parse() {
    for ae in AntiEntropy::ALL {
        assert_eq!(ae.name().parse::<AntiEntropy>().unwrap(), ae);
    }
    assert_eq!(
        "digest".parse::<AntiEntropy>().unwrap(),
        AntiEntropy::Merkle
    );
    assert!("merkel".parse::<AntiEntropy>().is_err());
}

fn config(protocol: Protocol, anti_entropy: AntiEntropy, fanout: u32) -> ConvergenceConfig {
    ConvergenceConfig {
        nodes: 40,
        dim: 2,
        orderings: 2,
        protocol,
        fanout,
        anti_entropy,
        resolve: ResolveMode::OncePerState,
        ..ConvergenceConfig::default()
    }
}

#[test]
fn merkle_converges_to_the_full_state_result() {
    for (protocol, fanout) in [
        (Protocol::PushPull, 1),
        (Protocol::Pull, 2),
        (Protocol::Push, 1),
    ] {
        let full = run(&config(protocol, AntiEntropy::Full, fanout)).unwrap();
        let merkle = run(&config(protocol, AntiEntropy::Merkle, fanout)).unwrap();
        assert!(merkle.verdict.passed, "{protocol:?}: {:?}", merkle.verdict);
        assert_eq!(
            merkle.results.oracle_state_digest,
            full.results.oracle_state_digest
        );
        for (m, f) in merkle.results.orderings.iter().zip(&full.results.orderings) {
            assert_eq!(m.state_digest, f.state_digest);
            assert_eq!(m.resolved_digest, f.resolved_digest);
        }
    }
}

#[test]
fn merkle_fingerprint_does_not_depend_on_executors() {
    let c = config(Protocol::PushPull, AntiEntropy::Merkle, 1);
    let one = run_with(&c, 1, &mut |_| true).unwrap();
    let three = run_with(&c, 3, &mut |_| true).unwrap();
    assert_eq!(one.fingerprint, three.fingerprint);
    let stats = |r: &lab_core::experiment::convergence::ConvergenceReport| {
        r.results.orderings[0]
            .per_round
            .iter()
            .map(|s| (s.tensor_fetches, s.digest_bytes))
            .collect::<Vec<_>>()
    };
    assert_eq!(stats(&one), stats(&three));
}

#[test]
fn every_contribution_is_fetched_once_per_node_without_churn() {
    let n = 40u64;
    for ae in AntiEntropy::ALL {
        let r = run(&config(Protocol::PushPull, ae, 1)).unwrap();
        for o in &r.results.orderings {
            let fetches: u64 = o.per_round.iter().map(|s| s.tensor_fetches).sum();
            assert_eq!(
                fetches,
                n * (n - 1),
                "{ae:?}: the oracle's fetches, no more"
            );
        }
    }
}

#[test]
fn merkle_holds_every_invariant_under_loss_duplication_and_delay() {
    let mut checked = 0;
    for seed in 0..40u64 {
        let mut case = draw(seed);
        case.config.anti_entropy = AntiEntropy::Merkle;
        case.plan.link = Some(LinkFaults {
            start: 1,
            end: 12,
            loss: 0.4,
            duplicate: 0.3,
            delay_max: 3,
        });
        case.config.rounds_max = case.plan.quiet_from() + 300;
        check(&case).unwrap_or_else(|f| panic!("seed {seed}: {f:?}"));
        checked += 1;
    }
    assert_eq!(checked, 40);
}

/// Every node starts with every contribution (converged); one node then
/// updates its contribution.
struct Converged {
    nodes: u32,
}

impl Contributions for Converged {
    fn initial(&self, _node: u32) -> ContributionSet {
        let mut all = ContributionSet::new();
        for j in 0..self.nodes {
            let mut one = ContributionSet::new();
            one.add(j, contribution(j, 1, 0), ConflictPolicy::LastWriterWins)
                .unwrap();
            all.join(&one);
        }
        all
    }
    fn version(&self, node: u32, version: u32, stamp: Hlc) -> Contribution {
        let tensor = digest(
            Domain::Tensor,
            &[node.to_le_bytes(), version.to_le_bytes()].concat(),
        );
        Contribution::new(&self.model_id(node), version, 1.0, tensor, stamp).unwrap()
    }
    fn model_id(&self, node: u32) -> String {
        format!("node-{node:05}")
    }
    fn policy(&self) -> ConflictPolicy {
        ConflictPolicy::LastWriterWins
    }
    fn tensor_bytes(&self) -> u64 {
        8 * 64 * 64
    }
}

#[derive(Debug, Default)]
struct Totals {
    rounds: u32,
    metadata: u64,
    digest: u64,
    fetches: u64,
    tensor: u64,
}

/// Runs the converged-then-one-change scenario until every node agrees again.
fn one_change(ae: AntiEntropy, protocol: Protocol, link: Option<LinkFaults>) -> Totals {
    let nodes = 64;
    let schedule = Schedule {
        nodes,
        protocol,
        fanout: 1,
        seed: 9,
        ordering: 0,
    };
    let plan = FaultPlan {
        churn: vec![ChurnEvent {
            round: 1,
            node: 5,
            action: ChurnAction::Update,
        }],
        link,
        ..FaultPlan::default()
    };
    let mut ex = Executor::with_plan(
        schedule,
        Arc::new(plan),
        0..nodes,
        Arc::new(Converged { nodes }),
    );
    ex.set_anti_entropy(ae);
    let mut t = Totals::default();
    for round in 1..=200 {
        let emission = ex.emit(round);
        let mut report = ex.deliver(round, emission.envelopes);
        report.counters.add(&emission.counters);
        t.rounds = round;
        t.metadata += report.counters.metadata_bytes;
        t.digest += report.counters.digest_bytes;
        t.fetches += report.counters.tensor_fetches;
        t.tensor += report.counters.tensor_bytes;
        let first = report.nodes[0].digest;
        if report.nodes.iter().all(|s| s.digest == first) && round > 1 {
            let v = ex
                .node(0)
                .visible(ConflictPolicy::LastWriterWins)
                .iter()
                .find(|c| c.model_id() == "node-00005")
                .map(|c| c.version());
            assert_eq!(v, Some(2), "{ae:?}: the update reached everyone");
            return t;
        }
    }
    panic!("{ae:?} did not reconverge: {t:?}");
}

#[test]
fn one_change_costs_merkle_far_less_than_full_state() {
    for protocol in [Protocol::PushPull, Protocol::Pull, Protocol::Push] {
        let full = one_change(AntiEntropy::Full, protocol, None);
        let merkle = one_change(AntiEntropy::Merkle, protocol, None);
        // The oracle: 63 nodes fetch one new row (and one tensor) each.
        assert_eq!(full.fetches, 63, "{protocol:?}");
        assert_eq!(merkle.fetches, 63, "{protocol:?}");
        assert_eq!(merkle.tensor, 63 * 8 * 64 * 64);
        assert!(
            merkle.metadata <= full.metadata,
            "{protocol:?}: merkle {merkle:?} vs full {full:?}"
        );
        assert!(merkle.digest > 0 && merkle.digest < merkle.metadata);
        eprintln!("{protocol:?}: full {full:?}\n  merkle {merkle:?}");
    }
    let delta = one_change(AntiEntropy::Delta, Protocol::PushPull, None);
    eprintln!("PushPull: delta {delta:?}");
}

#[test]
fn one_change_survives_loss_duplication_and_delay() {
    let link = LinkFaults {
        start: 1,
        end: 30,
        loss: 0.3,
        duplicate: 0.3,
        delay_max: 2,
    };
    let merkle = one_change(AntiEntropy::Merkle, Protocol::PushPull, Some(link));
    assert_eq!(merkle.fetches, 63, "duplicates are never fetched twice");
}
