//! Synthetic fine-tunes (base + low-rank task vectors + noise). To be written.
