//! Column encodings: timestamps as Unix milliseconds, snapshots as JSON text.

use std::time::Duration;

use jiff::Timestamp;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A timestamp stored as an INTEGER of Unix milliseconds.
///
/// Integers sort and compare in SQL without parsing. Precision below one
/// millisecond is dropped on the way in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Millis(pub Timestamp);

impl ToSql for Millis {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0.as_millisecond()))
    }
}

impl FromSql for Millis {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let millis = i64::column_result(value)?;
        Timestamp::from_millisecond(millis)
            .map(Millis)
            .map_err(|error| FromSqlError::Other(Box::new(error)))
    }
}

/// A value stored as JSON text.
#[derive(Debug)]
pub(super) struct Json<T>(pub T);

impl<T: Serialize> ToSql for Json<T> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        serde_json::to_string(&self.0)
            .map(ToSqlOutput::from)
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))
    }
}

impl<T: DeserializeOwned> FromSql for Json<T> {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        serde_json::from_str(text)
            .map(Json)
            .map_err(|error| FromSqlError::Other(Box::new(error)))
    }
}

/// Returns `at - window` in Unix milliseconds, saturating instead of overflowing.
pub(super) fn millis_before(at: Timestamp, window: Duration) -> i64 {
    at.as_millisecond().saturating_sub(duration_millis(window))
}

/// Returns `at + delay`, or the latest representable timestamp when that overflows.
pub(super) fn later_by(at: Timestamp, delay: Duration) -> Timestamp {
    at.checked_add(delay).unwrap_or(Timestamp::MAX)
}

fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    #[test]
    fn millis_round_trip_drops_sub_millisecond() {
        let conn = Connection::open_in_memory().unwrap();
        let at = Timestamp::new(1_700_000_000, 123_456_789).unwrap();

        let stored: Millis = conn
            .query_row("SELECT ?1", [Millis(at)], |row| row.get(0))
            .unwrap();

        assert_eq!(
            stored.0,
            Timestamp::new(1_700_000_000, 123_000_000).unwrap()
        );
    }

    #[test]
    fn millis_rejects_out_of_range_integer() {
        let conn = Connection::open_in_memory().unwrap();

        let result = conn.query_row("SELECT ?1", [i64::MAX], |row| row.get::<_, Millis>(0));

        assert!(result.is_err());
    }

    #[test]
    fn json_round_trip() {
        let conn = Connection::open_in_memory().unwrap();

        let stored: Json<Vec<u32>> = conn
            .query_row("SELECT ?1", [Json(vec![1_u32, 2, 3])], |row| row.get(0))
            .unwrap();

        assert_eq!(stored.0, vec![1, 2, 3]);
    }

    #[test]
    fn later_by_saturates() {
        assert_eq!(
            later_by(Timestamp::MAX, Duration::from_secs(1)),
            Timestamp::MAX
        );
        assert_eq!(
            later_by(Timestamp::UNIX_EPOCH, Duration::from_millis(1500)).as_millisecond(),
            1500
        );
    }

    #[test]
    fn millis_before_saturates() {
        assert_eq!(
            millis_before(Timestamp::UNIX_EPOCH, Duration::MAX),
            -i64::MAX
        );
        assert_eq!(
            millis_before(Timestamp::UNIX_EPOCH, Duration::from_secs(2)),
            -2000
        );
    }
}
