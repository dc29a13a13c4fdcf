//! Digest-diff anti-entropy (`--anti-entropy merkle`): peers compare the
//! roots of their replica tries ([`ReplicaTrie`]) and descend only into
//! subtrees whose hashes differ, then send the *components* under the
//! differing subtrees (Merkle Search Trees, Auvolat & Taïani 2019, over a
//! fixed fan-out-16 trie keyed by a hash of the replica id).
//!
//! A session between an initiator `A` (the node that chose the contact) and
//! a responder `B` is a chain of [`MerklePart`]s, one hop per round:
//!
//! 1. `A → B`: A's root (32 bytes). Equal at B: the session ends.
//! 2. whoever receives a part compares the hashes it carries with its own
//!    and, for every differing node, either *descends* (sends its complete
//!    list of non-empty children with their hashes) or, when its side of
//!    the node holds at most [`SMALL`] components (or the other side's is
//!    empty), sends its components there (if data flows its way) and asks
//!    for the other side's (if data flows the other way);
//! 3. a `want` is answered with the components asked for.
//!
//! Data flows towards the initiator for pull, towards the responder for
//! push, both ways for push-pull. Every data item is a projection of the
//! sender's state at the time (below it in the lattice), so joining it is
//! always safe: loss, duplication, delay and reordering only cost rounds,
//! and a session cut short by a lost part leaves the work to a later one.

use crate::crdt::{ContributionSet, TriePath, TRIE_DEPTH, TRIE_FANOUT};
use crate::hash::Digest;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A node whose side holds at most this many components is settled by
/// sending components instead of descending further (one component costs
/// about as much as three child hashes).
pub const SMALL: usize = 4;

/// Most parts one Merkle message may carry.
pub const PARTS_MAX: usize = 4_096;
/// Most probes or wants one part may carry.
pub const PROBES_MAX: usize = 1 << 20;

/// One hop of one session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MerklePart {
    /// The sender opened the session.
    pub from_initiator: bool,
    /// Data flows to the initiator (pull).
    pub to_initiator: bool,
    /// Data flows to the responder (push).
    pub to_responder: bool,
    /// Opening: the initiator's root.
    pub root: Option<Digest>,
    /// For each node: the sender's complete list of non-empty children.
    pub probes: Vec<(TriePath, Vec<(u8, Digest)>)>,
    /// Nodes whose components the sender asks for.
    pub wants: Vec<TriePath>,
    /// The sender's components under nodes found to differ.
    pub data: Option<Arc<ContributionSet>>,
}

impl MerklePart {
    /// The opening part of a session whose initiator has root `root`.
    pub fn open(root: Digest, to_initiator: bool, to_responder: bool) -> MerklePart {
        MerklePart {
            from_initiator: true,
            to_initiator,
            to_responder,
            root: Some(root),
            probes: Vec::new(),
            wants: Vec::new(),
            data: None,
        }
    }

    /// Checks a decoded part: valid paths, child indices and limits.
    pub fn check(&self) -> Result<(), String> {
        if self.probes.len() > PROBES_MAX || self.wants.len() > PROBES_MAX {
            return Err("merkle part exceeds its limits".into());
        }
        for (p, children) in &self.probes {
            if !p.is_valid() || p.level >= TRIE_DEPTH {
                return Err(format!("merkle probe at an invalid node {p:?}"));
            }
            if children.len() > TRIE_FANOUT as usize
                || children.windows(2).any(|w| w[0].0 >= w[1].0)
                || children.iter().any(|c| c.0 >= TRIE_FANOUT)
            {
                return Err("merkle probe children are not 16 sorted slots".into());
            }
        }
        if let Some(w) = self.wants.iter().find(|w| !w.is_valid()) {
            return Err(format!("merkle want of an invalid node {w:?}"));
        }
        if let Some(d) = &self.data {
            d.check_invariants()?;
        }
        Ok(())
    }
}

/// Everything one node sends one peer in one round (parts of any number of
/// sessions), so a link carries at most one Merkle message per round.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MerkleMsg {
    pub parts: Vec<MerklePart>,
}

impl MerkleMsg {
    pub fn check(&self) -> Result<(), String> {
        if self.parts.len() > PARTS_MAX {
            return Err("merkle message has too many parts".into());
        }
        self.parts.iter().try_for_each(MerklePart::check)
    }
}

/// The reply of a node whose state is `state` to a part it received, or
/// `None` when the session ends here.
pub fn respond(state: &ContributionSet, part: &MerklePart) -> Option<MerklePart> {
    let trie = state.trie();
    let me_initiator = !part.from_initiator;
    // Whether data may flow from me to the peer, and from the peer to me.
    let (send_ok, want_ok) = if me_initiator {
        (part.to_responder, part.to_initiator)
    } else {
        (part.to_initiator, part.to_responder)
    };
    let mut out = MerklePart {
        from_initiator: me_initiator,
        to_initiator: part.to_initiator,
        to_responder: part.to_responder,
        root: None,
        probes: Vec::new(),
        wants: Vec::new(),
        data: None,
    };
    let mut send: Vec<TriePath> = Vec::new();
    let mut differ = |path: TriePath, peer_empty: bool, out: &mut MerklePart| {
        let mine = trie.count(path);
        if mine == 0 {
            if want_ok && !peer_empty {
                out.wants.push(path);
            }
        } else if peer_empty || mine <= SMALL || path.level >= TRIE_DEPTH {
            if send_ok {
                send.push(path);
            }
            if want_ok && !peer_empty {
                out.wants.push(path);
            }
        } else {
            out.probes.push((path, trie.children(path)));
        }
    };
    if let Some(root) = part.root {
        if root != trie.root() {
            differ(TriePath::ROOT, root == Digest::ZERO, &mut out);
        }
    }
    for (path, theirs) in &part.probes {
        let ours = trie.children(*path);
        let (mut a, mut b) = (0, 0);
        for i in 0..TRIE_FANOUT {
            let o = ours.get(a).filter(|c| c.0 == i).map(|c| c.1);
            let t = theirs.get(b).filter(|c| c.0 == i).map(|c| c.1);
            a += usize::from(o.is_some());
            b += usize::from(t.is_some());
            if o != t {
                differ(path.child(i), t.is_none(), &mut out);
            }
        }
    }
    // A want is always answered: the asker decided the direction.
    send.extend(part.wants.iter().copied());
    if !send.is_empty() {
        let projection = state.trie_projection(&send);
        if !projection.context().entries().is_empty() {
            out.data = Some(Arc::new(projection));
        }
    }
    let empty = out.probes.is_empty() && out.wants.is_empty() && out.data.is_none();
    (!empty).then_some(out)
}
