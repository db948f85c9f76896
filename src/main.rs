//! The `esia-glpi` binary: everything happens in [`esia_glpi::run`].

fn main() -> std::process::ExitCode {
    esia_glpi::run(std::env::args_os())
}
