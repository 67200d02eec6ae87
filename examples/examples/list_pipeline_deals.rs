//! Finds a deal pipeline by name and lists every deal in it with its stage name.
//!
//! Shows the typed methods `crm.category.list` and `crm.status.list`, and
//! complete paging of `crm.deal.list` with the fast `start=-1` cursor, which
//! fails rather than return a truncated list.
//!
//! Run against the in-process emulator (demo data):
//!
//! ```sh
//! cargo run -p lk-examples --example list_pipeline_deals
//! ```
//!
//! Run against a real portal (read-only calls; the URL contains the webhook secret):
//!
//! ```sh
//! B24_WEBHOOK_URL=https://PORTAL/rest/1/SECRET/ B24_PIPELINE="Исполнение Юр. отдел" \
//!     cargo run -p lk-examples --example list_pipeline_deals
//! ```

use std::collections::HashMap;
use std::pin::pin;

use anyhow::Context;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, NewDeal, Seed, seed};
use bitrix24_client::{Client, EntityType};
use futures::TryStreamExt;

const DEFAULT_PIPELINE: &str = "Исполнение Юр. отдел";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A real portal when B24_WEBHOOK_URL is set, otherwise the emulator.
    let (client, emulator) = match std::env::var("B24_WEBHOOK_URL") {
        Ok(url) => (Client::new(&url)?, None),
        Err(_) => {
            let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Demo)).await?;
            // The demo has four deals in the pipeline; 60 more make the listing take two pages.
            let template = NewDeal::new("Generated case").pipeline(seed::EXECUTION_PIPELINE_ID);
            emulator.portal().generate_deals(60, &template)?;
            (Client::new(&emulator.webhook_url())?, Some(emulator))
        }
    };
    let name = std::env::var("B24_PIPELINE").unwrap_or_else(|_| DEFAULT_PIPELINE.to_owned());

    // crm.category.list: every deal pipeline, the default one (id 0) included.
    let pipelines = client.categories().all(EntityType::Deal).await?;
    let pipeline = pipelines
        .iter()
        .find(|pipeline| pipeline.name.as_deref() == Some(name.as_str()))
        .with_context(|| format!("no deal pipeline is named {name:?}"))?;
    println!("pipeline {:?} has id {}", name, pipeline.id);

    // crm.status.list: the pipeline's stages are the directory DEAL_STAGE_<id>
    // (plain DEAL_STAGE for pipeline 0).
    let directory = match pipeline.id.get() {
        0 => "DEAL_STAGE".to_owned(),
        id => format!("DEAL_STAGE_{id}"),
    };
    let stages = client.statuses().directory(&directory).await?;
    let stage_names: HashMap<String, String> = stages
        .into_iter()
        .map(|stage| (stage.status_id, stage.name))
        .collect();

    // crm.deal.list with the fast cursor: ascending id, 50 deals per request.
    // The stream is not `Unpin`, so it is pinned before `try_next`.
    let mut deals = pin!(
        client
            .deals()
            .list()
            .filter("CATEGORY_ID", pipeline.id.get())
            .select(["ID", "TITLE", "STAGE_ID"])
            .stream_fast()
    );
    let mut count = 0;
    while let Some(deal) = deals.try_next().await? {
        let stage = deal.stage_id.as_ref().map(|stage| stage.as_str());
        let stage_name = stage
            .and_then(|code| stage_names.get(code))
            .map_or("(unknown stage)", String::as_str);
        let title = deal.title.as_deref().unwrap_or("(no title)");
        println!("  deal {:>4}  {title:<40}  {stage_name}", deal.id);
        count += 1;
    }
    println!("{count} deals in the pipeline");

    if let Some(emulator) = emulator {
        let pages = emulator
            .portal()
            .counters()
            .by_method
            .get("crm.deal.list")
            .copied();
        println!("crm.deal.list requests: {}", pages.unwrap_or(0));
        emulator.shutdown().await;
    }
    Ok(())
}
