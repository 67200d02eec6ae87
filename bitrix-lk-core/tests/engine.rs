#![allow(clippy::unwrap_used)]

//! The sync engine over the in-memory fakes: events, write-backs, resync.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix_lk_core::engine::{Clock, ResyncMode, SyncEngine, SyncSettings};
use bitrix_lk_core::fakes::{CrmFailure, CrmWrite, FakeCrm, MemoryStore};
use bitrix_lk_core::{
    CategoryId, ChangeNotice, Deal, DealId, FieldCode, FieldValue, Invoice, InvoiceId,
    InvoiceStatus, LkConfig, Money, OutboxState, Provisioner, StageId, StageSemantics, Store,
    WriteBack,
};
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;

const TRIGGER: &str = "UF_CRM_1708511654449";

/// The real time plus an offset the test moves by hand. It follows the
/// real time because the provisioner stamps records with it.
#[derive(Debug, Default)]
struct ManualClock(Mutex<SignedDuration>);

impl ManualClock {
    fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn advance(&self, by: Duration) {
        let mut offset = self.0.lock().unwrap();
        *offset += SignedDuration::try_from(by).unwrap();
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(*self.0.lock().unwrap())
            .unwrap()
    }
}

struct Harness {
    crm: Arc<FakeCrm>,
    store: Arc<MemoryStore>,
    engine: SyncEngine,
    clock: Arc<ManualClock>,
}

fn harness() -> Harness {
    let config = Arc::new(LkConfig::default());
    let crm = Arc::new(FakeCrm::new());
    let store = Arc::new(MemoryStore::new());
    let provisioner = Provisioner::new(store.clone(), config.clone());
    let clock = ManualClock::new();
    let engine = SyncEngine::new(
        crm.clone(),
        store.clone(),
        provisioner,
        SyncSettings::from_config(&config),
    )
    .with_clock(clock.clone());
    Harness {
        crm,
        store,
        engine,
        clock,
    }
}

fn deal(id: u64, triggered: bool) -> Deal {
    let mut fields = BTreeMap::new();
    if triggered {
        fields.insert(
            FieldCode::from(TRIGGER),
            FieldValue::Enum {
                id: "45".into(),
                label: Some("Создать".into()),
            },
        );
    }
    Deal {
        id: DealId(id),
        title: format!("Банкротство {id}"),
        category_id: CategoryId(7),
        stage_id: StageId::from("C7:NEW"),
        contact_id: None,
        modified_at: Some("2026-12-04T09:00:00Z".parse().unwrap()),
        fields,
    }
}

fn invoice(number: u64, deal: u64, paid: bool) -> Invoice {
    Invoice {
        id: InvoiceId::smart(number),
        deal_id: Some(DealId(deal)),
        contact_id: None,
        title: format!("Счёт {number}"),
        account_number: Some(format!("{number}")),
        amount: Money::rub(Decimal::from(10_000)),
        status: InvoiceStatus::Smart {
            stage_id: if paid {
                "DT31_1:P".into()
            } else {
                "DT31_1:N".into()
            },
            semantics: Some(if paid {
                StageSemantics::Success
            } else {
                StageSemantics::Process
            }),
        },
        paid_at: None,
        updated_at: None,
    }
}

async fn push_deal_event(store: &MemoryStore, id: u64) {
    let notice = ChangeNotice::DealChanged {
        deal_id: DealId(id),
    };
    store
        .inbox_push(notice, "ONCRMDEALUPDATE", None, Timestamp::now())
        .await
        .unwrap();
}

fn credential_writes(crm: &FakeCrm) -> usize {
    crm.writes()
        .iter()
        .filter(|write| matches!(write, CrmWrite::Credentials { .. }))
        .count()
}

#[tokio::test]
async fn trigger_event_provisions_and_writes_back_once() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;

    let inbox = h.engine.drain_inbox().await.unwrap();
    let outbox = h.engine.drain_outbox().await.unwrap();

    assert_eq!(inbox.accounts_created, 1);
    assert_eq!(outbox.done, 1);
    assert_eq!(credential_writes(&h.crm), 1);
    assert!(h.store.deal(DealId(10)).await.unwrap().is_some());
}

