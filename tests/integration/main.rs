//! The single integration-test binary: every test runs the real `esia-glpi`
//! binary as a process against the GLPI simulator (a real HTTP server).
#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

mod support;

mod check;
mod cli;
mod completions;
mod config;
mod contract;
mod durability;
mod engines;
mod health;
mod hostile;
mod lifecycle;
mod local_state;
mod mail;
mod mistakes;
mod numbering;
mod oauth;
mod operations;
mod order;
mod pg;
mod pg_check;
mod reconcile;
mod reconcile_engines;
mod security;
mod types;
mod upgrade;
mod wiring;
