//! Fuzz target: the configuration parser and validator: no panic, one-line errors, no token value shown
//! (invariants in `esia_glpi::fuzzing::config`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| esia_glpi::fuzzing::config(data));
