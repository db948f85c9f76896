//! Fuzz target: the readers of the monitoring engine's state for `reconcile`
//! (`status.dat`, Livestatus and Icinga 2 answers; input in
//! `esia_glpi::fuzzing::engine_state`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| esia_glpi::fuzzing::engine_state(data));
