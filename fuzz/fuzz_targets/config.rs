//! Fuzz target: the configuration parser and validator: no panic, one-line errors, no token value shown
//! (input in `esia_glpi::fuzzing::config`, invariants in the crate's `src/invariants/config.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| esia_glpi::fuzzing::config(data));
