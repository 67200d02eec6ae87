//! The state shared by the server, the Rust API and the staff panel.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use jiff::tz::Offset;
use tokio::sync::watch;

use super::data::PortalData;
use super::events::EventHub;
use super::faults::{Faults, OutageState};
use super::limits::{LeakyBucket, OperatingMeter};
use super::log::RequestLog;
use super::options::{StaffPanelFields, WebhookCredentials};

/// Locks a mutex; a panic in another holder does not make the emulator unusable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// The data lives behind a std mutex: every operation on it is synchronous and
// short, nothing awaits while holding it, and the Rust API can then be called
// from plain (non-async) test code too.
#[derive(Debug)]
pub(crate) struct Shared {
    data: Mutex<PortalData>,
    pub(crate) events: Arc<EventHub>,
    pub(crate) limiter: Mutex<LeakyBucket>,
    pub(crate) operating: Mutex<OperatingMeter>,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) outage: watch::Sender<OutageState>,
    /// Whether the listening socket is open (false during a refused-connections outage).
    pub(crate) serving: watch::Sender<bool>,
    pub(crate) log: Mutex<RequestLog>,
    pub(crate) webhooks: RwLock<Vec<WebhookCredentials>>,
    pub(crate) base_url: String,
    pub(crate) offset: Offset,
    pub(crate) staff_fields: StaffPanelFields,
    pub(crate) max_body_bytes: usize,
}

/// The parts [`Shared`] is built from.
#[derive(Debug)]
pub(crate) struct SharedParts {
    pub(crate) data: PortalData,
    pub(crate) events: Arc<EventHub>,
    pub(crate) limiter: LeakyBucket,
    pub(crate) operating: OperatingMeter,
    pub(crate) log: RequestLog,
    pub(crate) webhooks: Vec<WebhookCredentials>,
    pub(crate) base_url: String,
    pub(crate) offset: Offset,
    pub(crate) staff_fields: StaffPanelFields,
    pub(crate) max_body_bytes: usize,
}

impl Shared {
    pub(crate) fn new(parts: SharedParts) -> Self {
        let (outage, _) = watch::channel(OutageState::default());
        let (serving, _) = watch::channel(true);
        Self {
            data: Mutex::new(parts.data),
            events: parts.events,
            limiter: Mutex::new(parts.limiter),
            operating: Mutex::new(parts.operating),
            faults: Mutex::new(Faults::default()),
            outage,
            serving,
            log: Mutex::new(parts.log),
            webhooks: RwLock::new(parts.webhooks),
            base_url: parts.base_url,
            offset: parts.offset,
            staff_fields: parts.staff_fields,
            max_body_bytes: parts.max_body_bytes,
        }
    }

    /// Runs `change` on the data and then queues the events it produced.
    pub(crate) fn mutate<T>(&self, change: impl FnOnce(&mut PortalData) -> T) -> T {
        let (out, events) = {
            let mut data = lock(&self.data);
            let out = change(&mut data);
            (out, data.take_events())
        };
        self.events.dispatch(events);
        out
    }

    /// Runs `read` on the data without changing it.
    pub(crate) fn read<T>(&self, read: impl FnOnce(&PortalData) -> T) -> T {
        read(&lock(&self.data))
    }

    /// Finds the webhook with this user id and secret.
    pub(crate) fn webhook(&self, user: &str, secret: &str) -> Option<WebhookCredentials> {
        let webhooks = self.webhooks.read().unwrap_or_else(PoisonError::into_inner);
        webhooks
            .iter()
            .find(|w| w.user_id().to_string() == user && w.secret() == secret)
            .cloned()
    }

    pub(crate) fn first_webhook(&self) -> Option<WebhookCredentials> {
        let webhooks = self.webhooks.read().unwrap_or_else(PoisonError::into_inner);
        webhooks.first().cloned()
    }
}
