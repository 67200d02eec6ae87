//! `lk-cli`: the administrator's command line for the client cabinet.
//!
//! Every command reads the same `lk.toml` and the same SQLite store as
//! lk-web, and may run while lk-web runs. Results go to stdout, logs and
//! the progress bar to stderr. The exit codes are listed in [`exit::Exit`].

mod cli;
mod commands;
mod context;
mod exit;
mod output;

use std::process::ExitCode;

use crate::exit::Exit;

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    init_tracing();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("lk-cli: ошибка: не удалось запустить асинхронную среду: {error}");
            return Exit::Failed.into();
        }
    };

    match runtime.block_on(commands::run(cli)) {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = exit::classify(&error);
            eprintln!("lk-cli: ошибка: {}", exit::render(&error));
            if let Some(hint) = exit::hint(exit) {
                eprintln!("{hint}");
            }
            exit.into()
        }
    }
}

/// Prints clap's message under a Russian summary; `--help` and `--version` are not errors.
fn usage_error(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() {
        let _ = error.print();
        return Exit::Success.into();
    }

    eprintln!(
        "lk-cli: ошибка в командной строке: {}",
        usage_problem(error.kind())
    );
    let _ = error.print();
    eprintln!("Справка: lk-cli --help");
    Exit::Usage.into()
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

/// Logs to stderr, filtered by `RUST_LOG` (default: warnings and errors only,
/// so the command's own output stays readable).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
