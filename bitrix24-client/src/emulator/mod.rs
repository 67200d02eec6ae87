//! An in-process fake Bitrix24 portal for tests, demos and integrators.
//!
//! [`Emulator::start`](crate::emulator::Emulator::start) serves, on a loopback port, the REST methods the
//! cabinet uses with the shapes, quirks and errors of a real cloud portal:
//! legacy `crm.deal.*`/`crm.invoice.*` (strings, empty error codes), the
//! universal `crm.item.*` (camelCase, numbers, `ufCrm_` names), metadata
//! methods, `batch`, paging, filters, file fields, the leaky-bucket rate
//! limit and the operation-time budget. It is written independently of the
//! client in this crate (its own form decoder and encoder), so it catches
//! the client's mistakes instead of sharing them.
//!
//! [`Portal`](crate::emulator::Portal) is the Rust API: seed and change data as staff would (every
//! change sends the outgoing-webhook events a real portal sends), inject
//! faults and outages, and read the request log. The staff panel at
//! `/staff` does the same from a browser. [`Seed::Demo`](crate::emulator::Seed::Demo) loads the firm's
//! fields and pipelines with demo clients; its field codes are in [`seed`](crate::emulator::seed).
//!
//! ```no_run
//! # async fn demo() -> Result<(), bitrix24_client::emulator::EmulatorError> {
//! use bitrix24_client::emulator::{Emulator, EmulatorOptions, RateLimit, Seed, UfValue, seed};
//!
//! let emulator = Emulator::start(
//!     EmulatorOptions::default().seed(Seed::Demo).rate_limit(RateLimit::Off),
//! )
//! .await?;
//! let portal = emulator.portal();
//! let hook = portal.add_outgoing_webhook("http://127.0.0.1:8080/b24/events", &["ONCRMDEALUPDATE"])?;
//! let deal = portal.deal_ids()[0];
//! portal.set_field(deal, seed::FIELD_MESSAGE, UfValue::text("Документы получены"))?;
//! portal.wait_for_deliveries().await;
//! # let _ = hook;
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod clock;
mod data;
mod envelope;
mod error;
mod events;
mod faults;
mod handle;
mod limits;
mod log;
mod methods;
mod options;
mod params;
mod php_form;
mod portal;
mod query;
pub mod seed;
mod server;
mod staff;
mod state;

pub use data::fields::{EnumItem, UserFieldType};
pub use data::pipelines::{StageSemantics, StageSpec};
pub use error::{EmulatorError, Result};
pub use events::{DeliveryOutcome, DeliveryRecord};
pub use faults::{Fault, MAX_HANG, Outage};
pub use handle::Emulator;
pub use log::{Counters, RequestRecord};
pub use options::{
    EmulatorOptions, OperatingLimit, RateLimit, StaffPanelFields, WebhookCredentials,
};
pub use portal::{
    DealSnapshot, LegacyInvoiceSnapshot, NewContact, NewDeal, NewLegacyInvoice, NewSmartInvoice,
    OutgoingWebhook, PipelineInfo, Portal, SmartInvoiceSnapshot, StageInfo, StoredFileInfo,
    UfValue, UserFieldSpec,
};
pub use seed::Seed;
