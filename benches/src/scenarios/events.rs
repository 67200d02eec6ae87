//! `events`: 1,000 deal-update events for 1,000 different deals posted at
//! once to `/b24/events`. Counts the REST requests the engine needs to bring
//! every snapshot up to date.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bitrix_lk_core::{DealId, FieldCode, FieldValue, Store};
use bitrix24_client::emulator::{Emulator, UfValue, seed};

use crate::Context;
use crate::cabinet::InProcessCabinet;
use crate::fixture::{self, RestDelta};
use crate::http::Browser;
use crate::report::{Figure, ScenarioReport, Target};

/// Deals changed, one event each.
const DEALS: u64 = 1_000;
/// Connections posting events at the same time.
const POSTERS: usize = 32;
/// The maximum wait for every snapshot to be current.
const CURRENT_LIMIT: Duration = Duration::from_secs(180);

/// Runs the scenario.
pub async fn run(_ctx: &Context) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("events");
    let emulator = fixture::start_emulator().await?;
    let portal = emulator.portal();
    let deals = fixture::generate_case_deals(&portal, DEALS)?;

    let dir = tempfile::tempdir()?;
    let store_path = dir.path().join("lk.sqlite3");
    let hash = fixture::password_hash(fixture::CHEAP_HASH).await?;
    fixture::seed_cabinet(&emulator, &store_path, &deals, &hash).await?;

    // No outgoing webhook is registered: the portal sends nothing, and the
    // benchmark posts every event itself, all at once.
    let token = fixture::random_token();
    let config = fixture::cabinet_config(&emulator, &token, store_path);
    let listener = InProcessCabinet::bind().await?;
    let (cabinet, start_up) = InProcessCabinet::start(config, listener, &portal).await?;
    fixture::let_bucket_drain(start_up.requests, Duration::from_secs(30)).await;

    for &deal in &deals {
        portal.set_field(deal, seed::FIELD_MESSAGE, UfValue::text(message_of(deal)))?;
    }

    let before = portal.counters();
    let started = Instant::now();
    post_events(cabinet.address, &emulator, &token, &deals).await?;
    let posted = started.elapsed();
    wait_until_current(cabinet.store.as_ref(), &deals).await?;
    let current = started.elapsed();
    let after = fixture::wait_until_quiet(
        &portal,
        cabinet.store.as_ref(),
        Duration::from_secs(2),
        Duration::from_secs(120),
    )
    .await?;
    let rest = RestDelta::between(&before, &after);
    cabinet.stop().await?;
    emulator.shutdown().await;

    report.push(Figure::info(
        "seconds to post 1,000 events",
        posted.as_secs_f64(),
        "s",
    ));
    report.push(Figure::info(
        "seconds until every snapshot is current",
        current.as_secs_f64(),
        "s",
    ));
    report.push(Figure::checked(
        "REST requests",
        rest.requests as f64,
        "",
        Target::AtMost(24.0),
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
        "{DEALS} deals with accounts, each changed in the emulator, then one ONCRMDEALUPDATE \
         per deal posted over {POSTERS} keep-alive connections; cabinet and engine run in-process"
    ));
    report.note(format!("calls: {}", rest.describe_methods()));
    Ok(report)
}

fn message_of(deal: u64) -> String {
    format!("Обновление по делу {deal}")
}

/// Posts one `ONCRMDEALUPDATE` per deal, in the portal's form encoding,
/// spread over [`POSTERS`] connections. Fails on any status but 200.
async fn post_events(
    address: SocketAddr,
    emulator: &Emulator,
    token: &str,
    deals: &[u64],
) -> anyhow::Result<()> {
    let base = emulator.base_url();
    let auth = [
        ("auth[domain]", emulator.domain()),
        ("auth[client_endpoint]", format!("{base}/rest/")),
        (
            "auth[server_endpoint]",
            "https://oauth.bitrix.info/rest/".to_owned(),
        ),
        ("auth[member_id]", emulator.member_id()),
        ("auth[application_token]", token.to_owned()),
    ];
    let bodies: Vec<String> = deals
        .iter()
        .map(|deal| {
            form_urlencoded::Serializer::new(String::new())
                .append_pair("event", "ONCRMDEALUPDATE")
                .append_pair("event_handler_id", "1")
                .append_pair("data[FIELDS][ID]", &deal.to_string())
                .append_pair("ts", &jiff::Timestamp::now().as_second().to_string())
                .extend_pairs(auth.iter().map(|(key, value)| (*key, value.as_str())))
                .finish()
        })
        .collect();

    let mut connections = Vec::with_capacity(POSTERS);
    for _ in 0..POSTERS {
        connections.push(Browser::connect(address).await?);
    }
    let per_poster = bodies.len().div_ceil(POSTERS);
    let mut tasks = Vec::with_capacity(POSTERS);
    for (mut browser, share) in connections.into_iter().zip(bodies.chunks(per_poster)) {
        let share = share.to_vec();
        tasks.push(tokio::spawn(async move {
            for body in share {
                let reply = browser.post_encoded("/b24/events", body).await?;
                anyhow::ensure!(
                    reply.status.is_success(),
                    "/b24/events answered {}",
                    reply.status
                );
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await.context("an event poster panicked")??;
    }
    Ok(())
}

/// Waits until every deal's stored snapshot carries its new message.
async fn wait_until_current(store: &dyn Store, deals: &[u64]) -> anyhow::Result<()> {
    let field = FieldCode::from(seed::FIELD_MESSAGE);
    let started = Instant::now();
    let mut pending: Vec<u64> = deals.to_vec();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for deal in pending {
            let current = store.deal(DealId(deal)).await?.is_some_and(|snapshot| {
                matches!(snapshot.field(&field), FieldValue::Text(text) if *text == message_of(deal))
            });
            if !current {
                still.push(deal);
            }
        }
        pending = still;
        anyhow::ensure!(
            started.elapsed() < CURRENT_LIMIT,
            "{} snapshots still stale after {} s",
            pending.len(),
            CURRENT_LIMIT.as_secs()
        );
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}
