//! `reconcile`: placeholder.

use super::globals::Globals;
use crate::cli::ReconcileArgs;
use crate::error::Error;

pub(crate) async fn run(_globals: &Globals, _args: &ReconcileArgs) -> Result<(), Error> {
    Ok(())
}
