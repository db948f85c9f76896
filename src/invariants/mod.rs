//! The invariants of the three places where esia-glpi reads text it does not
//! control, each stated once: the configuration parser (`config.rs`), the
//! template renderer and every ticket and mail text built on it (`text.rs`),
//! and the decoders of GLPI's answers (`glpi.rs`).
//!
//! A check function takes values however they were made, runs the crate's
//! own code on them (nothing is re-implemented) and panics when an invariant
//! breaks. Two callers make the values:
//!
//! - `crate::fuzzing`, from the bytes of the cargo-fuzz targets in `fuzz/`
//!   (libFuzzer reports the panic as a crash);
//! - the property tests, `crate::proptests` and `glpi/proptests.rs`, from
//!   random values in the normal suite (proptest catches the panic, shrinks
//!   the input and reports it).
//!
//! Compiled for the tests and with the `fuzzing` feature only; no I/O.

pub(crate) mod config;
pub(crate) mod glpi;
pub(crate) mod text;
