//! The schema, as versioned migrations tracked in SQLite's `user_version`.
//!
//! Migrations are append-only. A released step is never edited, and a
//! schema change is a new step at the end of [`STEPS`].

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations, SchemaVersion};

use super::errors::DbError;

/// Version 1: every table of the store.
///
/// Timestamps are INTEGER Unix milliseconds and snapshots are JSON text.
const V1_TABLES: &str = r#"
CREATE TABLE accounts (
    deal_id             INTEGER PRIMARY KEY,
    login               TEXT    NOT NULL UNIQUE,
    referral_code       TEXT    NOT NULL UNIQUE,
    password_hash       TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL,
    last_login_at       INTEGER
) STRICT;

CREATE TABLE deals (
    id          INTEGER PRIMARY KEY,
    contact_id  INTEGER,
    modified_at INTEGER,
    snapshot    TEXT    NOT NULL,
    stored_at   INTEGER NOT NULL
) STRICT;

CREATE TABLE invoices (
    kind       TEXT    NOT NULL CHECK (kind IN ('smart', 'legacy')),
    number     INTEGER NOT NULL,
    deal_id    INTEGER,
    contact_id INTEGER,
    snapshot   TEXT    NOT NULL,
    PRIMARY KEY (kind, number)
) STRICT, WITHOUT ROWID;
CREATE INDEX invoices_by_deal ON invoices (deal_id);
CREATE INDEX invoices_by_contact ON invoices (contact_id);

CREATE TABLE pipelines (
    id       INTEGER PRIMARY KEY,
    snapshot TEXT    NOT NULL
) STRICT;

-- The primary key is the SHA-256 of the session id, never the id itself.
CREATE TABLE sessions (
    id_sha256  BLOB    PRIMARY KEY,
    deal_id    INTEGER NOT NULL REFERENCES accounts (deal_id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX sessions_by_deal ON sessions (deal_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    notice       TEXT    NOT NULL,
    event_name   TEXT    NOT NULL,
    sent_at      INTEGER,
    received_at  INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    processed_at INTEGER
) STRICT;
CREATE INDEX inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL;
CREATE INDEX inbox_by_processed_at ON inbox (processed_at) WHERE processed_at IS NOT NULL;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    deal_id         INTEGER NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'parked')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    done_at         INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_by_state ON outbox (state, id);
CREATE INDEX outbox_pending_by_deal ON outbox (deal_id, kind) WHERE state = 'pending';
CREATE INDEX outbox_by_done_at ON outbox (done_at) WHERE done_at IS NOT NULL;

CREATE TABLE spool (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    deal_id      INTEGER NOT NULL,
    field        TEXT    NOT NULL,
    file_name    TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    bytes        BLOB    NOT NULL,
    uploaded_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE login_failures (
    key       TEXT    NOT NULL,
    failed_at INTEGER NOT NULL
) STRICT;
CREATE INDEX login_failures_by_key ON login_failures (key, failed_at);
CREATE INDEX login_failures_by_time ON login_failures (failed_at);

CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
"#;

/// Every schema step in order; step N brings the file to `user_version` N.
const STEPS: &[M<'static>] = &[M::up(V1_TABLES)];

const MIGRATIONS: Migrations<'static> = Migrations::from_slice(STEPS);

/// Brings the database file to the latest schema version.
///
/// The writer connection starts its transactions with `BEGIN IMMEDIATE`, so
/// two processes that open a new file at once take turns. The loser then
/// fails on `CREATE TABLE`; it succeeds anyway when the file already has the
/// latest version, because the winner did the work.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let Err(error) = MIGRATIONS.to_latest(conn) else {
        return Ok(());
    };

    if is_latest(conn)? {
        tracing::debug!(%error, "another process migrated the store first");
        return Ok(());
    }
    Err(error.into())
}

/// Returns whether the file has the latest schema version.
fn is_latest(conn: &Connection) -> Result<bool, DbError> {
    let current = MIGRATIONS.current_version(conn)?;
    Ok(matches!(current, SchemaVersion::Inside(version) if version.get() == STEPS.len()))
}

#[cfg(test)]
mod tests {
    use rusqlite::TransactionBehavior;

    use super::*;

    #[test]
    fn migrations_are_valid() {
        MIGRATIONS.validate().unwrap();
    }

    #[test]
    fn migrate_sets_user_version() {
        let mut conn = Connection::open_in_memory().unwrap();

        migrate(&mut conn).unwrap();

        let version: usize = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .unwrap();
        assert_eq!(version, STEPS.len());
    }

    #[test]
    fn migrate_twice_is_harmless() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.set_transaction_behavior(TransactionBehavior::Immediate);

        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();

        assert!(is_latest(&conn).unwrap());
    }
}
