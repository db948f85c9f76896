//! `render`: the title and content a `notify` would send, contacting nothing
//! (neither GLPI nor the state directory).

use serde::Serialize;

use super::globals::{Globals, monitor_env};
use crate::cli::NotifyArgs;
use crate::core::Event;
use crate::engine::{self, Clock};
use crate::error::Error;
use crate::output;

#[derive(Debug, Serialize)]
struct Rendered {
    title: String,
    content: String,
    unknown_variables: Vec<String>,
}

pub(crate) fn run(globals: &Globals, args: &NotifyArgs) -> Result<(), Error> {
    let config = globals.load_config()?;
    let clock = Clock::system();
    let resolved = Event::resolve(
        &args.given(),
        &monitor_env(),
        config.default_priority,
        clock.now(),
    )?;
    for w in &resolved.warnings {
        tracing::warn!("{w}");
    }
    let event = resolved.event;
    let texts = engine::ticket_texts(&config, &event, None, None, &clock.date(event.time));
    // Monitored-world text never reaches a terminal with its control characters.
    let human = format!(
        "title: {}\ncontent:\n{}",
        output::sanitize(&texts.title),
        output::sanitize(&texts.content)
    );
    output::emit(
        globals.json,
        &Rendered {
            title: texts.title,
            content: texts.content,
            unknown_variables: texts.unknown,
        },
        &human,
    )?;
    Ok(())
}
