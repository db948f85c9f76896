//! The single integration-test binary: every test runs the real `esia-glpi`
//! binary as a process against the GLPI simulator.
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod contract;
mod support;
