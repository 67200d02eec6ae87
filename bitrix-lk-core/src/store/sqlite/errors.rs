//! Failures inside a blocking store call, mapped to the crate's [`Error`] at the edge.

use std::ffi::c_int;

use rusqlite::ffi;

use crate::error::Error;

/// A failure inside one store call, before the operation name is known.
///
/// Query functions return it so `?` works on rusqlite, JSON and migration
/// errors alike; [`DbError::into_error`] turns it into the crate's error.
#[derive(Debug)]
pub(super) enum DbError {
    /// SQLite or rusqlite failed.
    Sqlite(rusqlite::Error),
    /// A JSON snapshot could not be written or read.
    Json(serde_json::Error),
    /// A migration failed.
    Migration(rusqlite_migration::Error),
    /// A domain outcome such as `NotFound` or `Conflict`, passed through unchanged.
    Core(Error),
}

impl DbError {
    /// Maps the failure of `operation` to the crate's error: unique-constraint
    /// violations become [`Error::Conflict`], the rest [`Error::Storage`].
    pub(super) fn into_error(self, operation: &'static str) -> Error {
        match self {
            DbError::Sqlite(error) => match unique_violation(&error) {
                Some(columns) => Error::Conflict {
                    what: format!("a record with the same {columns}"),
                },
                None => Error::storage(operation, error),
            },
            DbError::Json(error) => Error::storage(operation, error),
            DbError::Migration(error) => Error::storage(operation, error),
            DbError::Core(error) => error,
        }
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(error: rusqlite::Error) -> Self {
        DbError::Sqlite(error)
    }
}

impl From<serde_json::Error> for DbError {
    fn from(error: serde_json::Error) -> Self {
        DbError::Json(error)
    }
}

impl From<rusqlite_migration::Error> for DbError {
    fn from(error: rusqlite_migration::Error) -> Self {
        DbError::Migration(error)
    }
}

impl From<Error> for DbError {
    fn from(error: Error) -> Self {
        DbError::Core(error)
    }
}

/// Returns whether `error` is a constraint violation with this extended result code.
pub(super) fn is_constraint(error: &rusqlite::Error, extended_code: c_int) -> bool {
    matches!(
        error,
        rusqlite::Error::SqliteFailure(failure, _) if failure.extended_code == extended_code
    )
}

/// Returns the `table.column` list of a UNIQUE or PRIMARY KEY violation.
///
/// SQLite words the message as `UNIQUE constraint failed: accounts.login`.
/// It names the columns only, never the values.
fn unique_violation(error: &rusqlite::Error) -> Option<String> {
    let unique = is_constraint(error, ffi::SQLITE_CONSTRAINT_UNIQUE)
        || is_constraint(error, ffi::SQLITE_CONSTRAINT_PRIMARYKEY);
    if !unique {
        return None;
    }

    let rusqlite::Error::SqliteFailure(_, Some(message)) = error else {
        return Some("key".to_owned());
    };
    let columns = message
        .split_once("constraint failed: ")
        .map_or("key", |(_, columns)| columns);
    Some(columns.to_owned())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn unique_failure() -> rusqlite::Error {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (login TEXT UNIQUE); INSERT INTO t VALUES ('a');")
            .unwrap();
        conn.execute("INSERT INTO t VALUES ('a')", []).unwrap_err()
    }

    #[test]
    fn unique_violation_becomes_conflict() {
        let error = DbError::from(unique_failure()).into_error("insert");

        match error {
            Error::Conflict { what } => assert_eq!(what, "a record with the same t.login"),
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn other_sqlite_error_becomes_storage() {
        let conn = Connection::open_in_memory().unwrap();
        let failure = conn
            .execute("INSERT INTO missing VALUES (1)", [])
            .unwrap_err();

        let error = DbError::from(failure).into_error("insert");

        assert!(matches!(
            error,
            Error::Storage {
                operation: "insert",
                ..
            }
        ));
    }

    #[test]
    fn core_error_passes_through() {
        let error = DbError::from(Error::NotFound {
            what: "deal 7".to_owned(),
        })
        .into_error("set_password");

        assert!(matches!(error, Error::NotFound { what } if what == "deal 7"));
    }
}
