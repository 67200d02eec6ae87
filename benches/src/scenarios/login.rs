//! `login`: the default Argon2id parameters, the time of one hash, and
//! `POST /login` round trips of the real `lk-web` binary, one client at a time
//! and many at once.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bitrix_lk_core::{Argon2Hasher, LkConfig};
use jiff::Timestamp;

use crate::Context;
use crate::child::{self, LkWeb};
use crate::fixture;
use crate::http::{Browser, csrf_of};
use crate::load::percentile;
use crate::report::{Figure, ScenarioReport};

/// Accounts to log in as.
const ACCOUNTS: u64 = 32;
/// Logins one after another.
const SEQUENTIAL_LOGINS: usize = 40;
/// Clients logging in at the same moment.
const CONCURRENT_CLIENTS: usize = 32;
/// Logins per concurrent client.
const LOGINS_PER_CLIENT: usize = 3;
/// Hashes timed in this process.
const HASH_SAMPLES: usize = 5;

/// Runs the scenario.
pub async fn run(ctx: &Context) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("login");
    let params = LkConfig::default().accounts.hash_params();
    report.push(Figure::info(
        "Argon2id memory",
        f64::from(params.memory_kib),
        "KiB",
    ));
    report.push(Figure::info(
        "Argon2id passes",
        f64::from(params.iterations),
        "",
    ));
    report.push(Figure::info(
        "Argon2id lanes",
        f64::from(params.parallelism),
        "",
    ));
    report.push(Figure::info(
        "one hash in this process (median)",
        hash_time(params).await?.as_secs_f64() * 1000.0,
        "ms",
    ));

    let emulator = fixture::start_emulator().await?;
    let portal = emulator.portal();
    let deals = fixture::generate_case_deals(&portal, ACCOUNTS)?;
    let dir = tempfile::tempdir()?;
    let store_path = dir.path().join("lk.sqlite3");
    let store = fixture::open_store(&store_path).await?;
    let hash = fixture::password_hash(params).await?;
    fixture::seed_accounts(store.as_ref(), &deals, &hash).await?;

    let address = child::free_loopback_address()?;
    let config = fixture::cabinet_config(&emulator, &fixture::random_token(), store_path);
    let config_path = dir.path().join("lk.toml");
    child::write_config(&config, address, &config_path)?;
    let started_at = Timestamp::now();
    let lk_web = LkWeb::start(
        &ctx.lk_web()?,
        &config_path,
        address,
        &ctx.out_dir.join("login-lk-web.log"),
    )
    .await?;
    fixture::wait_for_resync(store.as_ref(), started_at, Duration::from_secs(60)).await?;
    let rss_before_kib = lk_web.rss_kib()?;

    let mut sequential = Vec::with_capacity(SEQUENTIAL_LOGINS);
    let mut browser = Browser::connect(address).await?;
    for index in 0..SEQUENTIAL_LOGINS {
        let deal = deals[index % deals.len()];
        sequential.push(timed_login(&mut browser, deal).await?);
    }
    sequential.sort_unstable();

    let wave_started = Instant::now();
    let mut tasks = Vec::with_capacity(CONCURRENT_CLIENTS);
    for index in 0..CONCURRENT_CLIENTS {
        let deal = deals[index % deals.len()];
        tasks.push(tokio::spawn(log_in_repeatedly(address, deal)));
    }
    let mut concurrent = Vec::with_capacity(CONCURRENT_CLIENTS * LOGINS_PER_CLIENT);
    for task in tasks {
        concurrent.extend(task.await.context("a login task panicked")??);
    }
    let wave = wave_started.elapsed();
    concurrent.sort_unstable();
    let peak_kib = lk_web.peak_rss_kib()?;
    lk_web.stop().await?;
    emulator.shutdown().await;

    let ms = |value: Duration| value.as_secs_f64() * 1000.0;
    report.push(Figure::info(
        "POST /login p50, one client",
        ms(percentile(&sequential, 0.50)),
        "ms",
    ));
    report.push(Figure::info(
        "POST /login p99, one client",
        ms(percentile(&sequential, 0.99)),
        "ms",
    ));
    report.push(Figure::info(
        format!("POST /login p50, {CONCURRENT_CLIENTS} clients at once"),
        ms(percentile(&concurrent, 0.50)),
        "ms",
    ));
    report.push(Figure::info(
        format!("POST /login p99, {CONCURRENT_CLIENTS} clients at once"),
        ms(percentile(&concurrent, 0.99)),
        "ms",
    ));
    report.push(Figure::info(
        format!("logins/s, {CONCURRENT_CLIENTS} clients at once"),
        concurrent.len() as f64 / wave.as_secs_f64(),
        "req/s",
    ));
    report.push(Figure::info(
        "lk-web RSS before the logins",
        rss_before_kib as f64 / 1024.0,
        "MiB",
    ));
    report.push(Figure::info(
        "lk-web peak RSS after the logins",
        peak_kib as f64 / 1024.0,
        "MiB",
    ));
    report.note(format!(
        "{SEQUENTIAL_LOGINS} logins one after another, then {CONCURRENT_CLIENTS} clients \
         logging in {LOGINS_PER_CLIENT} times each at once; only the POST is timed, the \
         GET /login before it is not"
    ));
    Ok(report)
}

/// Returns the median time of [`HASH_SAMPLES`] hashes with `params`.
async fn hash_time(params: bitrix_lk_core::HashParams) -> anyhow::Result<Duration> {
    let hasher = Argon2Hasher::new(params)?;
    let samples = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Duration>> {
        let mut samples = Vec::with_capacity(HASH_SAMPLES);
        for _ in 0..HASH_SAMPLES {
            let started = Instant::now();
            hasher.hash_blocking(fixture::PASSWORD)?;
            samples.push(started.elapsed());
        }
        samples.sort_unstable();
        Ok(samples)
    })
    .await
    .context("hashing panicked")??;
    Ok(percentile(&samples, 0.5))
}

async fn log_in_repeatedly(address: SocketAddr, deal: u64) -> anyhow::Result<Vec<Duration>> {
    let mut browser = Browser::connect(address).await?;
    let mut times = Vec::with_capacity(LOGINS_PER_CLIENT);
    for _ in 0..LOGINS_PER_CLIENT {
        times.push(timed_login(&mut browser, deal).await?);
    }
    Ok(times)
}

/// Fetches the login form, then times the `POST /login` that logs in as `deal`'s client.
async fn timed_login(browser: &mut Browser, deal: u64) -> anyhow::Result<Duration> {
    let form = browser.get("/login").await?;
    let csrf = csrf_of(&form.text()).context("the login form has no CSRF field")?;
    let login = fixture::login_of(deal);
    let started = Instant::now();
    let reply = browser
        .post_form(
            "/login",
            &[
                ("csrf", &csrf),
                ("login", &login),
                ("password", fixture::PASSWORD),
            ],
        )
        .await?;
    let elapsed = started.elapsed();
    anyhow::ensure!(
        reply.location.as_deref() == Some("/"),
        "login {login} was rejected: status {}",
        reply.status
    );
    Ok(elapsed)
}
