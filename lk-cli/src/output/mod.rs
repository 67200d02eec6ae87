//! Formatting of what the administrator reads: tables and Moscow time.

mod table;
mod time;

pub use table::Table;
pub use time::moscow;
