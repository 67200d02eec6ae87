//! `page`: «Мое дело» under 64 concurrent logged-in clients, with 10,000
//! accounts in the store, served by the real `lk-web` binary.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use jiff::Timestamp;
use lk_web::demo::SUBSCRIBED_EVENTS;

use crate::Context;
use crate::child::{self, LkWeb};
use crate::fixture::{self, RestDelta};
use crate::http::Browser;
use crate::load::{self, LoadResult, LoadSpec};
use crate::report::{Figure, ScenarioReport, Target};

/// Deals in the portal, each with an account in the store.
const ACCOUNTS: u64 = 10_000;
/// Logged-in clients sending requests at the same time.
const CLIENTS: usize = 64;
/// The maximum number of requests one measured run sends.
const MAX_REQUESTS: u64 = 200_000;
/// The length of one measured run.
const RUN: Duration = Duration::from_secs(8);
/// The unmeasured run before each measured one.
const WARM_UP: Duration = Duration::from_secs(2);

/// Runs the scenario.
pub async fn run(ctx: &Context) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("page");
    let emulator = fixture::start_emulator().await?;
    let portal = emulator.portal();
    let deals = fixture::generate_case_deals(&portal, ACCOUNTS)?;

    let dir = tempfile::tempdir()?;
    let store_path = dir.path().join("lk.sqlite3");
    let seeding = Instant::now();
    let hash = fixture::password_hash(fixture::CHEAP_HASH).await?;
    let store = fixture::seed_cabinet(&emulator, &store_path, &deals, &hash).await?;
    report.note(format!(
        "{ACCOUNTS} case deals in the emulator; {ACCOUNTS} accounts created through \
         Store::create_account and their snapshots stored by an unthrottled full resync, in \
         {:.1} s",
        seeding.elapsed().as_secs_f64()
    ));

    let address = child::free_loopback_address()?;
    let handler = format!("http://{address}/b24/events");
    let webhook = portal.add_outgoing_webhook(&handler, &SUBSCRIBED_EVENTS)?;
    let config = fixture::cabinet_config(&emulator, &webhook.application_token, store_path.clone());
    let config_path = dir.path().join("lk.toml");
    child::write_config(&config, address, &config_path)?;

    let seeded = portal.counters();
    let started_at = Timestamp::now();
    let launched = Instant::now();
    let lk_web = LkWeb::start(
        &ctx.lk_web()?,
        &config_path,
        address,
        &ctx.out_dir.join("page-lk-web.log"),
    )
    .await?;
    fixture::wait_for_resync(store.as_ref(), started_at, Duration::from_secs(120)).await?;
    let start_up = RestDelta::between(&seeded, &portal.counters());
    report.push(Figure::info(
        "lk-web launch until its start-up full resync is done",
        launched.elapsed().as_secs_f64(),
        "s",
    ));
    report.push(Figure::info(
        "lk-web start-up full resync REST requests",
        start_up.requests as f64,
        "",
    ));

    let after_start_up_kib = lk_web.rss_kib()?;
    let browsers = log_in_clients(address, &deals).await?;
    let before = fixture::wait_until_quiet(
        &portal,
        store.as_ref(),
        Duration::from_secs(2),
        Duration::from_secs(60),
    )
    .await?;
    let before_runs_kib = lk_web.rss_kib()?;

    let (browsers, page) = load::run(browsers, &spec("/")).await?;
    let (browsers, stylesheet) = load::run(browsers, &spec("/static/style.css")).await?;
    let (_browsers, health) = load::run(browsers, &spec("/healthz")).await?;
    // Anything a page view had asked of Bitrix24 would have arrived by now.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rest = RestDelta::between(&before, &portal.counters());
    let peak_kib = lk_web.peak_rss_kib()?;
    let rss_kib = lk_web.rss_kib()?;
    lk_web.stop().await?;
    emulator.shutdown().await;

    push_run(&mut report, "GET /", &page, Some(Target::Below(25.0)));
    push_run(&mut report, "GET /static/style.css", &stylesheet, None);
    push_run(&mut report, "GET /healthz", &health, None);
    report.push(Figure::info(
        "GET / body size",
        page.mean_body_bytes(),
        "bytes",
    ));
    report.push(Figure::checked(
        "GET / rate / static rate",
        page.rate() / stylesheet.rate().max(f64::EPSILON),
        "",
        Target::AtLeast(0.25),
    ));
    report.push(Figure::checked(
        "REST requests during the page runs",
        rest.requests as f64,
        "",
        Target::AtMost(0.0),
    ));
    report.push(Figure::checked(
        "lk-web peak RSS (VmHWM)",
        peak_kib as f64 / 1024.0,
        "MiB",
        Target::Below(80.0),
    ));
    report.push(Figure::info(
        "lk-web RSS after the start-up resync (VmRSS)",
        after_start_up_kib as f64 / 1024.0,
        "MiB",
    ));
    report.push(Figure::info(
        "lk-web RSS after 64 logins (VmRSS)",
        before_runs_kib as f64 / 1024.0,
        "MiB",
    ));
    report.push(Figure::info(
        "lk-web RSS after the runs (VmRSS)",
        rss_kib as f64 / 1024.0,
        "MiB",
    ));
    report.note(format!(
        "{CLIENTS} keep-alive connections, each logged in as a different client; each path: \
         {} s warm-up, then {} s or {MAX_REQUESTS} requests; the load generator shares the \
         machine with lk-web",
        WARM_UP.as_secs(),
        RUN.as_secs()
    ));
    Ok(report)
}

fn spec(path: &str) -> LoadSpec {
    LoadSpec {
        path: path.to_owned(),
        warm_up: WARM_UP,
        duration: RUN,
        max_requests: MAX_REQUESTS,
    }
}

/// Logs in one client per connection, spread over the deals, and checks that
/// each sees the case page (not the debtor page or a "data is loading" page).
async fn log_in_clients(
    address: std::net::SocketAddr,
    deals: &[u64],
) -> anyhow::Result<Vec<Browser>> {
    let step = (deals.len() / CLIENTS).max(1);
    let mut browsers = Vec::with_capacity(CLIENTS);
    for index in 0..CLIENTS {
        let deal = *deals
            .get(index * step)
            .context("fewer deals than clients")?;
        let mut browser = Browser::connect(address).await?;
        browser
            .log_in(&fixture::login_of(deal), fixture::PASSWORD)
            .await?;
        let page = browser.get("/").await?;
        anyhow::ensure!(
            page.status.is_success() && page.text().contains("data-progress="),
            "deal {deal}: GET / is not the case page (status {})",
            page.status
        );
        browsers.push(browser);
    }
    Ok(browsers)
}

fn push_run(report: &mut ScenarioReport, label: &str, run: &LoadResult, p99: Option<Target>) {
    report.push(Figure::info(
        format!("{label} requests/s"),
        run.rate(),
        "req/s",
    ));
    report.push(Figure::info(
        format!("{label} p50 latency"),
        run.latency_ms(0.50),
        "ms",
    ));
    let p99_name = format!("{label} p99 latency");
    report.push(match p99 {
        Some(target) => Figure::checked(p99_name, run.latency_ms(0.99), "ms", target),
        None => Figure::info(p99_name, run.latency_ms(0.99), "ms"),
    });
    report.push(Figure::checked(
        format!("{label} failed requests"),
        run.errors as f64,
        "",
        Target::AtMost(0.0),
    ));
}
