//! A client's whole page in one read, and the parsed pipelines it reuses.
//!
//! Every page of the cabinet starts by reading the session, the account, the
//! deal, the pipelines and the invoices. Doing that in one call on one reader
//! connection costs one trip to the blocking pool instead of five, and one
//! read transaction makes the five reads agree with each other.

use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use rusqlite::Connection;

use super::errors::DbError;
use super::{accounts, deals, invoices, pipelines, sessions};
use crate::config::InvoiceLinkage;
use crate::pipeline::Pipeline;
use crate::session::SessionId;
use crate::store::ClientCase;

/// The parsed pipelines of the latest revision this handle has read.
///
/// Pipelines change only when staff edit the stages in Bitrix24, while every
/// page view needs them. The revision is a counter that
/// [`pipelines::replace_all`] raises in the same transaction, so a change
/// made by another process (`lk-cli resync`) is seen on the next read.
#[derive(Default)]
pub(super) struct PipelineCache {
    latest: Mutex<Option<(i64, Arc<[Pipeline]>)>>,
}

impl PipelineCache {
    /// Returns the pipelines of the stored revision, parsing them only when
    /// the revision differs from the cached one.
    fn get(&self, conn: &Connection) -> Result<Arc<[Pipeline]>, DbError> {
        let revision = pipelines::revision(conn)?;
        if let Some((cached, pipelines)) = self.lock().as_ref()
            && *cached == revision
        {
            return Ok(Arc::clone(pipelines));
        }

        let parsed: Arc<[Pipeline]> = pipelines::all(conn)?.into();
        *self.lock() = Some((revision, Arc::clone(&parsed)));
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, Arc<[Pipeline]>)>> {
        self.latest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads a client's page data in one read transaction.
pub(super) fn client_case(
    conn: &Connection,
    cache: &PipelineCache,
    id: &SessionId,
    now: Timestamp,
    linkage: InvoiceLinkage,
) -> Result<Option<ClientCase>, DbError> {
    let tx = conn.unchecked_transaction()?;
    let Some(session) = sessions::get(&tx, id, now)? else {
        return Ok(None);
    };

    let account = accounts::by_deal(&tx, session.deal_id)?;
    let deal = deals::get(&tx, session.deal_id)?;
    let pipelines = cache.get(&tx)?;
    let invoices = match &deal {
        Some(deal) => invoices::of(&tx, deal.id, linkage.contact_of(deal))?,
        None => Vec::new(),
    };
    tx.finish()?;

    Ok(Some(ClientCase {
        session,
        account,
        deal,
        pipelines,
        invoices,
    }))
}
