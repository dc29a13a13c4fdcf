//! Conformance against reference vector files (see shared/vectors/README.md). To be written.
