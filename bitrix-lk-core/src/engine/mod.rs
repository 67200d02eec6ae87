//! The sync engine: keeps the local store in step with Bitrix24.
//!
//! Bitrix24 sends outgoing-webhook events once and never again, and sends none
//! at all for a deal moved in from another pipeline. So the engine treats
//! events as hints: it drains the durable inbox (coalescing events per deal
//! and reading changed deals in batches), drains the write-back outbox with
//! retries, and runs a periodic resync of everything modified since the last
//! watermark, plus a full pass at start and nightly. Both binaries use this
//! one engine: `lk-web` runs [`SyncEngine::run`] in the background and
//! `lk-cli sync` calls [`SyncEngine::resync`] once.

mod backoff;
mod clock;
mod deals;
mod inbox;
mod outbox;
mod resync;
mod runner;

use std::sync::Arc;
use std::time::Duration;

pub use backoff::RetryPolicy;
pub use clock::{Clock, SystemClock};
pub use inbox::InboxReport;
pub use outbox::OutboxReport;
pub use resync::{ResyncMode, ResyncReport};

use crate::config::{InvoiceLinkage, LkConfig};
use crate::crm::Crm;
use crate::provisioning::Provisioner;
use crate::store::Store;

/// How the engine paces itself.
#[derive(Clone, Debug)]
pub struct SyncSettings {
    /// Time between incremental resyncs. Default: one minute.
    pub incremental_interval: Duration,
    /// How far before the watermark an incremental resync starts reading, to
    /// cover clock skew and changes committed while the last pass ran.
    /// Default: five minutes.
    pub overlap: Duration,
    /// The hour (Moscow time, 0-23) of the nightly full resync. Default: 3.
    pub nightly_full_hour_msk: u8,
    /// Whether invoices billed to the deal's contact count as the client's. Default: false.
    pub include_contact_invoices: bool,
    /// Inbox events taken per pass. Default: 1,000.
    pub inbox_batch: usize,
    /// Outbox writes taken per pass. Default: 500.
    pub outbox_batch: usize,
    /// Retry pacing of failed write-backs.
    pub retry: RetryPolicy,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            incremental_interval: Duration::from_secs(60),
            overlap: Duration::from_secs(300),
            nightly_full_hour_msk: 3,
            include_contact_invoices: false,
            inbox_batch: 1_000,
            outbox_batch: 500,
            retry: RetryPolicy::default(),
        }
    }
}

impl SyncSettings {
    /// Takes the pacing from the `[sync]` and `[invoices]` sections; the rest keeps its defaults.
    pub fn from_config(config: &LkConfig) -> Self {
        Self {
            incremental_interval: config.sync.incremental_interval(),
            overlap: config.sync.overlap(),
            nightly_full_hour_msk: config.sync.nightly_full_hour_msk,
            include_contact_invoices: config.invoices.linkage == InvoiceLinkage::DealAndContact,
            ..Self::default()
        }
    }
}

/// The engine over the two ports. Cheap to clone.
#[derive(Clone)]
pub struct SyncEngine {
    crm: Arc<dyn Crm>,
    store: Arc<dyn Store>,
    provisioner: Provisioner,
    settings: SyncSettings,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SyncEngine {
    /// Builds an engine; `provisioner` must use the same store.
    pub fn new(
        crm: Arc<dyn Crm>,
        store: Arc<dyn Store>,
        provisioner: Provisioner,
        settings: SyncSettings,
    ) -> Self {
        Self {
            crm,
            store,
            provisioner,
            settings,
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock, for tests that move time by hand.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Returns the settings.
    pub fn settings(&self) -> &SyncSettings {
        &self.settings
    }
}
