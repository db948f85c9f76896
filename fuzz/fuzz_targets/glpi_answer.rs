//! Fuzz target: every decoder of a GLPI answer: answer types, error pair, entities, search cells, probes
//! (input in `esia_glpi::fuzzing::glpi_answer`, invariants in the crate's `src/invariants/glpi.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| esia_glpi::fuzzing::glpi_answer(data));
