//! `sync`: a full resync of 10,000 and of 100,000 deals by the sync engine
//! over the real REST adapter, against the lower bound of REST requests.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitrix_lk_core::engine::{ResyncMode, ResyncReport};
use bitrix24_client::emulator::Emulator;

use crate::Context;
use crate::fixture::{self, RestDelta};
use crate::report::{Figure, ScenarioReport, Target};

/// Deals per list page.
const PAGE: u64 = 50;
/// Pages per batch request.
const PAGES_PER_BATCH: u64 = 50;
/// One deal in this many has an account; the sync engine only reads the others.
const ACCOUNT_EVERY: usize = 10;

/// One measured full resync.
struct Pass {
    rest: RestDelta,
    elapsed: Duration,
    report: ResyncReport,
}

/// Runs the scenario.
pub async fn run(_ctx: &Context) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("sync");
    let emulator = fixture::start_emulator().await?;
    let portal = emulator.portal();
    let dir = tempfile::tempdir()?;

    // The requests a full resync makes whatever the deal count: pipelines,
    // field metadata, the empty deal listing, invoices.
    let empty = resync(&emulator, &dir.path().join("empty.sqlite3"), &[]).await?;
    let fixed = empty.rest.requests.saturating_sub(1);
    report.push(Figure::info(
        "REST requests of a resync with no deals",
        empty.rest.requests as f64,
        "",
    ));
    report.note(format!(
        "calls of a resync with no deals: {}",
        empty.rest.describe_methods()
    ));

    let mut deals = Vec::new();
    for (label, size) in [("10,000", 10_000u64), ("100,000", 100_000)] {
        let generating = Instant::now();
        let missing = size - deals.len() as u64;
        deals.extend(fixture::generate_case_deals(&portal, missing)?);
        let with_accounts: Vec<u64> = deals.iter().copied().step_by(ACCOUNT_EVERY).collect();
        let generated = generating.elapsed();

        let path = dir.path().join(format!("lk-{size}.sqlite3"));
        let pass = resync(&emulator, &path, &with_accounts).await?;
        let lower_bound = size.div_ceil(PAGE * PAGES_PER_BATCH) + fixed;
        anyhow::ensure!(
            pass.report.deals_read == size,
            "the resync read {} deals of {size}",
            pass.report.deals_read
        );

        report.push(Figure::info(
            format!("{label} deals: REST requests"),
            pass.rest.requests as f64,
            "",
        ));
        report.push(Figure::info(
            format!("{label} deals: lower bound"),
            lower_bound as f64,
            "",
        ));
        report.push(Figure::checked(
            format!("{label} deals: requests / lower bound"),
            pass.rest.requests as f64 / lower_bound as f64,
            "",
            Target::AtMost(1.25),
        ));
        report.push(Figure::info(
            format!("{label} deals: seconds"),
            pass.elapsed.as_secs_f64(),
            "s",
        ));
        report.push(Figure::checked(
            format!("{label} deals: 503 answers"),
            pass.rest.rate_limited as f64,
            "",
            Target::AtMost(0.0),
        ));
        report.note(format!(
            "{label} deals generated in {:.1} s; {} of them with an account (snapshot stored); \
             calls: {}",
            generated.as_secs_f64(),
            with_accounts.len(),
            pass.rest.describe_methods()
        ));
    }
    report.note(format!(
        "lower bound: ceil(deals / 2,500) batch requests (50 deals a page, 50 pages a batch) \
         plus the {fixed} requests a resync makes besides listing deals (measured with no deals)"
    ));
    emulator.shutdown().await;
    Ok(report)
}

/// Seeds a store at `path` as a running cabinet has it (accounts for
/// `with_accounts` and every snapshot), then times one full resync by a fresh
/// engine and client, as the nightly pass runs, starting with an empty bucket.
async fn resync(emulator: &Emulator, path: &Path, with_accounts: &[u64]) -> anyhow::Result<Pass> {
    let portal = emulator.portal();
    let hash = fixture::password_hash(fixture::CHEAP_HASH).await?;
    let store = fixture::seed_cabinet(emulator, path, with_accounts, &hash).await?;
    let config = Arc::new(fixture::cabinet_config(
        emulator,
        &fixture::random_token(),
        path.to_path_buf(),
    ));
    let engine = fixture::sync_engine(config, store)?;

    let before = portal.counters();
    let started = Instant::now();
    let report = engine.resync(ResyncMode::Full, &|_| {}).await?;
    let elapsed = started.elapsed();
    let rest = RestDelta::between(&before, &portal.counters());
    Ok(Pass {
        rest,
        elapsed,
        report,
    })
}
