//! Fuzz target: the %-variable renderer, ticket title/content/follow-up/solution and mail texts
//! (input in `esia_glpi::fuzzing::template`, invariants in the crate's `src/invariants/text.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| esia_glpi::fuzzing::template(data));
