//! A closed-loop load run: every browser sends its next request as soon as
//! the response to the previous one arrives, until a request count or a duration is reached.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hyper::StatusCode;

use crate::http::Browser;

/// The request path and the stop conditions of a run.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// The path every request fetches.
    pub path: String,
    /// Unmeasured time before the measured run (warms caches and connections).
    pub warm_up: Duration,
    /// The longest measured run.
    pub duration: Duration,
    /// The maximum number of requests the measured run sends.
    pub max_requests: u64,
}

/// The outcome of a measured run.
#[derive(Clone, Debug)]
pub struct LoadResult {
    /// Requests with status 200.
    pub ok: u64,
    /// Requests with another status, or failed.
    pub errors: u64,
    /// The measured run's length.
    pub elapsed: Duration,
    /// Latencies of the 200 responses, sorted ascending.
    pub latencies: Vec<Duration>,
    /// Bytes of body received in 200 responses.
    pub body_bytes: u64,
}

impl LoadResult {
    /// Returns 200 responses per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }

    /// Returns the latency at `quantile` (0 to 1) in milliseconds.
    pub fn latency_ms(&self, quantile: f64) -> f64 {
        percentile(&self.latencies, quantile).as_secs_f64() * 1000.0
    }

    /// Returns the mean body size of the 200 responses in bytes.
    pub fn mean_body_bytes(&self) -> f64 {
        self.body_bytes as f64 / self.ok.max(1) as f64
    }
}

/// Returns the value at `quantile` of sorted samples (nearest rank), or zero.
pub fn percentile(sorted: &[Duration], quantile: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

struct Shared {
    path: String,
    issued: AtomicU64,
    max_requests: u64,
}

struct Tally {
    ok: u64,
    errors: u64,
    body_bytes: u64,
    latencies: Vec<Duration>,
}

/// Runs the warm-up and then the measured run with every browser; returns the
/// browsers (still logged in) and the measured figures.
pub async fn run(
    browsers: Vec<Browser>,
    spec: &LoadSpec,
) -> anyhow::Result<(Vec<Browser>, LoadResult)> {
    let (browsers, _) = run_phase(browsers, &spec.path, spec.warm_up, spec.max_requests).await?;
    let started = Instant::now();
    let (browsers, tallies) =
        run_phase(browsers, &spec.path, spec.duration, spec.max_requests).await?;
    let elapsed = started.elapsed();

    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        elapsed,
        latencies: Vec::new(),
        body_bytes: 0,
    };
    for tally in tallies {
        result.ok += tally.ok;
        result.errors += tally.errors;
        result.body_bytes += tally.body_bytes;
        result.latencies.extend(tally.latencies);
    }
    result.latencies.sort_unstable();
    Ok((browsers, result))
}

async fn run_phase(
    browsers: Vec<Browser>,
    path: &str,
    duration: Duration,
    max_requests: u64,
) -> anyhow::Result<(Vec<Browser>, Vec<Tally>)> {
    let shared = Arc::new(Shared {
        path: path.to_owned(),
        issued: AtomicU64::new(0),
        max_requests,
    });
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = browsers
        .into_iter()
        .map(|browser| tokio::spawn(drive(browser, shared.clone(), deadline)))
        .collect();

    let mut browsers = Vec::with_capacity(tasks.len());
    let mut tallies = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (browser, tally) = task.await.context("a load task panicked")??;
        browsers.push(browser);
        tallies.push(tally);
    }
    Ok((browsers, tallies))
}

async fn drive(
    mut browser: Browser,
    shared: Arc<Shared>,
    deadline: Instant,
) -> anyhow::Result<(Browser, Tally)> {
    let mut tally = Tally {
        ok: 0,
        errors: 0,
        body_bytes: 0,
        latencies: Vec::new(),
    };
    while Instant::now() < deadline
        && shared.issued.fetch_add(1, Ordering::Relaxed) < shared.max_requests
    {
        let sent = Instant::now();
        let reply = browser.get(&shared.path).await?;
        let latency = sent.elapsed();
        if reply.status == StatusCode::OK {
            tally.ok += 1;
            tally.body_bytes += reply.body.len() as u64;
            tally.latencies.push(latency);
        } else {
            tally.errors += 1;
        }
    }
    Ok((browser, tally))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_uses_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&samples, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&samples, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
