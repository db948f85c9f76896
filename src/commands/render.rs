//! `render`: the title and content a `notify` would send, contacting nothing
//! (neither GLPI nor the state directory).

use serde::Serialize;

use super::{Globals, local_date};
use crate::cli::NotifyArgs;
use crate::error::Error;
use crate::event::{Event, MonitorEnv};
use crate::{output, text};

#[derive(Debug, Serialize)]
struct Rendered {
    title: String,
    content: String,
    unknown_variables: Vec<String>,
}

pub(crate) fn run(globals: &Globals, args: &NotifyArgs) -> Result<(), Error> {
    let config = globals.load_config()?;
    let event = Event::resolve(
        args,
        &MonitorEnv::capture(),
        config.default_priority,
        jiff::Timestamp::now(),
    )?;
    let vars = text::vars(&event, None, &local_date(event.time), config.lang);
    let title = text::title(&config.tpl_title, &vars);
    let content = text::content(
        config.tpl_content.as_deref(),
        &vars,
        config.lang,
        None,
        &event.key,
    );
    let mut unknown = title.unknown;
    for name in content.unknown {
        if !unknown.contains(&name) {
            unknown.push(name);
        }
    }
    for name in &unknown {
        tracing::warn!("unknown template variable %{name} left as written");
    }
    // Monitored-world text never reaches a terminal with its control characters.
    let human = format!(
        "title: {}\ncontent:\n{}",
        output::sanitize(&title.text),
        output::sanitize(&content.text)
    );
    output::text(
        globals.json,
        &Rendered {
            title: title.text,
            content: content.text,
            unknown_variables: unknown,
        },
        &human,
    );
    Ok(())
}
