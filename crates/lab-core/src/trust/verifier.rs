//! The receiving side of a node: verify, record, detect evidence, count drops.
//!
//! A [`Verifier`] holds what one node has learnt: every authenticated
//! operation by dot (its *ledger*), the dense prefix of each originator's log
//! (to recompute PCO Merkle roots), the node's [`TrustState`], a quarantine
//! for PCOs of distrusted originators, and counters of everything dropped.
//!
//! Everything here is deterministic: `BTreeMap`s only, payloads processed in
//! the order given, no clock, no randomness. Two verifiers fed the same
//! inputs in the same order end in the same state; the trust state converges
//! whatever the order (it is a CRDT).
//!
//! **Set membership never depends on trust.** A validly signed operation is
//! recorded (and reported `New`) whatever the originator's trust, so every
//! honest node admits the same operations into its contribution set no
//! matter when it learnt the evidence; trust acts when the model is resolved
//! ([`super::weighted`]). The one exception is level 3 quarantine, which
//! reports PCOs of already-distrusted originators as not to be applied or
//! forwarded; the resolve excludes those originators anyway, so the merged
//! model is the same either way.

use super::error::{EvidenceError, OpError, PcoError, TensorCheckError};
use super::evidence::{AuthOp, CausalityViolation, Evidence, OpProof};
use super::identity::{NodeId, Roster};
use super::pco::{Level, LogFrontier, PcoBundle};
use super::sig::{self, BatchItem};
use super::signed::{SignedOp, TensorAttestation};
use super::state::{TrustState, REJECT_THRESHOLD};
use crate::crdt::Dot;
use crate::hash::{self, Digest, Domain};
use serde::Serialize;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most operations one ledger holds.
pub const LEDGER_OPS_MAX: usize = 1_000_000;
/// Most PCOs one quarantine holds (further ones are counted, not kept).
pub const QUARANTINE_MAX: usize = 10_000;

/// What a node dropped, by reason. None of these produced evidence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DropCounts {
    /// Structurally invalid operations or PCO payloads.
    pub malformed: u64,
    /// Claimed identities outside the roster.
    pub unknown_identity: u64,
    /// Signatures that do not verify (forgeries, zero/random bytes, wrong key).
    pub bad_signature: u64,
    /// PCOs whose claims are not bound to the signature (aggregate, logical
    /// time or context do not match): tampered in transit.
    pub unbound_claims: u64,
    /// PCOs that need history this node does not have yet.
    pub missing_history: u64,
    /// PCOs whose Merkle root after applying differs from the node's.
    pub root_mismatch: u64,
    /// PCOs with non-minimal delta bounds.
    pub not_minimal: u64,
    /// PCOs rejected for a causality violation (the violation itself is
    /// evidence when provable).
    pub causality: u64,
    /// PCOs of distrusted originators rejected at level 2.
    pub distrusted: u64,
    /// PCOs quarantined at level 3.
    pub quarantined: u64,
    /// Quarantined PCOs not kept because the quarantine was full.
    pub quarantine_overflow: u64,
    /// Operations received again (harmless: no effect, no evidence).
    pub replayed: u64,
    /// Tensor bytes that do not match their attestation (relay corruption).
    pub relay_corrupted: u64,
    /// Evidence records that did not verify.
    pub bad_evidence: u64,
    /// Operations refused because the ledger was full.
    pub ledger_full: u64,
    /// Evidence found but not kept because the trust state was full.
    pub evidence_overflow: u64,
}

/// What happened to an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OpStatus {
    /// First time seen: it may enter the contribution set.
    New,
    /// Already known (identical): nothing changes.
    Replay,
    /// Authentic, but a different operation with the same dot is known: the
    /// originator forked; evidence was recorded and the dot keeps its first
    /// operation.
    DotConflict,
}

/// The result of ingesting one signed operation.
#[derive(Clone, Debug, PartialEq)]
pub struct OpOutcome {
    pub status: OpStatus,
    /// Digests of evidence records this operation produced (new ones only).
    pub evidence: Vec<Digest>,
}

