//! Test support: the GLPI simulator and the command-running environment.
#![allow(dead_code, unreachable_pub)]

pub mod glpi_sim;
