//! `state rebuild`: recreate lost records from GLPI (the engine does it) and
//! say, for each open ticket that carries a marker, what became of it.

use std::time::Instant;

use super::globals::{Globals, finishing};
use crate::error::Error;
use crate::output;

pub(crate) async fn run(globals: &Globals) -> Result<(), Error> {
    let config = globals.load_glpi_config()?;
    let store = globals.open_store(&config)?;
    let engine = globals.engine(&config, &store, Instant::now());
    let lines = finishing(&store, async { Ok(engine.rebuild().await?) }).await?;
    let recorded = lines.iter().filter(|l| l.outcome == "recorded").count();
    let mut text = vec![format!(
        "{} open ticket(s) carry a marker; {recorded} record(s) rebuilt",
        lines.len()
    )];
    text.extend(lines.iter().map(|l| {
        let key = output::sanitize(&l.key.to_string());
        format!("  {key} ticket {} {}", l.ticket_id, l.outcome)
    }));
    let text = text.join("\n");
    output::emit(globals.json, &lines, &text)?;
    Ok(())
}