/// What to do with a verified PCO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum PcoVerdict {
    /// Level 0: the header is authentic; the payload is not bound and is not
    /// applied.
    HeaderOnly,
    /// Verified at the requested level; new operations may be applied.
    Applied,
    /// Level 3, distrusted originator: authentic, kept, not to be applied
    /// or forwarded.
    Quarantined,
}

/// The result of verifying (and possibly ingesting) a PCO.
#[derive(Clone, Debug, PartialEq)]
pub struct PcoOutcome {
    pub level: Level,
    pub verdict: PcoVerdict,
    /// Dots of payload operations that were new to the node (in payload
    /// order). Empty for `HeaderOnly`; for a pure verification, the dots
    /// that *would* be new.
    pub new_ops: Vec<Dot>,
    /// Payload operations the node already knew (replays).
    pub known_ops: usize,
    /// New evidence records produced (digests). A pure verification
    /// produces none.
    pub evidence: Vec<Digest>,
}

/// Result of checking tensor bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorOutcome {
    /// The bytes hash to the signed digest.
    Valid,
    /// The originator attested bytes that do not match what it signed;
    /// the evidence record's digest.
    Invalid { evidence: Digest },
}

#[derive(Clone, Debug)]
struct StoredOp {
    digest: Digest,
    auth: AuthOp,
}

#[derive(Clone, Debug, Default)]
struct Log {
    frontier: LogFrontier,
    /// `roots[i]`: root after `i + 1` operations.
    roots: Vec<Digest>,
}

struct Analysis {
    evidence: Vec<Evidence>,
    result: Result<Plan, PcoError>,
}

struct Plan {
    verdict: PcoVerdict,
    /// Payload indices of new operations.
    new: Vec<usize>,
    known: usize,
}

/// One node's receiving state.
#[derive(Clone, Debug)]
pub struct Verifier {
    me: NodeId,
    roster: Arc<Roster>,
    ops: BTreeMap<Dot, StoredOp>,
    /// `(originator, model_id, version)` → dot of the first operation seen.
    by_key: BTreeMap<(NodeId, String, u32), Dot>,
    logs: BTreeMap<NodeId, Log>,
    trust: TrustState,
    quarantine: BTreeMap<Digest, Arc<PcoBundle>>,
    counts: DropCounts,
}

impl Verifier {
    /// The verifier of node `me`.
    pub fn new(me: NodeId, roster: Arc<Roster>) -> Verifier {
        Verifier {
            me,
            roster,
            ops: BTreeMap::new(),
            by_key: BTreeMap::new(),
            logs: BTreeMap::new(),
            trust: TrustState::new(),
            quarantine: BTreeMap::new(),
            counts: DropCounts::default(),
        }
    }

    /// The node this verifier belongs to.
    pub fn node(&self) -> NodeId {
        self.me
    }

    /// The roster.
    pub fn roster(&self) -> &Arc<Roster> {
        &self.roster
    }

    /// The node's trust state.
    pub fn trust(&self) -> &TrustState {
        &self.trust
    }

    /// Drop counters.
    pub fn counts(&self) -> &DropCounts {
        &self.counts
    }

    /// Number of operations in the ledger.
    pub fn known_ops(&self) -> usize {
        self.ops.len()
    }

    /// The authenticated operation with this dot, if known.
    pub fn op(&self, dot: Dot) -> Option<&AuthOp> {
        self.ops.get(&dot).map(|s| &s.auth)
    }

    /// How many operations of `originator` are known without a gap (1..=n).
    pub fn known_prefix(&self, originator: NodeId) -> u64 {
        self.logs.get(&originator).map_or(0, |l| l.frontier.size())
    }

