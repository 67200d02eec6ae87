//! Outgoing webhooks, faults, limits, webhooks and the request log.

use std::time::{Duration, Instant};

use super::Portal;
use crate::emulator::error::Result;
use crate::emulator::events::DeliveryRecord;
use crate::emulator::faults::{Fault, Outage, OutageState};
use crate::emulator::log::{Counters, RequestRecord};
use crate::emulator::options::{OperatingLimit, RateLimit, WebhookCredentials, random_token};
use crate::emulator::state::lock;

/// An outgoing webhook as Bitrix24 shows it after creation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingWebhook {
    /// The application token the portal puts in `auth[application_token]`.
    pub application_token: String,
    /// One `event_handler_id` per subscribed event, in the order given.
    pub handler_ids: Vec<u64>,
}

impl Portal {
    /// Subscribes a handler URL to one event with an application token; returns the `event_handler_id`.
    ///
    /// Fails for events outgoing webhooks cannot receive, such as `ONCRMDEALMOVETOCATEGORY`.
    pub fn register_handler(&self, event: &str, url: &str, application_token: &str) -> Result<u64> {
        self.shared.events.register(event, url, application_token)
    }

    /// Creates an outgoing webhook for several events with a new random application token.
    pub fn add_outgoing_webhook(&self, url: &str, events: &[&str]) -> Result<OutgoingWebhook> {
        let application_token = random_token(32);
        let handler_ids = events
            .iter()
            .map(|event| self.register_handler(event, url, &application_token))
            .collect::<Result<_>>()?;
        Ok(OutgoingWebhook {
            application_token,
            handler_ids,
        })
    }

    /// Removes a handler registration; returns whether it existed.
    pub fn remove_handler(&self, handler_id: u64) -> bool {
        self.shared.events.unregister(handler_id)
    }

    /// Waits until every queued event delivery has been attempted.
    pub async fn wait_for_deliveries(&self) {
        self.shared.events.wait_idle().await;
    }

    /// Returns every delivery attempt so far, in order.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.shared.events.deliveries()
    }

    /// Drops the next `count` deliveries (they are recorded as dropped, never sent).
    pub fn drop_next_deliveries(&self, count: u64) {
        self.shared.events.drop_next(count);
    }

    /// Drops each delivery with probability `ratio`, drawn from an RNG seeded with `seed` (0 turns it off).
    pub fn drop_delivery_ratio(&self, ratio: f64, seed: u64) {
        self.shared.events.drop_ratio(ratio, seed);
    }

    /// Sends each of the next `count` deliveries twice.
    pub fn duplicate_next_deliveries(&self, count: u64) {
        self.shared.events.duplicate_next(count);
    }

    /// Makes the next `count` REST requests fail with `fault`.
    pub fn fail_next(&self, count: u32, fault: Fault) {
        lock(&self.shared.faults).push(fault, count, None);
    }

    /// Makes the next `count` requests to `method` fail with `fault`.
    pub fn fail_next_calls_of(&self, method: &str, count: u32, fault: Fault) {
        lock(&self.shared.faults).push(fault, count, Some(method.to_owned()));
    }

    /// Forgets queued faults.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Takes the portal down, for `duration` or until [`Portal::come_up`].
    pub fn go_down(&self, outage: Outage, duration: Option<Duration>) {
        let state = OutageState {
            outage: Some(outage),
            until: duration.map(|d| Instant::now() + d),
        };
        self.shared.outage.send_replace(state);
    }

    /// Ends an outage.
    ///
    /// After a [`Outage::Refused`] outage the socket is bound again in the
    /// background; await [`Portal::wait_until_serving`] before the next request.
    pub fn come_up(&self) {
        self.shared.outage.send_replace(OutageState::default());
    }

    /// Waits until the listening socket is open (`true`) or closed (`false`).
    pub async fn wait_until_serving(&self, serving: bool) {
        let mut state = self.shared.serving.subscribe();
        // The sender lives as long as the portal, so this only ends on the wanted state.
        let _ = state.wait_for(|current| *current == serving).await;
    }

    /// Replaces the request-rate limit and empties the bucket.
    pub fn set_rate_limit(&self, limit: RateLimit) {
        lock(&self.shared.limiter).set_limit(limit);
    }

    /// Empties the rate-limit bucket, as if the portal had been idle.
    pub fn reset_rate_limit(&self) {
        lock(&self.shared.limiter).reset();
    }

    /// Replaces the operation-time budget (`None` turns it off) and forgets used time.
    pub fn set_operating_limit(&self, limit: Option<OperatingLimit>) {
        lock(&self.shared.operating).set_limit(limit);
    }

    /// Adds an incoming webhook.
    pub fn add_webhook(&self, webhook: WebhookCredentials) {
        self.shared
            .webhooks
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(webhook);
    }

    /// Returns the most recent REST calls (up to the log capacity), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).records()
    }

    /// Returns the request counters.
    pub fn counters(&self) -> Counters {
        lock(&self.shared.log).counters.clone()
    }

    /// Empties the request log and resets the counters.
    pub fn clear_request_log(&self) {
        lock(&self.shared.log).clear();
    }
}
