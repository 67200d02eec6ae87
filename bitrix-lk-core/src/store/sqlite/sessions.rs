//! The `sessions` table: login sessions, found by the SHA-256 of their id.
//!
//! The table keeps a hash of each session id instead of the id, so a copy of
//! the database file (a backup, a stolen disk) contains no id that logs in.
//! A plain unsalted SHA-256 is enough: session ids are long random values, so
//! there is nothing to guess, and a lookup by hash is as fast as by the id.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, ffi, params};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::codec::Millis;
use super::errors::{DbError, is_constraint};
use crate::error::Error;
use crate::ids::DealId;
use crate::session::{Session, SessionId};

/// Stores a new session. Fails with `NotFound` when the deal has no account.
pub(super) fn create(conn: &Connection, session: &Session) -> Result<(), DbError> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO sessions (id_sha256, deal_id, csrf_token, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            id_hash(&session.id),
            session.deal_id.get(),
            session.csrf_token.expose_secret(),
            Millis(session.created_at),
            Millis(session.expires_at),
        ]);

    match inserted {
        Ok(_) => Ok(()),
        Err(error) if is_constraint(&error, ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
            Err(Error::NotFound {
                what: format!("account of deal {}", session.deal_id),
            }
            .into())
        }
        Err(error) => Err(error.into()),
    }
}

/// Returns the session unless it has expired at `now`.
pub(super) fn get(
    conn: &Connection,
    id: &SessionId,
    now: Timestamp,
) -> Result<Option<Session>, DbError> {
    let session = conn
        .prepare_cached(
            "SELECT deal_id, csrf_token, created_at, expires_at FROM sessions \
             WHERE id_sha256 = ?1 AND expires_at > ?2",
        )?
        .query_row(params![id_hash(id), Millis(now)], |row| {
            Ok(Session {
                id: id.clone(),
                deal_id: DealId(row.get(0)?),
                csrf_token: SecretString::from(row.get::<_, String>(1)?),
                created_at: row.get::<_, Millis>(2)?.0,
                expires_at: row.get::<_, Millis>(3)?.0,
            })
        })
        .optional()?;
    Ok(session)
}

/// Deletes one session.
pub(super) fn delete(conn: &Connection, id: &SessionId) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM sessions WHERE id_sha256 = ?1")?
        .execute([id_hash(id)])?;
    Ok(())
}

/// Deletes sessions that expired at or before `now` and returns how many.
pub(super) fn purge(conn: &Connection, now: Timestamp) -> Result<u64, DbError> {
    let purged = conn
        .prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
        .execute([Millis(now)])?;
    Ok(purged as u64)
}

fn id_hash(id: &SessionId) -> [u8; 32] {
    Sha256::digest(id.expose().as_bytes()).into()
}
