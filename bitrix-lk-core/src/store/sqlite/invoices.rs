//! The `invoices` table: invoice snapshots keyed by kind and number.

use std::collections::HashSet;

use rusqlite::{Connection, params};

use super::codec::Json;
use super::errors::DbError;
use crate::ids::{ContactId, DealId, InvoiceId, InvoiceKind};
use crate::invoice::Invoice;

/// Inserts or replaces an invoice snapshot.
pub(super) fn save(conn: &Connection, invoice: &Invoice) -> Result<(), DbError> {
    conn.prepare_cached(
        "INSERT INTO invoices (kind, number, deal_id, contact_id, snapshot) \
         VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (kind, number) DO UPDATE SET deal_id = excluded.deal_id, \
         contact_id = excluded.contact_id, snapshot = excluded.snapshot",
    )?
    .execute(params![
        kind_name(invoice.id.kind),
        invoice.id.number,
        invoice.deal_id.map(|deal| deal.get()),
        invoice.contact_id.map(|contact| contact.get()),
        Json(invoice),
    ])?;
    Ok(())
}

/// Removes an invoice snapshot.
pub(super) fn delete(conn: &Connection, id: InvoiceId) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM invoices WHERE kind = ?1 AND number = ?2")?
        .execute(params![kind_name(id.kind), id.number])?;
    Ok(())
}

/// Saves `invoices` and deletes the other invoices of the deal or contact.
pub(super) fn replace_of(
    conn: &Connection,
    deal: DealId,
    contact: Option<ContactId>,
    invoices: &[Invoice],
) -> Result<(), DbError> {
    let kept: HashSet<InvoiceId> = invoices.iter().map(|invoice| invoice.id).collect();
    for stored in of(conn, deal, contact)? {
        if !kept.contains(&stored.id) {
            delete(conn, stored.id)?;
        }
    }

    for invoice in invoices {
        save(conn, invoice)?;
    }
    Ok(())
}

/// Returns the invoices bound to the deal or billed to the contact, ordered by id.
pub(super) fn of(
    conn: &Connection,
    deal: DealId,
    contact: Option<ContactId>,
) -> Result<Vec<Invoice>, DbError> {
    // `contact_id = NULL` is never true, so without a contact only the deal matches.
    let mut statement =
        conn.prepare_cached("SELECT snapshot FROM invoices WHERE deal_id = ?1 OR contact_id = ?2")?;
    let rows = statement.query_map(
        params![deal.get(), contact.map(|contact| contact.get())],
        |row| row.get::<_, Json<Invoice>>(0),
    )?;

    let mut invoices = rows
        .map(|row| row.map(|json| json.0))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    invoices.sort_by_key(|invoice| invoice.id);
    Ok(invoices)
}

fn kind_name(kind: InvoiceKind) -> &'static str {
    match kind {
        InvoiceKind::Smart => "smart",
        InvoiceKind::Legacy => "legacy",
    }
}
