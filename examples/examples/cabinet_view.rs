//! Builds what a client sees in the cabinet for one deal.
//!
//! Reads the deal, the pipelines and the invoices through `LkCrm`, the core's
//! `Crm` port over the REST client. Creates the client's account with
//! `Provisioner` over an in-memory store. Prints the `CabinetView`: stage,
//! progress and step icons, documents, and contract, paid and remaining sums.
//! Nothing is written to the portal: the credentials the provisioner queues
//! stay in the in-memory outbox.
//!
//! Run against the in-process emulator (demo data):
//!
//! ```sh
//! cargo run -p lk-examples --example cabinet_view
//! ```
//!
//! Run against the firm's portal (read-only; the URL contains the webhook secret):
//!
//! ```sh
//! LK_B24_WEBHOOK_URL=https://PORTAL/rest/1/SECRET/ LK_DEAL_ID=410 \
//!     cargo run -p lk-examples --example cabinet_view
//! ```

use std::sync::Arc;

use anyhow::Context;
use bitrix_lk_core::fakes::MemoryStore;
use bitrix_lk_core::{CabinetView, Crm, DealId, LkConfig, Money, Provisioner, Store};
use bitrix24_client::emulator::{Emulator, EmulatorOptions, Seed, seed};
use bitrix24_client::lk::LkCrm;
use secrecy::SecretString;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The firm's defaults. The emulator's demo portal uses the same field codes.
    let mut config = LkConfig::default();
    config.apply_env(|name| std::env::var(name).ok())?;
    let (emulator, deal_id) = if config.bitrix24.webhook_url.is_some() {
        let id =
            std::env::var("LK_DEAL_ID").context("LK_DEAL_ID is missing: set it to a deal id")?;
        let id = id
            .parse()
            .with_context(|| format!("LK_DEAL_ID {id:?} is not a deal id"))?;
        (None, DealId(id))
    } else {
        let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Demo)).await?;
        config.bitrix24.webhook_url = Some(SecretString::from(emulator.webhook_url()));
        // The demo client in the middle of the case has every part of the page filled.
        let portal = emulator.portal();
        let in_restructuring = |id: &u64| {
            portal
                .deal(*id)
                .is_some_and(|deal| deal.stage == seed::STAGE_RESTRUCTURING)
        };
        let deal = portal.deal_ids().into_iter().find(in_restructuring);
        (
            Some(emulator),
            DealId(deal.context("the demo has no deal in restructuring")?),
        )
    };
    let config = Arc::new(config);

    // Everything the view needs, read through the Crm port.
    let crm = LkCrm::from_config(config.clone())?;
    let deal = crm
        .deal(deal_id)
        .await?
        .with_context(|| format!("deal {deal_id} not found"))?;
    let pipelines = crm.pipelines().await?;
    let pipeline = config.find_pipeline(&pipelines);
    let invoices = crm.invoices_of(deal.id, deal.contact_id).await?;

    // The account, as the cabinet creates it when staff set «Создать ЛК клиенту».
    let store = Arc::new(MemoryStore::new());
    let provisioner = Provisioner::new(store.clone(), config.clone());
    println!("provisioning: {:?}", provisioner.provision(&deal).await?);
    let account = store
        .account_by_deal(deal.id)
        .await?
        .context("the deal's trigger field does not request an account")?;

    let view = CabinetView::build(&deal, pipeline, &invoices, &account, &config);
    println!("{}, login {}", view.title, view.login);
    println!(
        "stage: {}, blocked: {}",
        view.stage_text(),
        view.is_blocked()
    );
    println!(
        "message: {}",
        view.company_message.as_deref().unwrap_or("-")
    );

    // The page draws the icons green (done), blue (current) and red (pending).
    println!("progress: {}%", view.progress);
    for step in &view.steps {
        println!("  [{:<7}] {}", step.state.as_str(), step.name);
    }

    let documents = &view.documents;
    let (received, missing) = (documents.received_count(), documents.missing_count());
    println!("documents: {received} received, {missing} missing");
    for row in &documents.rows {
        println!(
            "  [{:<8}] {}, files: {}",
            row.state.as_str(),
            row.name,
            row.file_count
        );
    }

    // An empty contract field makes the contract sum unknown, and the page shows
    // that instead of 0.
    let payments = &view.payments;
    let money_text =
        |sum: Option<&Money>| sum.map_or_else(|| "unknown".to_owned(), Money::format_ru);
    println!("contract:  {}", money_text(payments.contract.as_ref()));
    println!("paid:      {}", payments.paid.format_ru());
    println!("remaining: {}", money_text(payments.remaining.as_ref()));

    if let Some(emulator) = emulator {
        emulator.shutdown().await;
    }
    Ok(())
}
