//! Typed REST methods, one handler per CRM area.
//!
//! Handlers borrow the [`Client`]; builders collect optional parameters and
//! are sent with `send`, `page`, `all` or streamed.

pub mod categories;
pub mod deals;
pub mod invoices;
pub mod items;
mod list;
pub mod statuses;
pub mod userfields;

pub use list::{ListRequest, Order};

use crate::batch::Batch;
use crate::client::Client;

impl Client {
    /// Returns the `crm.deal.*` methods.
    pub fn deals(&self) -> deals::Deals<'_> {
        deals::Deals::new(self)
    }

    /// Returns the `crm.deal.userfield.*` methods.
    pub fn deal_userfields(&self) -> userfields::DealUserFields<'_> {
        userfields::DealUserFields::new(self)
    }

    /// Returns the `crm.category.*` methods (pipelines).
    pub fn categories(&self) -> categories::Categories<'_> {
        categories::Categories::new(self)
    }

    /// Returns the `crm.status.*` methods (stages and other directories).
    pub fn statuses(&self) -> statuses::Statuses<'_> {
        statuses::Statuses::new(self)
    }

    /// Returns the universal `crm.item.*` methods (deals, smart invoices, smart processes).
    pub fn items(&self) -> items::Items<'_> {
        items::Items::new(self)
    }

    /// Returns the deprecated `crm.invoice.*` methods of legacy invoices.
    pub fn legacy_invoices(&self) -> invoices::LegacyInvoices<'_> {
        invoices::LegacyInvoices::new(self)
    }

    /// Starts a [`Batch`] of up to 50 commands per request.
    pub fn batch(&self) -> Batch {
        Batch::new(self.clone())
    }
}
