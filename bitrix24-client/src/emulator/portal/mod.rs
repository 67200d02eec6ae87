//! [`Portal`]: the Rust API to the emulator's data and behaviour.
//!
//! Changes made here behave like a staff member's changes in the Bitrix24 UI:
//! they update modification times and send the same outgoing-webhook events
//! as changes made through REST.

mod control;
mod deals;
mod inputs;
mod invoices;

use std::fmt;
use std::sync::Arc;

use super::state::Shared;

pub use control::OutgoingWebhook;
pub use deals::{DealSnapshot, PipelineInfo, StageInfo, StoredFileInfo};
pub use inputs::{NewContact, NewDeal, NewLegacyInvoice, NewSmartInvoice, UfValue, UserFieldSpec};
pub use invoices::{LegacyInvoiceSnapshot, SmartInvoiceSnapshot};

/// The employee id the Rust API acts as (the portal administrator).
pub(crate) const STAFF_USER: u64 = 1;

/// A cheap, cloneable handle to a running emulator's portal.
#[derive(Clone)]
pub struct Portal {
    shared: Arc<Shared>,
}

impl fmt::Debug for Portal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Portal")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl Portal {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}
