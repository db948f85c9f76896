//! `generate DIR` (hidden): the man pages and shell completions, generated
//! from the clap model itself so they can never drift from the flags.
//!
//! Run once at packaging time (`pkg/build-deb.sh`): the binary that is
//! packaged writes its own documentation, as xh's `--generate` does. A build
//! script could not reach the clap model (it lives in the library and uses its
//! types), and an `xtask` crate would be one more build on a 2-core CI.
//!
//! Writes `DIR/man/`: `esia-glpi.1`, one page per visible command
//! (`esia-glpi-notify.1`, ...), the alert programs' `SEND_TICKET_GLPI.1` and
//! `SEND_TICKET_GLPI_MAIL.1` (`man.rs`, with the prose of `prose/`), and
//! `glpi.conf.5` (`conf/`): generated where the clap model knows (names,
//! synopses, options, the exit-status table `--help` prints), hand-written
//! where it cannot (descriptions, files, environment, examples), the
//! hand-written parts held to the code by unit tests. And
//! `DIR/completions/{esia-glpi.bash,_esia-glpi,esia-glpi.fish}`
//! (`completions.rs`).

use std::path::{Path, PathBuf};

use clap::CommandFactory as _;

mod completions;
mod conf;
mod man;
mod prose;
mod roff;

use crate::cli::Cli;
use crate::error::Error;

pub(crate) fn run(dir: &Path) -> Result<(), Error> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    for d in [&man, &completions] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let cmd = Cli::command();
    let mut pages = man::pages(&cmd);
    pages.push(("glpi.conf.5".to_owned(), conf::page()));
    for (name, text) in pages {
        let path = man.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    for (shell, name) in completions::SHELLS {
        let path = completions.join(name);
        std::fs::write(&path, completions::script(shell, &cmd)).map_err(io(&path))?;
    }
    tracing::info!("man pages and completions written under {}", dir.display());
    Ok(())
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path: PathBuf = path.to_owned();
    move |source| Error::Generate { path, source }
}
