//! The background loops `lk-web` runs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::Notify;
use tracing::{error, info};

use super::{ResyncMode, SyncEngine};

/// How often the queue loop looks at the outbox when nothing wakes it.
const QUEUE_TICK: Duration = Duration::from_secs(1);

/// The longest pause after repeated failures of a loop.
const MAX_FAILURE_PAUSE: Duration = Duration::from_secs(60);

impl SyncEngine {
    /// Runs the engine until `shutdown` completes: a queue loop (inbox, then
    /// outbox; woken by `wake` when an event arrives, and every second for
    /// due retries) and a resync loop (full at start and nightly, incremental
    /// in between).
    pub async fn run(&self, wake: Arc<Notify>, shutdown: impl Future<Output = ()> + Send) {
        info!("sync engine started");
        tokio::select! {
            () = self.queue_loop(&wake) => {}
            () = self.resync_loop() => {}
            () = shutdown => {}
        }
        info!("sync engine stopped");
    }

    /// Runs inbox and outbox passes until both have nothing left to do.
    /// Returns the number of passes that failed.
    pub async fn drain_queues(&self) -> u32 {
        let mut failures = 0;
        loop {
            let inbox = match self.drain_inbox().await {
                Ok(report) => report.events,
                Err(err) => {
                    error!(error = %err, "inbox pass failed");
                    failures += 1;
                    0
                }
            };
            let outbox = match self.drain_outbox().await {
                Ok(report) => report.done + report.retried + report.parked,
                Err(err) => {
                    error!(error = %err, "outbox pass failed");
                    failures += 1;
                    0
                }
            };
            if (inbox == 0 && outbox == 0) || failures > 0 {
                return failures;
            }
        }
    }

    async fn queue_loop(&self, wake: &Notify) {
        let mut pause = QUEUE_TICK;
        loop {
            let failures = self.drain_queues().await;
            pause = if failures == 0 {
                QUEUE_TICK
            } else {
                (pause * 2).min(MAX_FAILURE_PAUSE)
            };

            tokio::select! {
                () = wake.notified(), if failures == 0 => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn resync_loop(&self) {
        let mut last_full: Option<Timestamp> = None;
        let mut pause = self.settings.incremental_interval;
        loop {
            let mode = if self.full_resync_due(last_full) {
                ResyncMode::Full
            } else {
                ResyncMode::Incremental
            };
            match self.resync(mode, &|_| {}).await {
                Ok(_) => {
                    if mode == ResyncMode::Full {
                        last_full = Some(self.clock.now());
                    }
                    pause = self.settings.incremental_interval;
                }
                Err(err) => {
                    error!(?mode, error = %err, "resync failed; will try again");
                    pause = (pause / 2).max(Duration::from_secs(5));
                }
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Returns whether a full resync is due: never run yet, or in the nightly
    /// hour (Moscow time) and not run in the last 20 hours.
    fn full_resync_due(&self, last_full: Option<Timestamp>) -> bool {
        let Some(last) = last_full else {
            return true;
        };
        let now = self.clock.now();
        let hour = moscow_hour(now);
        let since_last = now.duration_since(last);
        hour == Some(self.settings.nightly_full_hour_msk)
            && since_last >= jiff::SignedDuration::from_hours(20)
    }
}

/// Returns the hour of the day in Moscow, or `None` if the zone is unknown.
fn moscow_hour(at: Timestamp) -> Option<u8> {
    let zone = jiff::tz::TimeZone::get("Europe/Moscow").ok()?;
    u8::try_from(at.to_zoned_datetime(zone).hour()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moscow_hour_is_utc_plus_three() {
        let at: Timestamp = "2026-12-04T00:30:00Z".parse().unwrap();
        assert_eq!(moscow_hour(at), Some(3));
    }
}
