//! The `spool` table: uploaded files held until Bitrix24 has them.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

use super::codec::Millis;
use super::errors::DbError;
use super::outbox;
use crate::ids::{DealId, FieldCode, SpoolId};
use crate::store::NewSpooledFile;
use crate::sync::{SpooledFile, WriteBack};

/// Stores the file and queues its `Document` write, due at `now`.
pub(super) fn spool_document(
    conn: &Connection,
    file: &NewSpooledFile,
    now: Timestamp,
) -> Result<SpoolId, DbError> {
    let id = conn
        .prepare_cached(
            "INSERT INTO spool (deal_id, field, file_name, content_type, bytes, uploaded_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![
                file.deal_id.get(),
                file.field.as_str(),
                file.file_name,
                file.content_type,
                file.bytes,
                Millis(now),
            ],
            |row| row.get(0).map(SpoolId),
        )?;

    let write = WriteBack::Document {
        deal_id: file.deal_id,
        field: file.field.clone(),
        spool_id: id,
    };
    outbox::enqueue(conn, &write, now)?;
    Ok(id)
}

/// Returns a spooled file.
pub(super) fn get(conn: &Connection, id: SpoolId) -> Result<Option<SpooledFile>, DbError> {
    let file = conn
        .prepare_cached(
            "SELECT deal_id, field, file_name, content_type, bytes, uploaded_at FROM spool \
             WHERE id = ?1",
        )?
        .query_row([id.get()], |row| {
            Ok(SpooledFile {
                id,
                deal_id: DealId(row.get(0)?),
                field: FieldCode(row.get(1)?),
                file_name: row.get(2)?,
                content_type: row.get(3)?,
                bytes: row.get(4)?,
                uploaded_at: row.get::<_, Millis>(5)?.0,
            })
        })
        .optional()?;
    Ok(file)
}

/// Deletes a spooled file.
pub(super) fn delete(conn: &Connection, id: SpoolId) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM spool WHERE id = ?1")?
        .execute([id.get()])?;
    Ok(())
}

/// Returns the distinct fields of a deal's spooled files.
pub(super) fn fields_of(conn: &Connection, deal: DealId) -> Result<Vec<FieldCode>, DbError> {
    let mut statement =
        conn.prepare_cached("SELECT DISTINCT field FROM spool WHERE deal_id = ?1 ORDER BY field")?;
    let fields = statement
        .query_map([deal.get()], |row| row.get(0).map(FieldCode))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fields)
}
