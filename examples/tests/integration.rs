//! `lk_examples::payment_report` against an emulator seeded by hand: the
//! scenario of the `test_against_emulator` example as `cargo test` tests.

use std::time::Duration;

use bitrix_lk_core::DealId;
use bitrix24_client::emulator::{
    Emulator, EmulatorOptions, Fault, NewDeal, NewSmartInvoice, RateLimit, Seed, StageSemantics,
    StageSpec, UfValue, UserFieldSpec, UserFieldType,
};
use bitrix24_client::{Client, RetryPolicy};
use lk_examples::{PaymentReport, payment_report};
use rust_decimal::Decimal;

const CONTRACT_FIELD: &str = "UF_CRM_CONTRACT_SUM";

/// A running emulator, a client for it, and the deal the checks are about.
struct Fixture {
    emulator: Emulator,
    client: Client,
    deal: DealId,
}

/// Seeds a deal with a 150 000 RUB contract, two paid invoices (50 000 and
/// 30 000) and one unpaid (70 000), and another deal with a paid invoice.
async fn seeded() -> anyhow::Result<Fixture> {
    let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Empty)).await?;
    let portal = emulator.portal();

    let stages = [
        StageSpec::process("NEW", "Сбор документов"),
        StageSpec::new("WON", "Завершение процедуры", StageSemantics::Success),
    ];
    let pipeline = portal.add_deal_pipeline("Исполнение Юр. отдел", &stages);
    portal.add_user_field(UserFieldSpec::new(CONTRACT_FIELD, UserFieldType::Money))?;
    let deal = portal.create_deal(
        NewDeal::new("Банкротство: Иванов Иван")
            .pipeline(pipeline)
            .field(CONTRACT_FIELD, UfValue::rubles(150_000)),
    )?;
    portal.add_smart_invoice(NewSmartInvoice::new("Платёж 1", 50_000).deal(deal).paid())?;
    portal.add_smart_invoice(NewSmartInvoice::new("Платёж 2", 30_000).deal(deal).paid())?;
    portal.add_smart_invoice(NewSmartInvoice::new("Платёж 3", 70_000).deal(deal))?;
    let other = portal.create_deal(NewDeal::new("Another client").pipeline(pipeline))?;
    portal.add_smart_invoice(NewSmartInvoice::new("Other", 99_000).deal(other).paid())?;

    let retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_secs(1),
    };
    let client = Client::builder(emulator.webhook_url())
        .retry(retry)
        .build()?;
    Ok(Fixture {
        emulator,
        client,
        deal: DealId(deal),
    })
}

async fn report_of(fixture: &Fixture) -> anyhow::Result<PaymentReport> {
    Ok(payment_report(&fixture.client, fixture.deal, CONTRACT_FIELD).await?)
}

#[tokio::test]
async fn report_counts_paid_invoices_only() -> anyhow::Result<()> {
    let fixture = seeded().await?;

    let report = report_of(&fixture).await?;

    let contract = report.contract.as_ref().map(|money| money.amount);
    assert_eq!(contract, Some(Decimal::from(150_000)));
    assert_eq!(report.paid, Decimal::from(80_000));
    assert_eq!(report.paid_invoices, 2);
    assert_eq!(report.unpaid_invoices, 1);
    assert_eq!(report.remaining(), Some(Decimal::from(70_000)));
    fixture.emulator.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn report_of_missing_deal_is_not_found() -> anyhow::Result<()> {
    let fixture = seeded().await?;

    let result = payment_report(&fixture.client, DealId(9_999), CONTRACT_FIELD).await;

    let error = result.err();
    assert!(
        error.as_ref().is_some_and(|error| error.is_not_found()),
        "expected a not-found error, got {error:?}"
    );
    fixture.emulator.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn report_survives_one_server_error() -> anyhow::Result<()> {
    let fixture = seeded().await?;
    let portal = fixture.emulator.portal();
    let expected = report_of(&fixture).await?;
    portal.clear_request_log();

    portal.fail_next(1, Fault::ServerError);
    let report = report_of(&fixture).await?;

    assert_eq!(report, expected);
    assert_eq!(portal.counters().faults, 1);
    fixture.emulator.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn report_survives_tight_rate_limit() -> anyhow::Result<()> {
    let fixture = seeded().await?;
    let portal = fixture.emulator.portal();
    let expected = report_of(&fixture).await?;
    portal.clear_request_log();

    // A bucket of 1 draining once a second: the second of the report's quick requests gets 503.
    portal.set_rate_limit(RateLimit::Bucket {
        per_second: 1.0,
        burst: 1,
    });
    let report = report_of(&fixture).await?;

    assert_eq!(report, expected);
    assert!(
        portal.counters().rate_limited >= 1,
        "the rate limit was never reached"
    );
    fixture.emulator.shutdown().await;
    Ok(())
}
