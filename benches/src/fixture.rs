//! Shared set-up: the rate-limited emulator, case deals, accounts seeded
//! straight into the store, the cabinet's configuration, and waits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bitrix_lk_core::engine::{ResyncMode, SyncEngine, SyncSettings};
use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{
    Account, Argon2Hasher, CreateAccount, Crm, DealId, HashParams, LkConfig, Login, PasswordHash,
    Provisioner, ReferralCode, Store,
};
use bitrix24_client::emulator::{
    Counters, Emulator, EmulatorOptions, NewDeal, Portal, RateLimit, Seed, UfValue, seed,
};
use bitrix24_client::lk::LkCrm;
use jiff::Timestamp;
use rand::Rng;
use rust_decimal::Decimal;
use secrecy::SecretString;

/// The password of every account the benchmarks seed.
pub const PASSWORD: &str = "bench-password-7";

/// Cheap Argon2id parameters for seeded accounts: verifying 64 logins must not
/// dominate the set-up. The `login` scenario uses the configured default instead.
pub const CHEAP_HASH: HashParams = HashParams {
    memory_kib: 1024,
    iterations: 1,
    parallelism: 1,
};

/// The store key the sync engine writes when a resync completes
/// (`sync.watermark` in `bitrix-lk-core`'s resync module).
const WATERMARK_KEY: &str = "sync.watermark";

/// Returns the login of the seeded account of a deal.
pub fn login_of(deal: u64) -> String {
    format!("bench{deal}")
}

/// Starts the emulator with the firm's fields and pipelines, the standard
/// cloud rate limit (2 requests per second, burst 50) and no demo deals.
pub async fn start_emulator() -> anyhow::Result<Emulator> {
    let options = EmulatorOptions::default()
        .seed(Seed::Demo)
        .rate_limit(RateLimit::standard())
        .request_log_capacity(0);
    let emulator = Emulator::start(options)
        .await
        .context("failed to start the Bitrix24 emulator")?;
    let portal = emulator.portal();
    // No handler is registered yet, so these deletions send no events.
    for deal in portal.deal_ids() {
        portal.delete_deal(deal)?;
    }
    Ok(emulator)
}

/// A client's deal mid-case: in «Исполнение Юр. отдел» at «Реструктуризация
/// долгов», with a contract sum, a message, a court link, a status and two of
/// the sixteen documents.
pub fn case_deal() -> NewDeal {
    let pdf = b"%PDF-1.4\n% lk-bench\n".to_vec();
    NewDeal::new("Банкротство физического лица")
        .pipeline(seed::EXECUTION_PIPELINE_ID)
        .stage(seed::STAGE_RESTRUCTURING)
        .amount(Decimal::from(180_000))
        .field(seed::FIELD_CONTRACT_SUM, UfValue::rubles(180_000))
        .field(
            seed::FIELD_MESSAGE,
            UfValue::text("Судебное заседание назначено на 15 число."),
        )
        .field(
            seed::FIELD_COURT_LINK,
            UfValue::text("https://kad.arbitr.ru/Card/4c5e6f1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"),
        )
        .field(seed::FIELD_STATUS, UfValue::text("Ожидаем решение суда"))
        .field(
            seed::DOCUMENT_FIELDS[0].0,
            UfValue::file("passport.pdf", pdf.clone()),
        )
        .field(seed::DOCUMENT_FIELDS[2].0, UfValue::file("snils.pdf", pdf))
}

/// Creates `count` case deals without sending events; returns their ids.
pub fn generate_case_deals(portal: &Portal, count: u64) -> anyhow::Result<Vec<u64>> {
    let ids = portal.generate_deals(count, &case_deal())?;
    Ok(ids.collect())
}

/// Returns the cabinet's configuration against the emulator: the firm's
/// defaults, one application token and the store at `store`. The incremental
/// resync runs once an hour, out of the measured window, because it reads
/// Bitrix24 on a timer, not for pages or events, and would blur the counts.
pub fn cabinet_config(emulator: &Emulator, token: &str, store: PathBuf) -> LkConfig {
    let mut config = LkConfig::default();
    config.bitrix24.webhook_url = Some(SecretString::from(emulator.webhook_url()));
    config.bitrix24.application_tokens = vec![SecretString::from(token.to_owned())];
    config.store.path = store;
    config.sync.incremental_interval_seconds = 3600;
    config
}

/// Opens (and migrates) the SQLite store off the async runtime.
pub async fn open_store(path: &Path) -> anyhow::Result<Arc<SqliteStore>> {
    let path = path.to_path_buf();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await
        .context("opening the store panicked")?
        .context("failed to open the SQLite store")?;
    Ok(Arc::new(store))
}

/// Hashes [`PASSWORD`] once with `params`; seeded accounts share the hash.
pub async fn password_hash(params: HashParams) -> anyhow::Result<PasswordHash> {
    let hasher = Argon2Hasher::new(params)?;
    let hash = tokio::task::spawn_blocking(move || hasher.hash_blocking(PASSWORD))
        .await
        .context("hashing panicked")??;
    Ok(hash)
}

/// Creates an account for each deal straight through the [`Store`] trait, with
/// login [`login_of`], password [`PASSWORD`] and no write-backs queued.
pub async fn seed_accounts(
    store: &dyn Store,
    deals: &[u64],
    hash: &PasswordHash,
) -> anyhow::Result<()> {
    let now = Timestamp::now();
    for &deal in deals {
        let account = Account {
            deal_id: DealId(deal),
            login: Login::new(&login_of(deal)),
            password_hash: hash.clone(),
            referral_code: ReferralCode(format!("BENCH{deal}")),
            created_at: now,
            password_changed_at: now,
            last_login_at: None,
        };
        match store.create_account(&account, &[]).await? {
            CreateAccount::Created => {}
            CreateAccount::AlreadyExists(_) => anyhow::bail!("deal {deal} already has an account"),
        }
    }
    Ok(())
}

