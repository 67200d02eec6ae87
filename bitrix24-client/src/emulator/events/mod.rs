//! Outgoing webhooks: handler registrations, the delivery queue and its log.
//!
//! Like the real portal, delivery is at most once and never retried: a
//! handler that is down or slow simply misses the event. Tests can also drop
//! or duplicate deliveries on purpose and wait until the queue is empty.

mod delivery;

use std::sync::{Arc, Mutex};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::{mpsc, watch};

use super::data::PortalEvent;
use super::error::{EmulatorError, Result};
use super::state::lock;

pub(crate) use delivery::spawn_worker;

/// Events an outgoing webhook cannot subscribe to (only applications get them via `event.bind`).
const APP_ONLY_EVENTS: &[&str] = &["ONCRMDEALMOVETOCATEGORY"];

/// What happened to one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// The handler responded with this HTTP status (any status: the portal does not retry).
    Delivered {
        /// The handler's HTTP status.
        status: u16,
    },
    /// The POST failed (connection refused, timeout); the event is lost.
    Failed {
        /// Why the POST failed.
        reason: String,
    },
    /// The delivery was dropped on purpose by a test policy.
    Dropped,
}

/// One delivery of one event to one handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The `event_handler_id` of the registration.
    pub handler_id: u64,
    /// The event name, e.g. `ONCRMDEALUPDATE`.
    pub event: String,
    /// The id of the changed record (`data[FIELDS][ID]`).
    pub entity_id: u64,
    /// The handler URL.
    pub url: String,
    /// What happened.
    pub outcome: DeliveryOutcome,
}

#[derive(Clone, Debug)]
pub(crate) struct Handler {
    pub(crate) id: u64,
    pub(crate) event: String,
    pub(crate) url: String,
    pub(crate) token: String,
}

/// The `auth[...]` block of every event.
#[derive(Clone, Debug)]
pub(crate) struct EventAuth {
    pub(crate) domain: String,
    pub(crate) client_endpoint: String,
    pub(crate) server_endpoint: String,
    pub(crate) member_id: String,
}

/// One queued POST.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) handler: Handler,
    pub(crate) event: PortalEvent,
}

#[derive(Debug, Default)]
struct Policy {
    drop_next: u64,
    drop_ratio: Option<(f64, StdRng)>,
    duplicate_next: u64,
}

impl Policy {
    fn should_drop(&mut self) -> bool {
        if self.drop_next > 0 {
            self.drop_next -= 1;
            return true;
        }
        match &mut self.drop_ratio {
            Some((ratio, rng)) => rng.random::<f64>() < *ratio,
            None => false,
        }
    }

    fn should_duplicate(&mut self) -> bool {
        if self.duplicate_next > 0 {
            self.duplicate_next -= 1;
            return true;
        }
        false
    }
}

#[derive(Debug)]
struct HubState {
    handlers: Vec<Handler>,
    next_handler_id: u64,
    policy: Policy,
    deliveries: Vec<DeliveryRecord>,
}

/// The registry of outgoing webhooks and the sender side of the delivery queue.
#[derive(Debug)]
pub(crate) struct EventHub {
    state: Mutex<HubState>,
    queue: mpsc::UnboundedSender<Job>,
    pending: watch::Sender<usize>,
    pub(crate) auth: EventAuth,
}

impl EventHub {
    pub(crate) fn new(auth: EventAuth) -> (Arc<Self>, mpsc::UnboundedReceiver<Job>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let (pending, _) = watch::channel(0);
        let hub = Arc::new(Self {
            state: Mutex::new(HubState {
                handlers: Vec::new(),
                next_handler_id: 1,
                policy: Policy::default(),
                deliveries: Vec::new(),
            }),
            queue,
            pending,
            auth,
        });
        (hub, receiver)
    }

    pub(crate) fn register(&self, event: &str, url: &str, token: &str) -> Result<u64> {
        let event = event.trim().to_ascii_uppercase();
        if APP_ONLY_EVENTS.contains(&event.as_str()) {
            return Err(EmulatorError::EventNotOffered(event));
        }
        if url::Url::parse(url).map(|u| u.scheme().starts_with("http")) != Ok(true) {
            return Err(EmulatorError::InvalidHandlerUrl {
                url: url.to_owned(),
            });
        }

        let mut state = lock(&self.state);
        let id = state.next_handler_id;
        state.next_handler_id += 1;
        state.handlers.push(Handler {
            id,
            event,
            url: url.to_owned(),
            token: token.to_owned(),
        });
        Ok(id)
    }

    pub(crate) fn unregister(&self, handler_id: u64) -> bool {
        let mut state = lock(&self.state);
        let before = state.handlers.len();
        state.handlers.retain(|h| h.id != handler_id);
        state.handlers.len() != before
    }

    /// Queues one POST per matching handler for each event.
    pub(crate) fn dispatch(&self, events: Vec<PortalEvent>) {
        if events.is_empty() {
            return;
        }
        let mut state = lock(&self.state);
        for event in events {
            let handlers: Vec<Handler> = state
                .handlers
                .iter()
                .filter(|h| h.event == event.name)
                .cloned()
                .collect();
            for handler in handlers {
                self.queue_one(&mut state, handler, event.clone());
            }
        }
    }

    fn queue_one(&self, state: &mut HubState, handler: Handler, event: PortalEvent) {
        if state.policy.should_drop() {
            tracing::debug!(event = %event.name, entity.id = event.id, handler.id = handler.id, "emulator dropped an event on purpose");
            state.deliveries.push(DeliveryRecord {
                handler_id: handler.id,
                event: event.name,
                entity_id: event.id,
                url: handler.url,
                outcome: DeliveryOutcome::Dropped,
            });
            return;
        }

        let copies = if state.policy.should_duplicate() {
            2
        } else {
            1
        };
        for _ in 0..copies {
            self.pending.send_modify(|n| *n += 1);
            let job = Job {
                handler: handler.clone(),
                event: event.clone(),
            };
            if self.queue.send(job).is_err() {
                self.pending.send_modify(|n| *n = n.saturating_sub(1));
            }
        }
    }

    pub(crate) fn finish(&self, record: DeliveryRecord) {
        lock(&self.state).deliveries.push(record);
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// Waits until every queued delivery has been attempted.
    pub(crate) async fn wait_idle(&self) {
        let mut pending = self.pending.subscribe();
        // The sender lives as long as the hub, so this only ends when the count is zero.
        let _ = pending.wait_for(|n| *n == 0).await;
    }

    /// Forgets queued deliveries when the worker stops, so waiting does not hang.
    pub(crate) fn abandon(&self) {
        self.pending.send_replace(0);
    }

    pub(crate) fn deliveries(&self) -> Vec<DeliveryRecord> {
        lock(&self.state).deliveries.clone()
    }

    pub(crate) fn drop_next(&self, count: u64) {
        lock(&self.state).policy.drop_next = count;
    }

    pub(crate) fn drop_ratio(&self, ratio: f64, seed: u64) {
        let ratio = ratio.clamp(0.0, 1.0);
        lock(&self.state).policy.drop_ratio =
            (ratio > 0.0).then(|| (ratio, StdRng::seed_from_u64(seed)));
    }

    pub(crate) fn duplicate_next(&self, count: u64) {
        lock(&self.state).policy.duplicate_next = count;
    }
}
