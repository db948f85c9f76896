//! esia-glpi turns monitoring alerts (Esia, Nagios family) into GLPI tickets.
//!
//! `main.rs` only forwards to [`run`]. Pure modules (`cli`, `event`, `template`,
//! `text`, `lifecycle`) never touch the network, the filesystem or the clock;
//! edge modules (`glpi`, `state`, `output`, `logging`) do the I/O; `commands`
//! joins the two.

mod config;
mod template;
