//! `provision`: staff set «Создать ЛК клиенту» on 1,000 deals at once. The
//! portal sends its events, the cabinet creates the accounts and writes the
//! credentials back, and the portal sends update events for those writes too.

use std::time::{Duration, Instant};

use bitrix24_client::emulator::{Portal, UfValue, seed};
use lk_web::demo::SUBSCRIBED_EVENTS;

use crate::Context;
use crate::cabinet::InProcessCabinet;
use crate::fixture::{self, RestDelta};
use crate::report::{Figure, ScenarioReport, Target};

/// Deals set to «Создать».
const DEALS: u64 = 1_000;
/// The maximum wait for every deal's credentials.
const CREDENTIALS_LIMIT: Duration = Duration::from_secs(300);

/// Runs the scenario.
pub async fn run(_ctx: &Context) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("provision");
    let emulator = fixture::start_emulator().await?;
    let portal = emulator.portal();
    let deals = fixture::generate_case_deals(&portal, DEALS)?;

    let dir = tempfile::tempdir()?;
    let listener = InProcessCabinet::bind().await?;
    let handler = format!("http://{}/b24/events", listener.local_addr()?);
    let webhook = portal.add_outgoing_webhook(&handler, &SUBSCRIBED_EVENTS)?;
    let config = fixture::cabinet_config(
        &emulator,
        &webhook.application_token,
        dir.path().join("lk.sqlite3"),
    );
    let hash = config.accounts.hash_params();
    let (cabinet, start_up) = InProcessCabinet::start(config, listener, &portal).await?;
    fixture::let_bucket_drain(start_up.requests, Duration::from_secs(30)).await;

    let before = portal.counters();
    let started = Instant::now();
    for &deal in &deals {
        portal.set_field(
            deal,
            seed::FIELD_CREATE_ACCOUNT,
            UfValue::EnumLabel(seed::CREATE_ACCOUNT_VALUE.to_owned()),
        )?;
    }
    wait_for_credentials(&portal, &deals).await?;
    let credentials = started.elapsed();
    let at_credentials = RestDelta::between(&before, &portal.counters());
    let after = fixture::wait_until_quiet(
        &portal,
        cabinet.store.as_ref(),
        Duration::from_secs(3),
        Duration::from_secs(180),
    )
    .await?;
    let settled = started.elapsed();
    let rest = RestDelta::between(&before, &after);
    let accounts = cabinet.store.accounts().await?.len();
    cabinet.stop().await?;
    emulator.shutdown().await;

    report.push(Figure::checked(
        "accounts created",
        accounts as f64,
        "",
        Target::AtLeast(DEALS as f64),
    ));
    report.push(Figure::info(
        "seconds until every deal has its credentials",
        credentials.as_secs_f64(),
        "s",
    ));
    report.push(Figure::info(
        "REST requests until then",
        at_credentials.requests as f64,
        "",
    ));
    report.push(Figure::info(
        "seconds until the write-back events are processed",
        settled.as_secs_f64(),
        "s",
    ));
    report.push(Figure::checked(
        "REST requests in all",
        rest.requests as f64,
        "",
        Target::AtMost(50.0),
    ));
    report.push(Figure::info(
        "commands inside batches",
        rest.batch_commands as f64,
        "",
    ));
    report.push(Figure::checked(
        "503 QUERY_LIMIT_EXCEEDED answers",
        rest.rate_limited as f64,
        "",
        Target::AtMost(0.0),
    ));
    report.note(format!(
        "{DEALS} case deals without accounts; the trigger set on each through the emulator, \
         which delivers one ONCRMDEALUPDATE per change (and per credential write-back) to the \
         in-process cabinet; passwords hashed with the default Argon2id ({} KiB, {} passes, \
         {} lane)",
        hash.memory_kib, hash.iterations, hash.parallelism
    ));
    report.note(format!("calls: {}", rest.describe_methods()));
    Ok(report)
}

/// Waits until every deal has a login and a password in the portal.
async fn wait_for_credentials(portal: &Portal, deals: &[u64]) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pending: Vec<u64> = deals.to_vec();
    while !pending.is_empty() {
        pending.retain(|&deal| {
            let filled = |code: &str| {
                portal
                    .field_text(deal, code)
                    .is_some_and(|text| !text.is_empty())
            };
            !(filled(seed::FIELD_LOGIN) && filled(seed::FIELD_PASSWORD))
        });
        anyhow::ensure!(
            started.elapsed() < CREDENTIALS_LIMIT,
            "{} deals still without credentials after {} s",
            pending.len(),
            CREDENTIALS_LIMIT.as_secs()
        );
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}
