//! Writing to stdout and stderr without panicking on a closed stream.
//!
//! `println!` panics when stdout is a pipe whose reader has exited
//! (`lk-cli check | head -1`). Every line the commands print goes through
//! [`write_stdout`] instead, by the [`stdoutln!`](crate::output::stdoutln)
//! and [`stdout!`](crate::output::stdout) macros; `clippy::print_stdout` in
//! `main.rs` rejects a stray `println!`.

use std::fmt;
use std::io::{ErrorKind, Write};

use crate::exit::Exit;

/// Writes text to stdout and flushes it.
///
/// When the reader has closed the pipe, the process exits at once, quietly
/// and with code 0, because no process reads the rest of the output. Unix
/// tools stop the same way on SIGPIPE, though with a signal status. Any
/// other write error (a full disk behind a redirect) exits with code 1 and a
/// message on stderr. The exit skips destructors, which is safe for the
/// store because SQLite rolls back a transaction a process left unfinished.
pub fn write_stdout(text: fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(text).and_then(|()| stdout.flush());
    drop(stdout);

    let Err(error) = written else {
        return;
    };
    if error.kind() == ErrorKind::BrokenPipe {
        std::process::exit(Exit::Success.code().into());
    }
    write_stderr(format_args!(
        "lk-cli: ошибка: не удалось вывести результат в stdout: {error}\n"
    ));
    std::process::exit(Exit::Failed.code().into());
}

/// Writes text to stderr, ignoring a write error: with stderr closed there
/// is nowhere left to report it.
pub fn write_stderr(text: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

/// Prints a line to stdout like `println!`, through [`write_stdout`].
macro_rules! stdoutln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints text to stdout like `print!`, through [`write_stdout`].
macro_rules! stdout {
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!($($arg)*))
    };
}

/// Prints a line to stderr like `eprintln!`, through [`write_stderr`].
macro_rules! stderrln {
    ($($arg:tt)*) => {
        $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {stderrln, stdout, stdoutln};
