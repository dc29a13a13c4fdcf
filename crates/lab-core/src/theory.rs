//! Gossip theory: exact finite-n expectations and asymptotics. To be written.