    /// Quarantined PCOs, by aggregate.
    pub fn quarantine(&self) -> impl Iterator<Item = &PcoBundle> + '_ {
        self.quarantine.values().map(|b| b.as_ref())
    }

    // ----- signed operations -------------------------------------------

    /// Verifies a signed operation (structure, roster, signature) and records
    /// it. Errors are counted and never produce evidence.
    pub fn ingest_op(&mut self, op: &SignedOp) -> Result<OpOutcome, OpError> {
        let checked = op.verify(&self.roster);
        self.finish_op(op, checked)
    }

    /// [`Verifier::ingest_op`] for many operations, with one batch signature
    /// verification; results in input order, identical to ingesting one by one.
    pub fn ingest_ops_batch(&mut self, ops: &[SignedOp]) -> Vec<Result<OpOutcome, OpError>> {
        let checked = verify_ops_batch(&self.roster, ops);
        ops.iter()
            .zip(checked)
            .map(|(op, c)| self.finish_op(op, c))
            .collect()
    }

    fn finish_op(
        &mut self,
        op: &SignedOp,
        checked: Result<(), OpError>,
    ) -> Result<OpOutcome, OpError> {
        if let Err(e) = checked {
            match &e {
                OpError::Malformed(_) => self.counts.malformed += 1,
                OpError::UnknownIdentity(_) => self.counts.unknown_identity += 1,
                OpError::BadSignature { .. } => self.counts.bad_signature += 1,
                OpError::LedgerFull(_) => self.counts.ledger_full += 1,
            }
            return Err(e);
        }
        let digest = op.digest();
        let (status, evidence) = self.record(AuthOp::from(op.clone()), digest);
        let evidence = self.add_evidence(evidence);
        match status {
            Some(s) => Ok(OpOutcome {
                status: s,
                evidence,
            }),
            None => {
                self.counts.ledger_full += 1;
                Err(OpError::LedgerFull(LEDGER_OPS_MAX))
            }
        }
    }

    /// Records an authenticated operation. Returns its status (`None` if the
    /// ledger is full) and the evidence it reveals.
    fn record(&mut self, auth: AuthOp, digest: Digest) -> (Option<OpStatus>, Vec<Evidence>) {
        let dot = auth.body.dot;
        if let Some(known) = self.ops.get(&dot) {
            if known.digest == digest {
                self.counts.replayed += 1;
                return (Some(OpStatus::Replay), Vec::new());
            }
            let e = Evidence::dot_reuse(known.auth.clone(), auth);
            return (Some(OpStatus::DotConflict), vec![e]);
        }
        if self.ops.len() >= LEDGER_OPS_MAX {
            return (None, Vec::new());
        }
        let mut evidence = Vec::new();
        let o = auth.body.originator;
        let key = (o, auth.body.model_id.clone(), auth.body.version);
        match self.by_key.get(&key) {
            Some(first) => {
                let first = &self.ops[first].auth;
                if first.body.content() != auth.body.content() {
                    evidence.push(Evidence::equivocation(first.clone(), auth.clone()));
                }
            }
            None => {
                self.by_key.insert(key, dot);
            }
        }
        self.ops.insert(dot, StoredOp { digest, auth });
        // Extend the originator's dense prefix as far as it now goes.
        let log = self.logs.entry(o).or_default();
        loop {
            let next = Dot {
                replica: o,
                counter: log.frontier.size() + 1,
            };
            match self.ops.get(&next) {
                Some(s) => {
                    log.frontier.push(&s.digest);
                    log.roots.push(log.frontier.root());
                }
                None => break,
            }
        }
        (Some(OpStatus::New), evidence)
    }

    /// Verifies and inserts evidence this node built itself; returns the
    /// digests of new records.
    fn add_evidence(&mut self, evidence: Vec<Evidence>) -> Vec<Digest> {
        let mut out = Vec::new();
        for e in evidence {
            // Built from authenticated parts, so verification cannot fail
            // unless there is a bug; a failure is counted, never inserted.
            match e.verify(&self.roster) {
                Ok(v) => {
                    let d = v.digest();
                    match self.trust.insert(v) {
                        Ok(true) => out.push(d),
                        Ok(false) => {}
                        Err(_) => self.counts.evidence_overflow += 1,
                    }
                }
                Err(_) => self.counts.bad_evidence += 1,
            }
        }
        out
    }

    // ----- tensors -----------------------------------------------------

    /// Checks tensor bytes received with the originator's attestation for
    /// the known operation `dot`. Bytes that do not match the attestation are
    /// relay corruption (counted, nobody blamed); an attestation that matches
    /// the bytes but not the signed digest is evidence.
    pub fn check_tensor(
        &mut self,
        dot: Dot,
        attestation: &TensorAttestation,
        bytes: &[u8],
    ) -> Result<TensorOutcome, TensorCheckError> {
        let stored = self.ops.get(&dot).ok_or(TensorCheckError::UnknownOp(dot))?;
        if attestation.originator != stored.auth.body.originator || attestation.op != stored.digest
        {
            return Err(TensorCheckError::WrongOp);
        }
        let computed = hash::digest(Domain::Tensor, bytes);
        if computed != attestation.bytes || bytes.len() as u64 != attestation.len {
            self.counts.relay_corrupted += 1;
            return Err(TensorCheckError::RelayMismatch {
                attested: attestation.bytes,
                computed,
            });
        }
        if let Err(e) = attestation.verify(&self.roster) {
            self.counts.bad_signature += 1;
            return Err(match e {
                OpError::BadSignature { reason, .. } => TensorCheckError::BadSignature(reason),
                other => TensorCheckError::Op(other),
            });
        }
        if computed == stored.auth.body.tensor {
            return Ok(TensorOutcome::Valid);
        }
        let e = Evidence::InvalidContent {
            op: stored.auth.clone(),
            attestation: attestation.clone(),
        };
        let digest = e.digest();
        self.add_evidence(vec![e]);
        if self.trust.contains(&digest) {
            Ok(TensorOutcome::Invalid { evidence: digest })
        } else {
            Err(TensorCheckError::Evidence(EvidenceError::Full(
                super::state::EVIDENCE_MAX,
            )))
        }
    }

    // ----- evidence ----------------------------------------------------

    /// Verifies a record received from a peer and adds it.
    pub fn ingest_evidence(&mut self, e: Evidence) -> Result<bool, EvidenceError> {
        let r = self.trust.ingest(&self.roster, e);
        if r.is_err() {
            self.counts.bad_evidence += 1;
        }
        r
    }

    /// Joins a trust state whose records were verified (e.g. another
    /// in-process node's).
    pub fn join_trust(&mut self, other: &TrustState) -> Result<bool, EvidenceError> {
        self.trust.join(other)
    }

    // ----- PCOs --------------------------------------------------------

    /// Verifies a PCO at `level` without changing anything (no recording, no
    /// evidence). See [`Level`] for what each level checks.
    pub fn verify_pco(&self, bundle: &PcoBundle, level: Level) -> Result<PcoOutcome, PcoError> {
        let sig = bundle.header.verify_signature(&self.roster);
        let a = self.analyse(bundle, None, level, sig);
        a.result
            .map(|p| self.outcome(bundle, level, &p, Vec::new()))
    }

    /// Verifies many PCOs without changing anything, with one batch
    /// signature verification. Each PCO is checked against the current state
    /// only (a later PCO does not see an earlier one's operations).
    pub fn verify_pco_batch(
        &self,
        bundles: &[PcoBundle],
        level: Level,
    ) -> Vec<Result<PcoOutcome, PcoError>> {
        let sigs = verify_headers_batch(&self.roster, bundles);
        bundles
            .iter()
            .zip(sigs)
            .map(|(b, sig)| {
                let a = self.analyse(b, None, level, sig);
                a.result.map(|p| self.outcome(b, level, &p, Vec::new()))
            })
            .collect()
    }

    /// Verifies a PCO at `level` and ingests it: new payload operations are
    /// recorded (unless level 0), evidence found is added to the trust state
    /// even when the PCO is rejected, and every rejection is counted.
    pub fn ingest_pco(&mut self, bundle: &PcoBundle, level: Level) -> Result<PcoOutcome, PcoError> {
        let sig = bundle.header.verify_signature(&self.roster);
        self.finish_pco(Arc::new(bundle.clone()), level, sig)
    }

    /// [`Verifier::ingest_pco`] for many PCOs, with one batch signature
    /// verification; results in input order, identical to ingesting one by one.
    pub fn ingest_pco_batch(
        &mut self,
        bundles: &[PcoBundle],
        level: Level,
    ) -> Vec<Result<PcoOutcome, PcoError>> {
        let sigs = verify_headers_batch(&self.roster, bundles);
        bundles
            .iter()
            .zip(sigs)
            .map(|(b, sig)| self.finish_pco(Arc::new(b.clone()), level, sig))
            .collect()
    }

    fn finish_pco(
        &mut self,
        bundle: Arc<PcoBundle>,
        level: Level,
        sig: Result<(), PcoError>,
    ) -> Result<PcoOutcome, PcoError> {
        let a = self.analyse(&bundle, Some(&bundle), level, sig);
        let evidence = self.add_evidence(a.evidence);
        let plan = match a.result {
            Ok(p) => p,
            Err(e) => {
                self.count_pco(&e);
                return Err(e);
            }
        };
        let mut new_ops = Vec::with_capacity(plan.new.len());
        let mut more_evidence = Vec::new();
        for &i in &plan.new {
            let body = bundle.claims.payload[i].clone();
            let dot = body.dot;
            let digest = body.digest();
            let auth = AuthOp {
                body,
                proof: OpProof::Pco(bundle.clone()),
            };
            match self.record(auth, digest) {
                (Some(OpStatus::New), ev) => {
                    new_ops.push(dot);
                    more_evidence.extend(ev);
                }
                (Some(_), ev) => more_evidence.extend(ev),
                (None, _) => {
                    self.counts.ledger_full += 1;
                    return Err(PcoError::LedgerFull(LEDGER_OPS_MAX));
                }
            }
        }
        let mut evidence = evidence;
        evidence.extend(self.add_evidence(more_evidence));
        if plan.known > 0 && plan.new.is_empty() {
            self.counts.replayed += 1;
        }
        if plan.verdict == PcoVerdict::Quarantined {
            self.counts.quarantined += 1;
            if self.quarantine.len() < QUARANTINE_MAX {
                self.quarantine
                    .insert(bundle.header.aggregate, bundle.clone());
            } else if !self.quarantine.contains_key(&bundle.header.aggregate) {
                self.counts.quarantine_overflow += 1;
            }
        }
        Ok(PcoOutcome {
            level,
            verdict: plan.verdict,
            new_ops,
            known_ops: plan.known,
            evidence,
        })
    }

    fn outcome(
        &self,
        bundle: &PcoBundle,
        level: Level,
        plan: &Plan,
        evidence: Vec<Digest>,
    ) -> PcoOutcome {
        PcoOutcome {
            level,
            verdict: plan.verdict,
            new_ops: plan
                .new
                .iter()
                .map(|&i| bundle.claims.payload[i].dot)
                .collect(),
            known_ops: plan.known,
            evidence,
        }
    }

    fn count_pco(&mut self, e: &PcoError) {
        let c = &mut self.counts;
        match e {
            PcoError::Wire(_)
            | PcoError::PayloadSize { .. }
            | PcoError::Malformed { .. }
            | PcoError::ForeignOp { .. } => c.malformed += 1,
            PcoError::UnknownIdentity(_) => c.unknown_identity += 1,
            PcoError::BadSignature { .. } => c.bad_signature += 1,
            PcoError::BadContext(_)
            | PcoError::AggregateMismatch
            | PcoError::LogicalTimeMismatch { .. } => c.unbound_claims += 1,
            PcoError::MissingHistory { .. } => c.missing_history += 1,
            PcoError::RootMismatch { .. } => c.root_mismatch += 1,
            PcoError::BoundsNotMinimal { .. } => c.not_minimal += 1,
            PcoError::DotConflict { .. }
            | PcoError::ContextBehindDot { .. }
            | PcoError::ContextAhead { .. } => c.causality += 1,
            PcoError::Distrusted { .. } => c.distrusted += 1,
            PcoError::LedgerFull(_) => c.ledger_full += 1,
        }
    }

    /// Every check of `level`, without side effects. Evidence is collected
    /// as soon as the payload is bound to the signature (level ≥ 1), whether
    /// or not a later check fails.
    fn analyse(
        &self,
        bundle: &PcoBundle,
        shared: Option<&Arc<PcoBundle>>,
        level: Level,
        sig: Result<(), PcoError>,
    ) -> Analysis {
        let fail = |e: PcoError, evidence: Vec<Evidence>| Analysis {
            evidence,
            result: Err(e),
        };
        if let Err(e) = sig {
            return fail(e, Vec::new());
        }
        if level == Level::Signature {
            return Analysis {
                evidence: Vec::new(),
                result: Ok(Plan {
                    verdict: PcoVerdict::HeaderOnly,
                    new: Vec::new(),
                    known: 0,
                }),
            };
        }
        // Level 1: the claims are bound to the signature.
        if let Err(e) = bundle.check_claims(&self.roster) {
            return fail(e, Vec::new());
        }
        let o = bundle.originator();
        let (lo, hi) = bundle.bounds();
        let payload = &bundle.claims.payload;
        let digests: Vec<Digest> = payload.iter().map(|op| op.digest()).collect();
        // The bundle is shared into evidence only when evidence is found.
        let cell: OnceCell<Arc<PcoBundle>> = OnceCell::new();
        let arc = || match shared {
            Some(a) => a.clone(),
            None => cell.get_or_init(|| Arc::new(bundle.clone())).clone(),
        };
        let auth = |i: usize| AuthOp {
            body: payload[i].clone(),
            proof: OpProof::Pco(arc()),
        };

        // Evidence: everything the authenticated payload contradicts.
        let mut evidence = Vec::new();
        let own = bundle.claims.context.get(o);
        let context_behind = own < hi;
        if context_behind {
            evidence.push(Evidence::Causality(CausalityViolation::ContextBehindDot {
                pco: arc(),
            }));
        }
        let mut conflict: Option<Dot> = None;
        let mut by_counter: BTreeMap<u64, usize> = BTreeMap::new();
        let mut by_key: BTreeMap<(&str, u32), usize> = BTreeMap::new();
        let mut new = Vec::new();
        let mut known = 0usize;
        for (i, op) in payload.iter().enumerate() {
            let dot = op.dot;
            if let Some(&j) = by_counter.get(&dot.counter) {
                if digests[j] != digests[i] {
                    evidence.push(Evidence::dot_reuse(auth(j), auth(i)));
                    conflict.get_or_insert(dot);
                }
                continue;
            }
            by_counter.insert(dot.counter, i);
            match self.ops.get(&dot) {
                Some(k) if k.digest == digests[i] => known += 1,
                Some(k) => {
                    evidence.push(Evidence::dot_reuse(k.auth.clone(), auth(i)));
                    conflict.get_or_insert(dot);
                }
                None => {
                    let key = (o, op.model_id.clone(), op.version);
                    if let Some(first) = self.by_key.get(&key) {
                        let first = &self.ops[first].auth;
                        if first.body.content() != op.content() {
                            evidence.push(Evidence::equivocation(first.clone(), auth(i)));
                        }
                    } else if let Some(&j) = by_key.get(&(op.model_id.as_str(), op.version)) {
                        if payload[j].content() != op.content() {
                            evidence.push(Evidence::equivocation(auth(j), auth(i)));
                        }
                    }
                    by_key
                        .entry((op.model_id.as_str(), op.version))
                        .or_insert(i);
                    new.push(i);
                }
            }
        }

        // Level 1: the Merkle root after applying.
        if lo == 0 || lo > hi {
            return fail(
                PcoError::BoundsNotMinimal {
                    lo,
                    hi,
                    reason: "empty or inverted bounds",
                },
                evidence,
            );
        }
        let empty = Log::default();
        let log = self.logs.get(&o).unwrap_or(&empty);
        let have = log.frontier.size();
        let computed = if hi <= have {
            log.roots[(hi - 1) as usize]
        } else {
            if lo > have + 1 {
                return fail(
                    PcoError::MissingHistory {
                        originator: o,
                        have,
                        need: lo - 1,
                    },
                    evidence,
                );
            }
            let mut scratch = log.frontier.clone();
            for c in have + 1..=hi {
                match by_counter.get(&c) {
                    Some(&i) => scratch.push(&digests[i]),
                    None => {
                        return fail(
                            PcoError::MissingHistory {
                                originator: o,
                                have: c - 1,
                                need: hi,
                            },
                            evidence,
                        )
                    }
                }
            }
            scratch.root()
        };
        if computed != bundle.claims.log_root {
            return fail(
                PcoError::RootMismatch {
                    claimed: bundle.claims.log_root,
                    computed,
                },
                evidence,
            );
        }
        let plan = |verdict| Plan {
            verdict,
            new: new.clone(),
            known,
        };
        if level == Level::Content {
            return Analysis {
                result: Ok(plan(PcoVerdict::Applied)),
                evidence,
            };
        }

        // Level 2: minimality, causality, trust.
        let dense = payload.len() as u64 == hi - lo + 1
            && payload
                .iter()
                .enumerate()
                .all(|(i, op)| op.dot.counter == lo + i as u64);
        if !dense {
            return fail(
                PcoError::BoundsNotMinimal {
                    lo,
                    hi,
                    reason: "the payload is not exactly the operations lo..=hi in order",
                },
                evidence,
            );
        }
        if let Some(dot) = conflict {
            return fail(PcoError::DotConflict { dot }, evidence);
        }
        if context_behind {
            return fail(PcoError::ContextBehindDot { own, hi }, evidence);
        }
        let claimed = bundle.claims.context.get(self.me);
        let made = self.known_prefix(self.me);
        if o != self.me && claimed > made {
            return fail(PcoError::ContextAhead { claimed, made }, evidence);
        }
        let trust = self.trust.trust(o);
        let verdict = if trust >= REJECT_THRESHOLD {
            PcoVerdict::Applied
        } else if level == Level::Quarantine {
            PcoVerdict::Quarantined
        } else {
            return fail(
                PcoError::Distrusted {
                    originator: o,
                    trust,
                },
                evidence,
            );
        };
        Analysis {
            result: Ok(plan(verdict)),
            evidence,
        }
    }
}