#[tokio::test]
async fn own_write_back_event_causes_no_second_write() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_queues().await;

    // Bitrix24 sends an update event for our own credentials write.
    push_deal_event(&h.store, 10).await;
    h.engine.drain_queues().await;

    assert_eq!(credential_writes(&h.crm), 1);
    assert_eq!(h.store.account_count(), 1);
}

#[tokio::test]
async fn events_for_one_deal_are_read_once() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    for _ in 0..20 {
        push_deal_event(&h.store, 10).await;
    }
    h.crm.clear_log();

    let report = h.engine.drain_inbox().await.unwrap();

    assert_eq!(report.events, 20);
    assert_eq!(report.deals_read, 1);
    let reads = h
        .crm
        .calls()
        .iter()
        .filter(|call| **call == "deals")
        .count();
    assert_eq!(reads, 1);
}

#[tokio::test]
async fn untriggered_deal_is_ignored() {
    let h = harness();
    h.crm.put_deal(deal(11, false));
    push_deal_event(&h.store, 11).await;

    let report = h.engine.drain_inbox().await.unwrap();

    assert_eq!(report.accounts_created, 0);
    assert_eq!(h.store.account_count(), 0);
    assert!(h.store.deal(DealId(11)).await.unwrap().is_none());
}

#[tokio::test]
async fn inbox_keeps_events_while_crm_is_down() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.crm.fail_next(1, CrmFailure::Unavailable);

    assert!(h.engine.drain_inbox().await.is_err());
    assert_eq!(h.store.inbox_pending(10).await.unwrap().len(), 1);

    let report = h.engine.drain_inbox().await.unwrap();
    assert_eq!(report.accounts_created, 1);
    assert!(h.store.inbox_pending(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn failed_write_back_is_retried_after_backoff() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_inbox().await.unwrap();
    h.crm.fail_next(1, CrmFailure::Unavailable);

    let first = h.engine.drain_outbox().await.unwrap();
    let too_early = h.engine.drain_outbox().await.unwrap();
    h.clock.advance(Duration::from_secs(60));
    let later = h.engine.drain_outbox().await.unwrap();

    assert_eq!(first.retried, 1);
    assert_eq!(too_early.done + too_early.retried, 0);
    assert_eq!(later.done, 1);
    assert_eq!(credential_writes(&h.crm), 1);
}

#[tokio::test]
async fn rejected_write_back_is_parked_not_dropped() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_inbox().await.unwrap();
    h.crm.fail_next(1, CrmFailure::Rejected);

    let report = h.engine.drain_outbox().await.unwrap();

    assert_eq!(report.parked, 1);
    let parked = h
        .store
        .outbox_list(Some(OutboxState::Parked), 10)
        .await
        .unwrap();
    assert_eq!(parked.len(), 1);
    assert!(parked[0].last_error.is_some());
}

#[tokio::test]
async fn resync_provisions_deal_whose_event_was_lost() {
    let h = harness();
    h.crm.put_deal(deal(20, true));
    h.crm.put_deal(deal(21, false));

    let report = h
        .engine
        .resync(ResyncMode::Incremental, &|_| {})
        .await
        .unwrap();
    h.engine.drain_outbox().await.unwrap();

    assert_eq!(report.accounts_created, 1);
    assert_eq!(credential_writes(&h.crm), 1);
    assert!(h.store.account_by_deal(DealId(21)).await.unwrap().is_none());
}

#[tokio::test]
async fn resync_reads_only_changes_after_watermark() {
    let h = harness();
    h.crm.put_deal(deal(20, true));
    h.engine.resync(ResyncMode::Full, &|_| {}).await.unwrap();

    h.clock.advance(Duration::from_secs(3600));
    let mut changed = deal(21, true);
    changed.modified_at = Some(h.clock.now());
    h.crm.put_deal(changed);
    let report = h
        .engine
        .resync(ResyncMode::Incremental, &|_| {})
        .await
        .unwrap();

    assert_eq!(report.deals_read, 1);
    assert_eq!(report.accounts_created, 1);
}

#[tokio::test]
async fn full_resync_removes_deleted_deals() {
    let h = harness();
    h.crm.put_deal(deal(20, true));
    h.engine.resync(ResyncMode::Full, &|_| {}).await.unwrap();
    h.crm.remove_deal(DealId(20));

    let report = h.engine.resync(ResyncMode::Full, &|_| {}).await.unwrap();

    assert_eq!(report.deals_removed, 1);
    assert!(h.store.deal(DealId(20)).await.unwrap().is_none());
    assert!(h.store.account_by_deal(DealId(20)).await.unwrap().is_some());
}

