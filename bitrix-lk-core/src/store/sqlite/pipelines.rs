//! The `pipelines` table: the cached pipelines with their stages, as JSON,
//! and their revision counter in the `kv` table.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::Json;
use super::errors::DbError;
use crate::ids::CategoryId;
use crate::pipeline::Pipeline;

/// The `kv` key of the counter raised by every [`replace_all`].
const REVISION_KEY: &str = "pipelines.revision";

/// Replaces every cached pipeline with `pipelines` and raises the revision.
pub(super) fn replace_all(conn: &Connection, pipelines: &[Pipeline]) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM pipelines")?.execute([])?;
    conn.prepare_cached(
        "INSERT INTO kv (key, value) VALUES (?1, '1') \
         ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
    )?
    .execute([REVISION_KEY])?;

    let mut insert =
        conn.prepare_cached("INSERT OR REPLACE INTO pipelines (id, snapshot) VALUES (?1, ?2)")?;
    for pipeline in pipelines {
        insert.execute(params![pipeline.id.get(), Json(pipeline)])?;
    }
    Ok(())
}

/// Returns the revision of the cached pipelines: 0 before the first
/// [`replace_all`], then one more on each.
pub(super) fn revision(conn: &Connection) -> Result<i64, DbError> {
    let revision = conn
        .prepare_cached("SELECT CAST(value AS INTEGER) FROM kv WHERE key = ?1")?
        .query_row([REVISION_KEY], |row| row.get(0))
        .optional()?;
    Ok(revision.unwrap_or(0))
}

/// Returns one cached pipeline.
pub(super) fn get(conn: &Connection, id: CategoryId) -> Result<Option<Pipeline>, DbError> {
    let pipeline = conn
        .prepare_cached("SELECT snapshot FROM pipelines WHERE id = ?1")?
        .query_row([id.get()], |row| row.get::<_, Json<Pipeline>>(0))
        .optional()?;
    Ok(pipeline.map(|json| json.0))
}

/// Returns every cached pipeline, ordered by id.
pub(super) fn all(conn: &Connection) -> Result<Vec<Pipeline>, DbError> {
    let mut statement = conn.prepare_cached("SELECT snapshot FROM pipelines ORDER BY id")?;
    let pipelines = statement
        .query_map([], |row| row.get::<_, Json<Pipeline>>(0))?
        .map(|row| row.map(|json| json.0))
        .collect::<rusqlite::Result<_>>()?;
    Ok(pipelines)
}