/// Structure, roster and one batch signature check for signed operations.
pub fn verify_ops_batch(roster: &Roster, ops: &[SignedOp]) -> Vec<Result<(), OpError>> {
    let mut out: Vec<Result<(), OpError>> = Vec::with_capacity(ops.len());
    let mut digests = Vec::new();
    let mut idx = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = op.body.validate() {
            out.push(Err(e.into()));
            continue;
        }
        match roster.key(op.body.originator) {
            None => out.push(Err(OpError::UnknownIdentity(op.body.originator))),
            Some(_) => {
                out.push(Ok(()));
                digests.push(op.digest());
                idx.push(i);
            }
        }
    }
    let items: Vec<BatchItem> = idx
        .iter()
        .zip(&digests)
        .map(|(&i, d)| {
            let key = roster.key(ops[i].body.originator).expect("checked above");
            (key, d.0.as_slice(), &ops[i].signature)
        })
        .collect();
    for (r, &i) in sig::verify_batch(&items).into_iter().zip(&idx) {
        if let Err(reason) = r {
            out[i] = Err(OpError::BadSignature {
                originator: ops[i].body.originator,
                reason,
            });
        }
    }
    out
}

/// Roster and one batch signature check for PCO headers (level 0 of each).
pub fn verify_headers_batch(roster: &Roster, bundles: &[PcoBundle]) -> Vec<Result<(), PcoError>> {
    let mut out: Vec<Result<(), PcoError>> = Vec::with_capacity(bundles.len());
    let mut msgs = Vec::new();
    let mut idx = Vec::new();
    for (i, b) in bundles.iter().enumerate() {
        let o = b.originator();
        if roster.key(o).is_none() {
            out.push(Err(PcoError::UnknownIdentity(o)));
        } else {
            out.push(Ok(()));
            msgs.push(b.header.signed_message());
            idx.push(i);
        }
    }
    let items: Vec<BatchItem> = idx
        .iter()
        .zip(&msgs)
        .map(|(&i, m)| {
            let key = roster.key(bundles[i].originator()).expect("checked above");
            (key, m.as_slice(), &bundles[i].header.signature)
        })
        .collect();
    for (r, &i) in sig::verify_batch(&items).into_iter().zip(&idx) {
        if let Err(reason) = r {
            out[i] = Err(PcoError::BadSignature {
                originator: bundles[i].originator(),
                reason,
            });
        }
    }
    out
}