#[tokio::test]
async fn deleted_deal_event_removes_snapshot() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_inbox().await.unwrap();
    h.crm.remove_deal(DealId(10));
    let notice = ChangeNotice::DealDeleted {
        deal_id: DealId(10),
    };
    h.store
        .inbox_push(notice, "ONCRMDEALDELETE", None, Timestamp::now())
        .await
        .unwrap();

    let report = h.engine.drain_inbox().await.unwrap();

    assert_eq!(report.deals_removed, 1);
    assert!(h.store.deal(DealId(10)).await.unwrap().is_none());
}

#[tokio::test]
async fn invoice_events_add_and_remove_invoices() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_inbox().await.unwrap();

    h.crm.put_invoice(invoice(501, 10, true));
    let changed = ChangeNotice::InvoiceChanged {
        invoice_id: InvoiceId::smart(501),
    };
    h.store
        .inbox_push(changed, "ONCRMDYNAMICITEMUPDATE", None, Timestamp::now())
        .await
        .unwrap();
    h.engine.drain_inbox().await.unwrap();
    let after_add = h.store.invoices_of(DealId(10), None).await.unwrap();

    h.crm.remove_invoice(InvoiceId::smart(501));
    let deleted = ChangeNotice::InvoiceDeleted {
        invoice_id: InvoiceId::smart(501),
    };
    h.store
        .inbox_push(deleted, "ONCRMDYNAMICITEMDELETE", None, Timestamp::now())
        .await
        .unwrap();
    h.engine.drain_inbox().await.unwrap();
    let after_delete = h.store.invoices_of(DealId(10), None).await.unwrap();

    assert_eq!(after_add.len(), 1);
    assert!(after_delete.is_empty());
}

#[tokio::test]
async fn new_account_loads_existing_invoices() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    h.crm.put_invoice(invoice(501, 10, true));
    h.crm.put_invoice(invoice(502, 10, false));
    h.crm.put_invoice(invoice(503, 99, true));
    push_deal_event(&h.store, 10).await;

    h.engine.drain_inbox().await.unwrap();

    let stored = h.store.invoices_of(DealId(10), None).await.unwrap();
    assert_eq!(stored.len(), 2);
}

#[tokio::test]
async fn uploaded_document_reaches_crm_and_leaves_spool() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_queues().await;
    let file = bitrix_lk_core::NewSpooledFile {
        deal_id: DealId(10),
        field: FieldCode::from("UF_CRM_1708509490009"),
        file_name: "passport.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: b"%PDF-1.7".to_vec(),
    };
    let spool = h.store.spool_document(&file, h.clock.now()).await.unwrap();

    let report = h.engine.drain_outbox().await.unwrap();

    assert_eq!(report.done, 1);
    assert!(h.store.spooled_file(spool).await.unwrap().is_none());
    let snapshot = h.store.deal(DealId(10)).await.unwrap().unwrap();
    let passport = snapshot.field(&FieldCode::from("UF_CRM_1708509490009"));
    assert!(
        !passport.is_empty(),
        "the snapshot was not refreshed after the upload"
    );
    let documents = h
        .crm
        .writes()
        .iter()
        .filter(|w| matches!(w, CrmWrite::Document { .. }))
        .count();
    assert_eq!(documents, 1);
}

#[tokio::test]
async fn last_login_write_goes_out() {
    let h = harness();
    h.crm.put_deal(deal(10, true));
    push_deal_event(&h.store, 10).await;
    h.engine.drain_queues().await;
    let at = h.clock.now();
    let write = WriteBack::LastLogin {
        deal_id: DealId(10),
        at,
    };
    h.store
        .record_login(DealId(10), at, &[write])
        .await
        .unwrap();

    h.engine.drain_outbox().await.unwrap();

    let logins: Vec<_> = h
        .crm
        .writes()
        .into_iter()
        .filter(|w| matches!(w, CrmWrite::LastLogin { .. }))
        .collect();
    assert_eq!(
        logins,
        vec![CrmWrite::LastLogin {
            deal: DealId(10),
            at
        }]
    );
}
