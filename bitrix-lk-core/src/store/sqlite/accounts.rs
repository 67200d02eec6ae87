//! The `accounts` table: one account per deal, unique logins and referral codes.

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::Millis;
use super::errors::DbError;
use super::outbox;
use crate::account::{Account, Login, PasswordHash, ReferralCode};
use crate::error::Error;
use crate::ids::DealId;
use crate::store::CreateAccount;
use crate::sync::WriteBack;

const COLUMNS: &str = "deal_id, login, referral_code, password_hash, created_at, \
                       password_changed_at, last_login_at";

/// Inserts the account and queues `writes`, unless the deal already has an account.
///
/// Runs inside the writer's `BEGIN IMMEDIATE` transaction, so the checks
/// below cannot race with another writer, in this process or another one.
/// The writes are due at the account's creation time.
pub(super) fn create(
    conn: &Connection,
    account: &Account,
    writes: &[WriteBack],
) -> Result<CreateAccount, DbError> {
    if let Some(existing) = by_deal(conn, account.deal_id)? {
        return Ok(CreateAccount::AlreadyExists(existing));
    }

    let login_taken = "SELECT 1 FROM accounts WHERE login = ?1";
    ensure_free(
        conn,
        login_taken,
        account.login.as_str(),
        "an account with this login",
    )?;
    let code_taken = "SELECT 1 FROM accounts WHERE referral_code = ?1";
    let code = account.referral_code.as_str();
    ensure_free(conn, code_taken, code, "an account with this referral code")?;

    insert(conn, account)?;
    for write in writes {
        outbox::enqueue(conn, write, account.created_at)?;
    }
    Ok(CreateAccount::Created)
}

/// Returns the account of a deal.
pub(super) fn by_deal(conn: &Connection, deal: DealId) -> Result<Option<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE deal_id = ?1");
    let account = conn
        .prepare_cached(&sql)?
        .query_row([deal.get()], from_row)
        .optional()?;
    Ok(account)
}

/// Returns the account with this login.
pub(super) fn by_login(conn: &Connection, login: &str) -> Result<Option<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM accounts WHERE login = ?1");
    let account = conn
        .prepare_cached(&sql)?
        .query_row([login], from_row)
        .optional()?;
    Ok(account)
}

/// Returns every account, ordered by deal id.
pub(super) fn all(conn: &Connection) -> Result<Vec<Account>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM accounts ORDER BY deal_id");
    let mut statement = conn.prepare_cached(&sql)?;
    let accounts = statement
        .query_map([], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(accounts)
}

/// Replaces the password hash, ends the deal's sessions and queues `writes`, due at `at`.
pub(super) fn set_password(
    conn: &Connection,
    deal: DealId,
    hash: &PasswordHash,
    at: Timestamp,
    writes: &[WriteBack],
) -> Result<(), DbError> {
    let updated = conn
        .prepare_cached(
            "UPDATE accounts SET password_hash = ?2, password_changed_at = ?3 WHERE deal_id = ?1",
        )?
        .execute(params![deal.get(), hash.0, Millis(at)])?;
    ensure_updated(updated, deal)?;

    conn.prepare_cached("DELETE FROM sessions WHERE deal_id = ?1")?
        .execute([deal.get()])?;
    for write in writes {
        outbox::enqueue(conn, write, at)?;
    }
    Ok(())
}

/// Sets the last login time and queues `writes`, due at `at`.
pub(super) fn record_login(
    conn: &Connection,
    deal: DealId,
    at: Timestamp,
    writes: &[WriteBack],
) -> Result<(), DbError> {
    let updated = conn
        .prepare_cached("UPDATE accounts SET last_login_at = ?2 WHERE deal_id = ?1")?
        .execute(params![deal.get(), Millis(at)])?;
    ensure_updated(updated, deal)?;

    for write in writes {
        outbox::enqueue(conn, write, at)?;
    }
    Ok(())
}

fn insert(conn: &Connection, account: &Account) -> Result<(), DbError> {
    let sql = format!("INSERT INTO accounts ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    conn.prepare_cached(&sql)?.execute(params![
        account.deal_id.get(),
        account.login.as_str(),
        account.referral_code.as_str(),
        account.password_hash.0,
        Millis(account.created_at),
        Millis(account.password_changed_at),
        account.last_login_at.map(Millis),
    ])?;
    Ok(())
}

/// Fails with a conflict when `sql` finds a row for `value`.
fn ensure_free(conn: &Connection, sql: &str, value: &str, what: &str) -> Result<(), DbError> {
    let taken = conn
        .prepare_cached(sql)?
        .query_row([value], |_| Ok(()))
        .optional()?
        .is_some();
    if taken {
        return Err(Error::Conflict {
            what: what.to_owned(),
        }
        .into());
    }
    Ok(())
}

fn ensure_updated(rows: usize, deal: DealId) -> Result<(), DbError> {
    if rows == 0 {
        return Err(Error::NotFound {
            what: format!("account of deal {deal}"),
        }
        .into());
    }
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        deal_id: DealId(row.get(0)?),
        login: Login::new(&row.get::<_, String>(1)?),
        referral_code: ReferralCode(row.get(2)?),
        password_hash: PasswordHash(row.get(3)?),
        created_at: row.get::<_, Millis>(4)?.0,
        password_changed_at: row.get::<_, Millis>(5)?.0,
        last_login_at: row.get::<_, Option<Millis>>(6)?.map(|millis| millis.0),
    })
}
