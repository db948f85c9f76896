//! The subcommands, thin: each parses what it was given, calls the engine
//! (or `check`'s probes, or the state), and prints through `output`. The
//! exit status comes from the error they return (`error.rs`).
//!
//! Imports `engine`, `state`, `config`, `core`, `text`, `mail`, `output`
//! and `error`; nothing below imports from here.

mod check;
mod flush;
mod generate;
mod globals;
mod health;
mod notify;
mod rebuild;
mod reconcile;
mod render;
mod state;

use std::path::PathBuf;

use crate::cli::{Cli, Command, StateCommand};
use crate::config;
use crate::core::HostStamp;
use crate::error::Error;
use globals::Globals;

/// Runs the command of `cli` (on the runtime `lib::run` started).
pub(crate) async fn dispatch(cli: Cli, started: Option<HostStamp>) -> Result<(), Error> {
    let globals = Globals {
        config_path: cli
            .config
            .clone()
            .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH)),
        config_named: cli.config.is_some(),
        state_dir: cli.state_dir.clone(),
        json: cli.json,
        started,
    };
    match cli.command {
        Command::Notify(args) => notify::run(&globals, &args).await,
        Command::Flush => flush::run(&globals).await,
        Command::Check => check::run(&globals).await,
        Command::Render(args) => render::run(&globals, &args),
        Command::Health(args) => health::run(&globals, args).await,
        Command::Reconcile(args) => reconcile::run(&globals, &args).await,
        Command::State(StateCommand::List) => state::list(&globals).await,
        Command::State(StateCommand::Show(k)) => state::show(&globals, k.key()).await,
        Command::State(StateCommand::Forget(k)) => state::forget(&globals, k.key()).await,
        Command::State(StateCommand::Adopt(k)) => state::adopt(&globals, k.key()).await,
        Command::State(StateCommand::Rebuild) => rebuild::run(&globals).await,
        Command::State(StateCommand::Migrate) => state::migrate(&globals).await,
        Command::State(StateCommand::Import) => state::import(&globals).await,
        Command::Generate { dir } => generate::run(&dir),
    }
}
