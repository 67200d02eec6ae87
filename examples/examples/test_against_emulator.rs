//! Tests an integrator's own code against an emulator seeded by hand.
//!
//! The code under test is `lk_examples::payment_report`, which sums a deal's
//! paid smart invoices. The walkthrough seeds an empty portal with exactly the
//! pipeline, field, deals and invoices it needs, checks the report, and then
//! checks it again through a missing deal, an injected server error and a
//! tight rate limit. `tests/integration.rs` runs the same checks under
//! `cargo test -p lk-examples`.
//!
//! ```sh
//! cargo run -p lk-examples --example test_against_emulator
//! ```

use std::time::Duration;

use anyhow::bail;
use bitrix_lk_core::DealId;
use bitrix24_client::emulator::{
    Emulator, EmulatorOptions, Fault, NewDeal, NewSmartInvoice, RateLimit, Seed, StageSemantics,
    StageSpec, UfValue, UserFieldSpec, UserFieldType,
};
use bitrix24_client::{Client, RetryPolicy};
use lk_examples::payment_report;
use rust_decimal::Decimal;

const CONTRACT_FIELD: &str = "UF_CRM_CONTRACT_SUM";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Seed::Empty has only the default deal and smart-invoice pipelines.
    let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Empty)).await?;
    let portal = emulator.portal();

    // Seed what the test needs, as staff would in the Bitrix24 UI.
    let stages = [
        StageSpec::process("NEW", "Сбор документов"),
        StageSpec::new("WON", "Завершение процедуры", StageSemantics::Success),
    ];
    let pipeline = portal.add_deal_pipeline("Исполнение Юр. отдел", &stages);
    portal.add_user_field(UserFieldSpec::new(CONTRACT_FIELD, UserFieldType::Money))?;
    let client_deal = NewDeal::new("Банкротство: Иванов Иван")
        .pipeline(pipeline)
        .field(CONTRACT_FIELD, UfValue::rubles(150_000));
    let deal = portal.create_deal(client_deal)?;
    portal.add_smart_invoice(NewSmartInvoice::new("Платёж 1", 50_000).deal(deal).paid())?;
    portal.add_smart_invoice(NewSmartInvoice::new("Платёж 2", 30_000).deal(deal).paid())?;
    portal.add_smart_invoice(NewSmartInvoice::new("Платёж 3", 70_000).deal(deal))?;
    let other = portal.create_deal(NewDeal::new("Another client").pipeline(pipeline))?;
    portal.add_smart_invoice(NewSmartInvoice::new("Other", 99_000).deal(other).paid())?;
    println!("seeded deal {deal}: contract 150000 RUB, two paid invoices, one unpaid");

    // Short backoff keeps the retries below quick.
    let retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
    };
    let client = Client::builder(emulator.webhook_url())
        .retry(retry)
        .build()?;

    // The plain case: only this deal's paid invoices count.
    let report = payment_report(&client, DealId(deal), CONTRACT_FIELD).await?;
    println!("report: {report:?}");
    assert_eq!(report.paid, Decimal::from(80_000));
    assert_eq!((report.paid_invoices, report.unpaid_invoices), (2, 1));
    assert_eq!(report.remaining(), Some(Decimal::from(70_000)));

    // A deal that does not exist is reported as "not found", not as an empty report.
    match payment_report(&client, DealId(deal + 1000), CONTRACT_FIELD).await {
        Err(error) if error.is_not_found() => println!("missing deal: {error}"),
        other => bail!("expected a not-found error, got {other:?}"),
    }

    // One HTTP 500 ERROR_CORE: the client repeats the read and the report is unchanged.
    portal.clear_request_log();
    portal.fail_next(1, Fault::ServerError);
    assert_eq!(
        payment_report(&client, DealId(deal), CONTRACT_FIELD).await?,
        report
    );
    let counters = portal.counters();
    println!(
        "server error: {} fault, {} requests",
        counters.faults, counters.requests
    );
    assert_eq!(counters.faults, 1);

    // A portal bucket of 1 request draining once a second rejects the second quick
    // request with 503 QUERY_LIMIT_EXCEEDED; the client waits and repeats it.
    portal.clear_request_log();
    portal.set_rate_limit(RateLimit::Bucket {
        per_second: 1.0,
        burst: 1,
    });
    assert_eq!(
        payment_report(&client, DealId(deal), CONTRACT_FIELD).await?,
        report
    );
    let counters = portal.counters();
    println!(
        "rate limit: {} rejected, {} requests",
        counters.rate_limited, counters.requests
    );
    assert!(
        counters.rate_limited >= 1,
        "the rate limit was never reached"
    );

    println!("all checks passed");
    emulator.shutdown().await;
    Ok(())
}
