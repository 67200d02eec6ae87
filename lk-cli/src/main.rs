//! `lk-cli`: the administrator's command line for the client cabinet.
//!
//! Every command reads the same `lk.toml` and the same SQLite store as
//! lk-web, and may run while lk-web runs. Results go to stdout, logs and
//! the progress bar to stderr. The exit codes are listed in [`exit::Exit`].
//! A closed stdout (`lk-cli check | head -1`) ends a command quietly with
//! code 0; see [`output::write_stdout`].

// Output goes through `output::write_stdout`, which handles a closed pipe.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cabinet_events;
mod cli;
mod commands;
mod context;
mod exit;
mod output;

use std::process::ExitCode;

use crate::exit::Exit;
use crate::output::stderrln;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    init_tracing(cli.verbose);

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            stderrln!("lk-cli: ошибка: не удалось запустить асинхронную среду: {error}");
            return Exit::Failed.into();
        }
    };

    let config_path = cli.config.clone();
    match runtime.block_on(commands::run(cli)) {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = exit::classify(&error);
            stderrln!("lk-cli: ошибка: {}", exit::render(&error));
            if let Some(hint) = exit::hint(exit, &config_path) {
                stderrln!("{hint}");
            }
            exit.into()
        }
    }
}

/// Prints a usage error in Russian; `--help` and `--version` are not errors.
///
/// An invalid value is described entirely in Russian. For other errors
/// clap's own message, in English, follows the Russian summary.
fn usage_error(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        // A failed write of the help (`lk-cli --help | head -1`) is not an error either.
        let _ = error.print();
        return Exit::Success.into();
    }

    match invalid_value(error) {
        Some(problem) => stderrln!("lk-cli: ошибка в командной строке: {problem}"),
        None => {
            stderrln!(
                "lk-cli: ошибка в командной строке: {}",
                usage_problem(error.kind())
            );
            let _ = error.print();
        }
    }
    stderrln!("Справка: lk-cli --help");
    Exit::Usage.into()
}

/// Describes an invalid or missing option value in Russian, from the
/// context clap attaches to the error; `None` for other errors.
fn invalid_value(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};

    if !matches!(
        error.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(option)) = error.get(ContextKind::InvalidArg) else {
        return None;
    };
    let value = match error.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(value)) => value.as_str(),
        _ => "",
    };
    if value.is_empty() {
        return Some(format!("не указано значение параметра {option}"));
    }

    let mut text = format!("неверное значение «{value}» параметра {option}");
    if let Some(reason) = std::error::Error::source(error) {
        text.push_str(&format!(": {reason}"));
    } else if let Some(ContextValue::Strings(valid)) = error.get(ContextKind::ValidValue) {
        text.push_str(&format!(": допустимые значения: {}", valid.join(", ")));
    }
    Some(text)
}

/// Names the kind of a usage error in Russian; clap's own details stay in English.
fn usage_problem(kind: clap::error::ErrorKind) -> &'static str {
    use clap::error::ErrorKind;
    match kind {
        ErrorKind::InvalidSubcommand => "неизвестная команда",
        ErrorKind::UnknownArgument => "неизвестный параметр",
        ErrorKind::MissingRequiredArgument => "не указан обязательный параметр",
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "не указана команда"
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => "неверное значение параметра",
        _ => "неверные аргументы",
    }
}

/// Logs to stderr, filtered by `RUST_LOG`. Without `RUST_LOG` the log is
/// off, so English log lines never mix into the Russian output of `check`
/// and the other commands. `--verbose` turns on the `info` level.
fn init_tracing(verbose: bool) {
    let default_level = if verbose { "info" } else { "off" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
