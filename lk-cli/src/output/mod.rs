//! Formatting of what the administrator reads: tables, Moscow time and
//! shell words, and the stdout and stderr writers every command prints through.

mod shell;
mod streams;
mod table;
mod time;

pub use shell::shell_word;
pub(crate) use streams::{stderrln, stdout, stdoutln};
pub use streams::{write_stderr, write_stdout};
pub use table::Table;
pub use time::{moscow, moscow_with_seconds};
