//! Crash safety of the real `lk-web` binary. Events taken while Bitrix24 is
//! down survive `kill -9`. A second `kill -9` in the middle of provisioning
//! loses no account and hands out no second password. After a restart every
//! deal gets its credentials written once.
//!
//! The cabinet runs as a child process against the in-process emulator,
//! with its configuration file and SQLite store in a temporary directory.
//! The test waits on the child's own log lines and `/healthz`, never on
//! fixed sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{Argon2Hasher, DealId, QueueStats, Store};
use bitrix24_client::emulator::seed::{
    CREATE_ACCOUNT_VALUE, EXECUTION_PIPELINE_ID, FIELD_CREATE_ACCOUNT, FIELD_LOGIN, FIELD_MESSAGE,
    FIELD_PASSWORD, STAGE_COLLECTING_DOCUMENTS,
};
use bitrix24_client::emulator::{
    DeliveryOutcome, Emulator, EmulatorOptions, NewDeal, Outage, Portal, RateLimit, Seed, UfValue,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Deals created in the burst.
const DEALS: usize = 50;
/// Message changes per deal after its creation: 50 × (1 + 9) = 500 events.
const UPDATES_PER_DEAL: usize = 9;
/// Accounts created before the second `kill -9`.
const ACCOUNTS_BEFORE_KILL: usize = 25;
/// The application token the cabinet is configured with.
const TOKEN: &str = "crash-test-application-token-0001";
/// The maximum time a phase may take before the test fails.
const PHASE_LIMIT: Duration = Duration::from_secs(60);

/// A running `lk-web` child and its log lines.
struct Cabinet {
    child: Child,
    address: SocketAddr,
    lines: mpsc::UnboundedReceiver<String>,
    log: Vec<String>,
    handlers: Vec<u64>,
}

impl Cabinet {
    /// Starts `lk-web --config`, waits until it listens and points the
    /// portal's outgoing webhooks at it.
    async fn start(config: &Path, portal: &Portal) -> Cabinet {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lk-web"))
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("LK_B24_WEBHOOK_URL")
            .env_remove("LK_B24_APPLICATION_TOKENS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // lk-web logs to standard output (tracing-subscriber's default).
        let output = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(output).lines() {
                let Ok(line) = line else { break };
                if sender.send(strip_ansi(&line)).is_err() {
                    break;
                }
            }
        });

        let mut cabinet = Cabinet {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
            log: Vec::new(),
            handlers: Vec::new(),
        };
        let line = cabinet
            .wait_for(|line| line.contains("cabinet listening"))
            .await;
        cabinet.address = field_of(&line, "address").parse().unwrap();
        let url = format!("http://{}/b24/events", cabinet.address);
        for event in lk_web::demo::SUBSCRIBED_EVENTS {
            cabinet
                .handlers
                .push(portal.register_handler(event, &url, TOKEN).unwrap());
        }
        cabinet
    }

    /// Waits for the next log line matching `wanted` and returns it; fails
    /// the test when the child exits or [`PHASE_LIMIT`] passes first.
    async fn wait_for(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PHASE_LIMIT;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out; log:\n{}", self.log.join("\n")))
                .unwrap_or_else(|| panic!("lk-web exited; log:\n{}", self.log.join("\n")));
            self.log.push(line.clone());
            if wanted(&line) {
                return line;
            }
        }
    }

    /// Takes the log lines written so far without waiting.
    fn drain_log(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.log.push(line);
        }
    }

    /// Kills the process with SIGKILL, as a crash would. The portal keeps
    /// sending events to its address, and they fail as they would in production.
    fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.drain_log();
    }

    /// Removes this process's address from the portal's outgoing webhooks.
    fn unhook(&mut self, portal: &Portal) {
        for handler in self.handlers.drain(..) {
            portal.remove_handler(handler);
        }
    }

    /// Reads `/healthz`.
    async fn health(&self) -> serde_json::Value {
        let mut stream = tokio::net::TcpStream::connect(self.address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for Cabinet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Returns the value of `name=value` in a log line, without quotes.
fn field_of(line: &str, name: &str) -> String {
    let start = line
        .find(&format!("{name}="))
        .unwrap_or_else(|| panic!("no {name}= in {line:?}"))
        + name.len()
        + 1;
    line[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

fn write_config(dir: &Path, webhook_url: &str) -> (PathBuf, PathBuf) {
    let store = dir.join("lk.sqlite3");
    let config = dir.join("lk.toml");
    let text = format!(
        "[bitrix24]\nwebhook_url = \"{webhook_url}\"\napplication_tokens = [\"{TOKEN}\"]\n\
         requests_per_second = 50\nburst = 10000\n\n\
         [web]\nlisten = \"127.0.0.1:0\"\n\n\
         [store]\npath = \"{}\"\n\n\
         [accounts]\nhash_memory_kib = 1024\nhash_iterations = 1\n",
        store.display()
    );
    std::fs::write(&config, text).unwrap();
    (config, store)
}

async fn store_state(path: &Path) -> (QueueStats, BTreeSet<u64>) {
    let store = SqliteStore::open(path).unwrap();
    let stats = store.queue_stats().await.unwrap();
    let accounts = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|account| account.deal_id.get())
        .collect();
    (stats, accounts)
}

/// Returns the deals whose credentials a log reports written.
fn credentials_logged(log: &[String]) -> BTreeSet<u64> {
    log.iter()
        .filter(|line| line.contains("wrote deal fields") && line.contains("credentials"))
        .map(|line| field_of(line, "deal").parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_event_and_no_password() {
    let emulator = Emulator::start(
        EmulatorOptions::default()
            .seed(Seed::Demo)
            .rate_limit(RateLimit::Off),
    )
    .await
    .unwrap();
    let portal = emulator.portal();
    let dir = tempfile::tempdir().unwrap();
    let (config, store_path) = write_config(dir.path(), &emulator.webhook_url());

    // Phase 1: Bitrix24 is down; 500 events arrive and the process dies.
    portal.go_down(Outage::ServiceUnavailable, None);
    let mut first = Cabinet::start(&config, &portal).await;
    let mut deals = Vec::new();
    for index in 0..DEALS {
        let deal = portal
            .create_deal(
                NewDeal::new(format!("Банкротство: клиент {index}"))
                    .pipeline(EXECUTION_PIPELINE_ID)
                    .stage(STAGE_COLLECTING_DOCUMENTS)
                    .field(
                        FIELD_CREATE_ACCOUNT,
                        UfValue::EnumLabel(CREATE_ACCOUNT_VALUE.into()),
                    ),
            )
            .unwrap();
        deals.push(deal);
    }
    for round in 0..UPDATES_PER_DEAL {
        for deal in &deals {
            let message = format!("Сообщение {round} для сделки {deal}");
            portal
                .set_field(*deal, FIELD_MESSAGE, UfValue::text(message))
                .unwrap();
        }
    }
    portal.wait_for_deliveries().await;
    let answered_200 = portal
        .deliveries()
        .iter()
        .filter(|delivery| delivery.outcome == DeliveryOutcome::Delivered { status: 200 })
        .count();
    first.kill_9();
    first.unhook(&portal);
    let (after_first, accounts_first) = store_state(&store_path).await;

    // Phase 2: Bitrix24 is back; the process dies halfway through provisioning.
    portal.come_up();
    let mut second = Cabinet::start(&config, &portal).await;
    for _ in 0..ACCOUNTS_BEFORE_KILL {
        second
            .wait_for(|line| line.contains("client account created"))
            .await;
    }
    second.kill_9();
    let (after_second, accounts_second) = store_state(&store_path).await;
    let written_before_kill = credentials_logged(&second.log);

    // While no cabinet runs, staff change deals: these events are lost.
    let changed_while_dead: Vec<u64> = deals.iter().copied().step_by(5).collect();
    for deal in &changed_while_dead {
        portal
            .set_field(*deal, FIELD_MESSAGE, UfValue::text(format!("Финал {deal}")))
            .unwrap();
    }
    portal.wait_for_deliveries().await;
    let lost = portal
        .deliveries()
        .iter()
        .filter(|delivery| matches!(delivery.outcome, DeliveryOutcome::Failed { .. }))
        .count();

    second.unhook(&portal);

    // Phase 3: a restart finishes everything.
    let mut third = Cabinet::start(&config, &portal).await;
    third.wait_for(|line| line.contains("resync done")).await;
    let deadline = Instant::now() + PHASE_LIMIT;
    loop {
        let health = third.health().await;
        let written = deals
            .iter()
            .all(|deal| portal.field_text(*deal, FIELD_PASSWORD).is_some());
        let idle = health["inbox_pending"] == 0 && health["outbox_pending"] == 0;
        if written && idle {
            break;
        }
        assert!(Instant::now() < deadline, "not settled: {health}");
        // `/healthz` is the only signal a separate process gives; poll it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    third.kill_9();
    let (after_third, accounts_third) = store_state(&store_path).await;

    println!(
        "figures: {answered_200} events answered 200 while Bitrix24 was down; \
         {} accounts, {} pending writes and {} pending events at the second kill; \
         {lost} deliveries lost while no cabinet ran",
        accounts_second.len(),
        after_second.outbox_pending,
        after_second.inbox_pending
    );
    assert_eq!(answered_200, DEALS * (1 + UPDATES_PER_DEAL));
    assert_eq!(
        after_first.inbox_pending, answered_200 as u64,
        "every event answered 200 must be on disk after kill -9"
    );
    assert!(accounts_first.is_empty());
    assert!(accounts_second.len() >= ACCOUNTS_BEFORE_KILL);
    assert_eq!(lost, changed_while_dead.len());
    assert_eq!(after_third.inbox_pending, 0);
    assert_eq!(after_third.outbox_pending, 0);
    assert_eq!(after_third.outbox_parked, 0);
    for deal in &accounts_second {
        assert!(accounts_third.contains(deal), "account of deal {deal} lost");
    }

    let store = SqliteStore::open(&store_path).unwrap();
    let hasher = Argon2Hasher::default();
    let writes = credential_writes(&portal);
    for deal in &deals {
        let account = store
            .account_by_deal(DealId(*deal))
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("deal {deal} has no account"));
        let deal_writes = writes.get(deal).cloned().unwrap_or_default();
        let distinct: BTreeSet<_> = deal_writes.iter().collect();
        assert_eq!(distinct.len(), 1, "deal {deal}: {deal_writes:?}");
        // A second identical write is allowed only when the crash cut off
        // the response to the first, so the cabinet never saw it succeed.
        assert!(
            deal_writes.len() == 1
                || (deal_writes.len() == 2 && !written_before_kill.contains(deal)),
            "deal {deal} got {} credential writes",
            deal_writes.len()
        );
        let (login, password) = &deal_writes[0];
        assert_eq!(account.login.as_str(), login);
        assert_eq!(
            portal.field_text(*deal, FIELD_PASSWORD).as_ref(),
            Some(password)
        );
        assert!(
            hasher
                .verify(&account.password_hash, password)
                .await
                .unwrap(),
            "deal {deal}: the password in Bitrix24 does not open its account"
        );
    }
    for deal in &changed_while_dead {
        let snapshot = store.deal(DealId(*deal)).await.unwrap().unwrap();
        let message = snapshot
            .field(&bitrix_lk_core::FieldCode(FIELD_MESSAGE.to_owned()))
            .as_text();
        assert_eq!(message, Some(format!("Финал {deal}")), "deal {deal}");
    }
}

/// Returns, per deal, the credential writes the portal applied and returned 200 for.
fn credential_writes(portal: &Portal) -> BTreeMap<u64, Vec<(String, String)>> {
    let mut writes: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
    for request in portal.requests() {
        if request.method != "crm.deal.update" || request.status != 200 {
            continue;
        }
        let deal = match request.params.get("id") {
            Some(serde_json::Value::Number(number)) => number.as_u64(),
            Some(serde_json::Value::String(text)) => text.parse().ok(),
            _ => None,
        };
        let fields = request.params.get("fields");
        let text = |code: &str| {
            fields
                .and_then(|fields| fields.get(code))
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        if let (Some(deal), Some(login), Some(password)) =
            (deal, text(FIELD_LOGIN), text(FIELD_PASSWORD))
        {
            writes.entry(deal).or_default().push((login, password));
        }
    }
    writes
}
