//! Worlds for the reliability suite: the same emulator and cabinet as
//! [`World::start`], with knobs the fault tests need.
//!
//! - The Bitrix24 client retries with millisecond backoff instead of seconds,
//!   and the outbox retries a failed write-back after a few milliseconds, so
//!   an outage of hundreds of calls costs well under a second. Parking after
//!   repeated failures is moved out of reach: a test that wants a write
//!   parked uses a permanent error, not a count of transient ones.
//! - The configuration can be changed before the cabinet starts (login
//!   limits, public URL, branding).
//! - [`settle_through`] keeps draining until both queues are empty, for
//!   queues whose retries the default [`World::settle`] would leave pending.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bitrix_lk_core::engine::{RetryPolicy as OutboxRetry, SyncEngine, SyncSettings};
use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{Crm, LkConfig, QueueStats, Store};
use bitrix24_client::emulator::{
    DeliveryOutcome, Emulator, EmulatorOptions, Portal, RateLimit, RequestRecord, Seed,
};
use bitrix24_client::lk::LkCrm;
use bitrix24_client::{Client, RateLimit as ClientRateLimit, RetryPolicy};
use lk_web::server::{self, Cabinet};
use secrecy::ExposeSecret;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::{SUBSCRIBED_EVENTS, World, csrf_of, test_config};

/// Rounds of [`settle_through`] before it gives up and reports what is left.
const MAX_SETTLE_ROUNDS: usize = 200;

/// What a reliability world is built with.
pub struct WorldOptions {
    seed: Seed,
    configure: Box<dyn FnOnce(&mut LkConfig) + Send>,
}

impl std::fmt::Debug for WorldOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldOptions")
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

impl WorldOptions {
    /// Starts from `seed` with the test configuration of [`test_config`].
    pub fn new(seed: Seed) -> Self {
        Self {
            seed,
            configure: Box::new(|_| {}),
        }
    }

    /// Changes the configuration before the cabinet is assembled.
    pub fn configure(mut self, change: impl FnOnce(&mut LkConfig) + Send + 'static) -> Self {
        self.configure = Box::new(change);
        self
    }
}

/// Starts the emulator (no portal rate limit) and a cabinet with fast
/// retries, the outgoing webhooks registered and the engine stepped by the test.
pub async fn start(options: WorldOptions) -> anyhow::Result<World> {
    let emulator = Emulator::start(
        EmulatorOptions::default()
            .seed(options.seed)
            .rate_limit(RateLimit::Off),
    )
    .await?;
    let portal = emulator.portal();

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let webhook =
        portal.add_outgoing_webhook(&format!("http://{address}/b24/events"), &SUBSCRIBED_EVENTS)?;

    let data = tempfile::tempdir()?;
    let mut config = test_config(
        &emulator,
        webhook.application_token,
        data.path().join("lk.sqlite3"),
    );
    config.bitrix24.requests_per_second = 50;
    config.bitrix24.burst = 10_000;
    (options.configure)(&mut config);
    let config = Arc::new(config);

    let cabinet = fast_cabinet(config)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let state = cabinet.state.clone();
    tokio::spawn(server::serve_without_engine(state, listener, async {
        let _ = stopped.await;
    }));

    Ok(World {
        emulator,
        portal,
        cabinet,
        base_url: format!("http://{address}"),
        stop: Some(stop),
        _data: data,
    })
}

/// Assembles the cabinet over a client and an engine that retry within milliseconds.
fn fast_cabinet(config: Arc<LkConfig>) -> anyhow::Result<Cabinet> {
    let url = config
        .bitrix24
        .webhook_url
        .as_ref()
        .context("the test configuration has no webhook URL")?;
    let client = Client::builder(url.expose_secret())
        .rate_limit(ClientRateLimit {
            per_second: 1_000.0,
            burst: 10_000,
        })
        .retry(RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        })
        .timeout(Duration::from_secs(20))
        .build()?;
    let crm: Arc<dyn Crm> = Arc::new(LkCrm::new(client, config.clone()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&config.store.path)?);

    let mut cabinet = server::assemble_with(config.clone(), store, crm);
    let settings = SyncSettings {
        retry: OutboxRetry {
            base: Duration::from_millis(1),
            max: Duration::from_millis(5),
            max_attempts: 100_000,
        },
        ..SyncSettings::from_config(&config)
    };
    cabinet.engine = SyncEngine::new(
        cabinet.crm.clone(),
        cabinet.store.clone(),
        cabinet.state.provisioner().clone(),
        settings,
    );
    Ok(cabinet)
}

/// Waits for deliveries and drains both queues until they are empty or
/// 200 rounds (`MAX_SETTLE_ROUNDS`) have passed; returns the queue sizes left.
///
/// Each round waits for the outbox's millisecond retry delay to pass, so
/// writes scheduled for a retry become due in the next round.
pub async fn settle_through(world: &World) -> QueueStats {
    let mut stats = QueueStats::default();
    for _ in 0..MAX_SETTLE_ROUNDS {
        world.portal.wait_for_deliveries().await;
        world.cabinet.engine.drain_queues().await;
        world.portal.wait_for_deliveries().await;
        stats = world.cabinet.store.queue_stats().await.unwrap_or_default();
        if stats.inbox_pending == 0 && stats.outbox_pending == 0 {
            break;
        }
        // The outbox retry delay is at most 5 ms plus a quarter; this wait
        // is for that clock, not for a server.
        tokio::time::sleep(Duration::from_millis(8)).await;
    }
    stats
}