/// Seeds a store as a cabinet that has been running would have it. Each of
/// `with_accounts` gets an account through [`seed_accounts`], sharing `hash`.
/// Then one full resync by the sync engine stores every snapshot, pipeline
/// and invoice, with the portal's rate limit lifted so set-up does not wait
/// on it. The limit is back on, with an empty bucket, on return.
pub async fn seed_cabinet(
    emulator: &Emulator,
    store_path: &Path,
    with_accounts: &[u64],
    hash: &PasswordHash,
) -> anyhow::Result<Arc<SqliteStore>> {
    let store = open_store(store_path).await?;
    seed_accounts(store.as_ref(), with_accounts, hash).await?;

    let mut config = cabinet_config(emulator, &random_token(), store_path.to_path_buf());
    config.bitrix24.requests_per_second = 50;
    config.bitrix24.burst = 10_000;
    let engine = sync_engine(Arc::new(config), store.clone())?;

    let portal = emulator.portal();
    portal.set_rate_limit(RateLimit::Off);
    let resynced = engine.resync(ResyncMode::Full, &|_| {}).await;
    portal.set_rate_limit(RateLimit::standard());
    portal.reset_rate_limit();
    resynced.context("the seeding resync failed")?;
    Ok(store)
}

/// Builds the sync engine over the REST adapter and `store`, as lk-web does.
pub fn sync_engine(config: Arc<LkConfig>, store: Arc<SqliteStore>) -> anyhow::Result<SyncEngine> {
    let store: Arc<dyn Store> = store;
    let crm: Arc<dyn Crm> = Arc::new(LkCrm::from_config(config.clone())?);
    let provisioner = Provisioner::new(store.clone(), config.clone());
    Ok(SyncEngine::new(
        crm,
        store,
        provisioner,
        SyncSettings::from_config(&config),
    ))
}

/// Waits until a resync has completed since `since` (the engine writes its
/// watermark at the end of each pass).
pub async fn wait_for_resync(
    store: &dyn Store,
    since: Timestamp,
    limit: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Some(text) = store.get_value(WATERMARK_KEY).await? {
            let mark: Timestamp = text.parse().context("invalid sync watermark")?;
            if mark >= since {
                return Ok(());
            }
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "no resync completed within {} s",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the emulator has delivered every event, the cabinet's queues
/// are empty, and no REST request has arrived for `quiet`. Returns the counters then.
pub async fn wait_until_quiet(
    portal: &Portal,
    store: &dyn Store,
    quiet: Duration,
    limit: Duration,
) -> anyhow::Result<Counters> {
    let started = Instant::now();
    let mut last = portal.counters().requests;
    let mut unchanged_since = Instant::now();
    loop {
        portal.wait_for_deliveries().await;
        let stats = store.queue_stats().await?;
        let requests = portal.counters().requests;
        if requests != last || stats.inbox_pending > 0 || stats.outbox_pending > 0 {
            last = requests;
            unchanged_since = Instant::now();
        } else if unchanged_since.elapsed() >= quiet {
            return Ok(portal.counters());
        }
        anyhow::ensure!(
            started.elapsed() < limit,
            "the cabinet did not settle within {} s (queues: {stats:?})",
            limit.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits long enough for the portal's leaky bucket (2 per second) to drain
/// the `requests` already sent, at most `limit`, so the next phase starts
/// like a cabinet that has been idle.
pub async fn let_bucket_drain(requests: u64, limit: Duration) {
    let wait = Duration::from_millis(requests.saturating_mul(500)).min(limit);
    tokio::time::sleep(wait).await;
}

/// The REST figures between two readings of the counters.
#[derive(Clone, Debug, Default)]
pub struct RestDelta {
    /// HTTP requests to the REST path (a batch counts once).
    pub requests: u64,
    /// Requests answered 503 `QUERY_LIMIT_EXCEEDED`.
    pub rate_limited: u64,
    /// Commands executed inside batches.
    pub batch_commands: u64,
    /// Calls per method, commands inside batches included.
    pub by_method: BTreeMap<String, u64>,
}

impl RestDelta {
    /// Returns what changed from `before` to `after`.
    pub fn between(before: &Counters, after: &Counters) -> Self {
        Self {
            requests: after.requests.saturating_sub(before.requests),
            rate_limited: after.rate_limited.saturating_sub(before.rate_limited),
            batch_commands: after.batch_commands.saturating_sub(before.batch_commands),
            by_method: after
                .by_method
                .iter()
                .map(|(method, count)| {
                    let earlier = before.by_method.get(method).copied().unwrap_or(0);
                    (method.clone(), count.saturating_sub(earlier))
                })
                .filter(|(_, count)| *count > 0)
                .collect(),
        }
    }

    /// Describes the calls per method, e.g. `batch 4, crm.deal.list 201`.
    pub fn describe_methods(&self) -> String {
        self.by_method
            .iter()
            .map(|(method, count)| format!("{method} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Returns a random 32-character token, the shape of an outgoing webhook's application token.
pub fn random_token() -> String {
    rand::rng()
        .sample_iter(&rand::distr::Alphanumeric)
        .take(32)
        .map(|byte| char::from(byte).to_ascii_lowercase())
        .collect()
}