/// Counts deliveries by outcome: (delivered with 200, dropped, failed or other status).
pub fn delivery_counts(portal: &Portal) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for delivery in portal.deliveries() {
        match delivery.outcome {
            DeliveryOutcome::Delivered { status: 200 } => counts.0 += 1,
            DeliveryOutcome::Dropped => counts.1 += 1,
            _ => counts.2 += 1,
        }
    }
    counts
}

/// Returns, per deal, the `(login, password)` pairs of every credential
/// write the portal applied (`crm.deal.update` returned 200, alone or in a batch).
pub fn credential_writes(
    requests: &[RequestRecord],
    login_field: &str,
    password_field: &str,
) -> BTreeMap<u64, Vec<(String, String)>> {
    let mut writes: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for request in requests {
        if request.method != "crm.deal.update" || request.status != 200 {
            continue;
        }
        let Some(deal) = request.params.get("id").and_then(number_of) else {
            continue;
        };
        let Some(fields) = request.params.get("fields") else {
            continue;
        };
        let text = |code: &str| fields.get(code).and_then(Value::as_str).map(str::to_owned);
        if let (Some(login), Some(password)) = (text(login_field), text(password_field)) {
            writes.entry(deal).or_default().push((login, password));
        }
    }
    writes
}

fn number_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// A small deterministic generator (SplitMix64) for shuffles and picks in
/// tests, so a failing order can be replayed from its seed.
#[derive(Clone, Debug)]
pub struct SplitMix(u64);

impl SplitMix {
    /// Starts the sequence at `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a number below `bound` (which must not be 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound as u64) as usize
    }

    /// Shuffles `items` in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for index in (1..items.len()).rev() {
            let other = self.below(index + 1);
            items.swap(index, other);
        }
    }
}

/// Builds an outgoing-webhook body as Bitrix24 posts it (literal brackets,
/// form-encoded values) for one deal event.
pub fn deal_event_body(event: &str, deal: u64, token: &str, ts: i64) -> String {
    format!(
        "event={event}&event_handler_id=1&data[FIELDS][ID]={deal}&ts={ts}\
         &auth[domain]=emulator.bitrix24.test&auth[member_id]=m1&auth[application_token]={token}"
    )
}

/// Posts a body to the cabinet's event endpoint; returns the HTTP status.
pub async fn post_event(
    http: &reqwest::Client,
    base_url: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> anyhow::Result<u16> {
    let response = http
        .post(format!("{base_url}/b24/events"))
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

/// Returns the world's first application token.
pub fn application_token(world: &World) -> String {
    world.cabinet.state.config().bitrix24.application_tokens[0]
        .expose_secret()
        .to_owned()
}

/// A client that sends exactly the cookies it is given, like an attacker's script.
#[derive(Debug)]
pub struct Raw {
    /// The HTTP client: no cookie store, no redirects followed.
    pub http: reqwest::Client,
    /// `http://127.0.0.1:PORT` of the cabinet.
    pub base_url: String,
}

/// A response's status, `Location`, `Set-Cookie` headers and body.
#[derive(Debug)]
pub struct RawPage {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// Every `Set-Cookie` header.
    pub cookies: Vec<String>,
    /// The body.
    pub html: String,
}

impl Raw {
    /// Builds a client for `world`'s cabinet.
    pub fn new(world: &World) -> Raw {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client could not be built");
        Raw {
            http,
            base_url: world.base_url.clone(),
        }
    }

    /// Fetches `path` with exactly `cookies` (a `Cookie` header value).
    pub async fn get(&self, path: &str, cookies: &str) -> RawPage {
        let request = self.http.get(format!("{}{path}", self.base_url));
        read(
            request
                .header(COOKIE, cookies)
                .send()
                .await
                .expect("raw request failed"),
        )
        .await
    }

    /// Posts a form to `path` with exactly `cookies`.
    pub async fn post(&self, path: &str, cookies: &str, form: &[(&str, &str)]) -> RawPage {
        let request = self.http.post(format!("{}{path}", self.base_url));
        let request = request.header(COOKIE, cookies).form(form);
        read(request.send().await.expect("raw request failed")).await
    }

    /// Opens the login form; returns the form's CSRF cookie pair and token.
    pub async fn login_form(&self) -> (String, String) {
        let page = self.get("/login", "").await;
        let cookie = page
            .cookies
            .iter()
            .find(|cookie| cookie.starts_with("lk_login_csrf="))
            .expect("the login form set no CSRF cookie");
        (
            pair_of(cookie),
            csrf_of(&page.html).expect("the login form has no CSRF field"),
        )
    }

    /// Logs in carrying `extra_cookies`; returns the login response.
    pub async fn log_in(&self, extra_cookies: &str, login: &str, password: &str) -> RawPage {
        let (pair, csrf) = self.login_form().await;
        let cookies = format!("{pair}; {extra_cookies}");
        self.post(
            "/login",
            &cookies,
            &[("csrf", &csrf), ("login", login), ("password", password)],
        )
        .await
    }
}

async fn read(response: reqwest::Response) -> RawPage {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let location = headers
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let cookies = headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .map(str::to_owned)
        .collect();
    RawPage {
        status,
        location,
        cookies,
        html: response
            .text()
            .await
            .expect("the response body could not be read"),
    }
}

/// Returns the `name=value` pair of the cookie `name` set by a response.
pub fn set_cookie<'a>(page: &'a RawPage, name: &str) -> Option<&'a str> {
    page.cookies
        .iter()
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .map(String::as_str)
}

/// Returns the `name=value` part of a `Set-Cookie` header.
pub fn pair_of(cookie: &str) -> String {
    cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// Returns an HTTP client for posting to the cabinet: no redirects followed,
/// and a timeout so a hung server fails the test instead of stalling it.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("the HTTP client could not be built")
}
