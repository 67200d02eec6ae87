use rust_decimal::Decimal;
use secrecy::SecretString;

use super::*;
use crate::account::ReferralCode;
use crate::ids::{FieldCode, StageId};
use crate::invoice::InvoiceStatus;
use crate::money::Money;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_750_000_000 + seconds).unwrap()
}

fn account(deal: u64, login: &str, code: &str) -> Account {
    Account {
        deal_id: DealId(deal),
        login: Login::new(login),
        password_hash: PasswordHash(format!("hash-{deal}")),
        referral_code: ReferralCode(code.to_owned()),
        created_at: at(0),
        password_changed_at: at(0),
        last_login_at: None,
    }
}

fn credentials(deal: u64, password: &str) -> WriteBack {
    WriteBack::Credentials {
        deal_id: DealId(deal),
        login: Login::new("lkabc"),
        password: Password::new(password.to_owned()),
    }
}

fn last_login(deal: u64) -> WriteBack {
    WriteBack::LastLogin {
        deal_id: DealId(deal),
        at: at(5),
    }
}

fn invoice(number: u64, deal: Option<u64>, contact: Option<u64>) -> Invoice {
    Invoice {
        id: InvoiceId::smart(number),
        deal_id: deal.map(DealId),
        contact_id: contact.map(ContactId),
        title: String::new(),
        account_number: None,
        amount: Money::rub(Decimal::from(100)),
        status: InvoiceStatus::Smart {
            stage_id: "DT31_1:N".to_owned(),
            semantics: None,
        },
        paid_at: None,
        updated_at: None,
    }
}

fn session(id: &str, deal: u64, expires_at: Timestamp) -> Session {
    Session {
        id: SessionId::new(id.to_owned()),
        deal_id: DealId(deal),
        csrf_token: SecretString::from("csrf"),
        created_at: at(0),
        expires_at,
    }
}

#[tokio::test]
async fn create_account_keeps_deal_login_and_code_unique() {
    let store = MemoryStore::new();

    let first = store
        .create_account(&account(1, "lkone", "AAA"), &[credentials(1, "p1")])
        .await;
    let same_deal = store
        .create_account(&account(1, "lkother", "BBB"), &[credentials(1, "p2")])
        .await;
    let same_login = store.create_account(&account(2, "LKONE", "CCC"), &[]).await;
    let same_code = store
        .create_account(&account(3, "lkthree", "AAA"), &[])
        .await;

    assert_eq!(first.unwrap(), CreateAccount::Created);
    assert_eq!(
        same_deal.unwrap(),
        CreateAccount::AlreadyExists(account(1, "lkone", "AAA"))
    );
    assert!(matches!(same_login, Err(Error::Conflict { .. })));
    assert!(matches!(same_code, Err(Error::Conflict { .. })));
    assert_eq!(store.account_count(), 1);
    let items = store.outbox_items();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].next_attempt_at, at(0));
    assert_eq!(items[0].state, OutboxState::Pending);
}

#[tokio::test]
async fn accounts_are_found_by_deal_and_login() {
    let store = MemoryStore::new();
    store
        .create_account(&account(2, "lktwo", "B"), &[])
        .await
        .unwrap();
    store
        .create_account(&account(1, "lkone", "A"), &[])
        .await
        .unwrap();

    let by_login = store
        .account_by_login(&Login::new(" LkTwo "))
        .await
        .unwrap();
    let all = store.accounts().await.unwrap();

    assert_eq!(by_login.map(|a| a.deal_id), Some(DealId(2)));
    assert_eq!(
        all.iter().map(|a| a.deal_id).collect::<Vec<_>>(),
        [DealId(1), DealId(2)]
    );
    assert!(store.account_by_deal(DealId(3)).await.unwrap().is_none());
}

#[tokio::test]
async fn set_password_ends_only_that_deals_sessions() {
    let store = MemoryStore::new();
    store
        .create_account(&account(1, "lkone", "A"), &[])
        .await
        .unwrap();
    store
        .create_session(&session("mine", 1, at(100)))
        .await
        .unwrap();
    store
        .create_session(&session("other", 2, at(100)))
        .await
        .unwrap();

    store
        .set_password(
            DealId(1),
            &PasswordHash("new".into()),
            at(10),
            &[credentials(1, "p")],
        )
        .await
        .unwrap();

    let account = store.account_by_deal(DealId(1)).await.unwrap().unwrap();
    assert_eq!(account.password_hash, PasswordHash("new".into()));
    assert_eq!(account.password_changed_at, at(10));
    assert!(
        store
            .session(&SessionId::new("mine".into()), at(1))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session(&SessionId::new("other".into()), at(1))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(store.outbox_items()[0].next_attempt_at, at(10));
}

#[tokio::test]
async fn account_changes_need_an_account() {
    let store = MemoryStore::new();

    let password = store
        .set_password(DealId(9), &PasswordHash("x".into()), at(0), &[])
        .await;
    let login = store.record_login(DealId(9), at(0), &[last_login(9)]).await;

    assert!(matches!(password, Err(Error::NotFound { .. })));
    assert!(matches!(login, Err(Error::NotFound { .. })));
    assert!(store.outbox_items().is_empty());
}

#[tokio::test]
async fn record_login_sets_time_and_queues_write() {
    let store = MemoryStore::new();
    store
        .create_account(&account(1, "lkone", "A"), &[])
        .await
        .unwrap();

    store
        .record_login(DealId(1), at(30), &[last_login(1)])
        .await
        .unwrap();

    let account = store.account_by_deal(DealId(1)).await.unwrap().unwrap();
    assert_eq!(account.last_login_at, Some(at(30)));
    assert_eq!(store.outbox_items()[0].write.kind_name(), "last_login");
}

#[tokio::test]
async fn deals_are_saved_and_deleted() {
    let store = MemoryStore::new();
    let deal = Deal {
        id: DealId(5),
        title: "Дело".into(),
        category_id: CategoryId(7),
        stage_id: StageId::from("C7:NEW"),
        contact_id: None,
        modified_at: None,
        fields: Default::default(),
    };
    store
        .create_account(&account(5, "lkfive", "F"), &[])
        .await
        .unwrap();

    store.save_deal(&deal).await.unwrap();
    let saved = store.deal(DealId(5)).await.unwrap();
    let ids = store.deal_ids().await.unwrap();
    store.delete_deal(DealId(5)).await.unwrap();

    assert_eq!(saved, Some(deal));
    assert_eq!(ids, [DealId(5)]);
    assert!(store.deal(DealId(5)).await.unwrap().is_none());
    assert_eq!(store.account_count(), 1, "the account stays");
}

#[tokio::test]
async fn invoices_of_deal_and_contact_are_replaced() {
    let store = MemoryStore::new();
    store
        .save_invoice(&invoice(1, Some(10), None))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(2, None, Some(20)))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(3, Some(11), None))
        .await
        .unwrap();

    let by_deal = store.invoices_of(DealId(10), None).await.unwrap();
    let with_contact = store
        .invoices_of(DealId(10), Some(ContactId(20)))
        .await
        .unwrap();
    store
        .replace_invoices_of(
            DealId(10),
            Some(ContactId(20)),
            &[invoice(4, Some(10), None)],
        )
        .await
        .unwrap();
    let after = store
        .invoices_of(DealId(10), Some(ContactId(20)))
        .await
        .unwrap();
    store.delete_invoice(InvoiceId::smart(3)).await.unwrap();

    let numbers = |list: &[Invoice]| list.iter().map(|i| i.id.number).collect::<Vec<_>>();
    assert_eq!(numbers(&by_deal), [1]);
    assert_eq!(numbers(&with_contact), [1, 2]);
    assert_eq!(numbers(&after), [4]);
    assert!(
        store
            .invoices_of(DealId(11), None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn pipelines_are_replaced() {
    let store = MemoryStore::new();
    let pipeline = |id: u64| Pipeline {
        id: CategoryId(id),
        name: format!("P{id}"),
        stages: Vec::new(),
    };
    store
        .save_pipelines(&[pipeline(1), pipeline(7)])
        .await
        .unwrap();

    store.save_pipelines(&[pipeline(7)]).await.unwrap();

    assert_eq!(store.pipelines().await.unwrap(), [pipeline(7)]);
    assert_eq!(
        store.pipeline(CategoryId(7)).await.unwrap(),
        Some(pipeline(7))
    );
    assert_eq!(store.pipeline(CategoryId(1)).await.unwrap(), None);
}

#[tokio::test]
async fn sessions_expire_and_purge() {
    let store = MemoryStore::new();
    store
        .create_session(&session("a", 1, at(10)))
        .await
        .unwrap();
    store
        .create_session(&session("b", 1, at(20)))
        .await
        .unwrap();

    let duplicate = store.create_session(&session("a", 2, at(30))).await;
    let live = store
        .session(&SessionId::new("a".into()), at(9))
        .await
        .unwrap();
    let expired = store
        .session(&SessionId::new("a".into()), at(10))
        .await
        .unwrap();
    let purged = store.purge_sessions(at(15)).await.unwrap();
    store
        .delete_session(&SessionId::new("b".into()))
        .await
        .unwrap();

    assert!(matches!(duplicate, Err(Error::Conflict { .. })));
    assert_eq!(live.map(|s| s.deal_id), Some(DealId(1)));
    assert!(expired.is_none());
    assert_eq!(purged, 1);
    assert!(
        store
            .session(&SessionId::new("b".into()), at(0))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn inbox_tracks_pending_failed_and_done() {
    let store = MemoryStore::new();
    let notice = |deal| ChangeNotice::DealChanged {
        deal_id: DealId(deal),
    };
    let first = store
        .inbox_push(notice(1), "ONCRMDEALUPDATE", Some(at(0)), at(1))
        .await
        .unwrap();
    let second = store
        .inbox_push(notice(2), "ONCRMDEALADD", None, at(2))
        .await
        .unwrap();
    let third = store
        .inbox_push(notice(3), "ONCRMDEALUPDATE", None, at(3))
        .await
        .unwrap();

    store.inbox_failed(&[first], "timeout").await.unwrap();
    store.inbox_done(&[second]).await.unwrap();
    let pending = store.inbox_pending(10).await.unwrap();
    let limited = store.inbox_pending(1).await.unwrap();

    assert_eq!(
        pending.iter().map(|e| e.id).collect::<Vec<_>>(),
        [first, third]
    );
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].last_error.as_deref(), Some("timeout"));
    assert_eq!(limited.len(), 1);
    assert_eq!(store.queue_stats().await.unwrap().inbox_pending, 2);
    assert_eq!(store.inbox_items().len(), 3);
}

#[tokio::test]
async fn outbox_moves_through_its_states() {
    let store = MemoryStore::new();
    let first = store
        .outbox_push(&credentials(1, "secret-pass"), at(0))
        .await
        .unwrap();
    let second = store.outbox_push(&last_login(1), at(0)).await.unwrap();
    let third = store.outbox_push(&last_login(2), at(50)).await.unwrap();

    let due_now = store.outbox_due(at(0), 10).await.unwrap();
    store
        .outbox_retry(second, "503", Duration::from_secs(30), at(1))
        .await
        .unwrap();
    let due_soon = store.outbox_due(at(20), 10).await.unwrap();
    let due_later = store.outbox_due(at(31), 10).await.unwrap();
    store.outbox_done(first).await.unwrap();
    store.outbox_park(third, "rejected").await.unwrap();

    let ids = |items: &[OutboxItem]| items.iter().map(|item| item.id).collect::<Vec<_>>();
    assert_eq!(ids(&due_now), [first, second]);
    assert_eq!(ids(&due_soon), [first]);
    assert_eq!(ids(&due_later), [first, second]);

    let items = store.outbox_items();
    assert_eq!(items[0].state, OutboxState::Done);
    match &items[0].write {
        WriteBack::Credentials { password, .. } => assert_eq!(password.expose(), ""),
        other => panic!("unexpected write {other:?}"),
    }
    assert_eq!(items[1].attempts, 1);
    assert_eq!(items[1].last_error.as_deref(), Some("503"));
    assert_eq!(items[1].next_attempt_at, at(31));
    assert_eq!(items[2].state, OutboxState::Parked);

    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.outbox_pending, stats.outbox_parked), (1, 1));
    assert_eq!(
        ids(&store.outbox_list(None, 10).await.unwrap()),
        [third, second, first]
    );
    assert_eq!(
        ids(&store
            .outbox_list(Some(OutboxState::Parked), 10)
            .await
            .unwrap()),
        [third]
    );

    assert_eq!(store.outbox_requeue_parked(at(60)).await.unwrap(), 1);
    assert_eq!(
        ids(&store.outbox_due(at(60), 10).await.unwrap()),
        [second, third]
    );
    assert!(
        store.outbox_done(OutboxId(999)).await.is_ok(),
        "a missing write is not an error"
    );
}

#[tokio::test]
async fn pending_last_login_is_replaced() {
    let store = MemoryStore::new();
    let first = store.outbox_push(&last_login(1), at(0)).await.unwrap();
    store
        .outbox_retry(first, "503", Duration::from_secs(60), at(1))
        .await
        .unwrap();
    let other_deal = store.outbox_push(&last_login(2), at(2)).await.unwrap();

    let earlier = WriteBack::LastLogin {
        deal_id: DealId(1),
        at: at(-100),
    };
    let replacement = store.outbox_push(&earlier, at(3)).await.unwrap();
    store
        .outbox_retry(first, "late answer", Duration::from_secs(1), at(4))
        .await
        .unwrap();

    let items = store.outbox_items();
    assert_eq!(
        items.iter().map(|item| item.id).collect::<Vec<_>>(),
        [other_deal, replacement]
    );
    let replaced = &items[1];
    assert!(matches!(replaced.write, WriteBack::LastLogin { at: kept, .. } if kept == at(5)));
    assert_eq!(replaced.attempts, 1);
    assert_eq!(replaced.next_attempt_at, at(61));
    assert_eq!(replaced.last_error.as_deref(), Some("503"));
}

#[tokio::test]
async fn finished_writes_ignore_late_updates() {
    let store = MemoryStore::new();
    let id = store.outbox_push(&last_login(1), at(0)).await.unwrap();
    store.outbox_done(id).await.unwrap();

    store
        .outbox_retry(id, "late", Duration::from_secs(5), at(1))
        .await
        .unwrap();
    store.outbox_park(id, "late").await.unwrap();

    let item = &store.outbox_items()[0];
    assert_eq!(
        (item.state, item.attempts, item.last_error.clone()),
        (OutboxState::Done, 0, None)
    );
}

#[tokio::test]
async fn spooled_document_queues_its_write() {
    let store = MemoryStore::new();
    let file = NewSpooledFile {
        deal_id: DealId(4),
        field: FieldCode::from("UF_CRM_1708509490009"),
        file_name: "passport.jpg".into(),
        content_type: "image/jpeg".into(),
        bytes: vec![1, 2, 3],
    };

    let id = store.spool_document(&file, at(7)).await.unwrap();

    let stored = store.spooled_file(id).await.unwrap().unwrap();
    assert_eq!(
        (stored.bytes.as_slice(), stored.uploaded_at),
        (&[1u8, 2, 3][..], at(7))
    );
    let items = store.outbox_items();
    assert!(matches!(
        &items[0].write,
        WriteBack::Document { deal_id: DealId(4), spool_id, .. } if *spool_id == id
    ));
    assert_eq!(store.queue_stats().await.unwrap().spooled_files, 1);

    store.delete_spooled_file(id).await.unwrap();
    assert!(store.spooled_file(id).await.unwrap().is_none());
}

#[tokio::test]
async fn throttle_counts_within_window() {
    let store = MemoryStore::new();
    let window = Duration::from_secs(60);

    store
        .throttle_record_failure("login:lkone", at(0), window)
        .await
        .unwrap();
    store
        .throttle_record_failure("login:lkone", at(30), window)
        .await
        .unwrap();
    let third = store
        .throttle_record_failure("login:lkone", at(61), window)
        .await
        .unwrap();
    let later = store
        .throttle_failures("login:lkone", at(200), window)
        .await
        .unwrap();
    let other = store
        .throttle_failures("ip:127.0.0.1", at(61), window)
        .await
        .unwrap();
    store.throttle_clear("login:lkone").await.unwrap();
    let cleared = store
        .throttle_failures("login:lkone", at(62), window)
        .await
        .unwrap();

    assert_eq!(third, 2, "the failure at 0 left the window");
    assert_eq!((later, other, cleared), (0, 0, 0));
}

#[tokio::test]
async fn values_round_trip() {
    let store = MemoryStore::new();

    store.set_value("watermark", "1").await.unwrap();
    store.set_value("watermark", "2").await.unwrap();

    assert_eq!(
        store.get_value("watermark").await.unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(store.get_value("absent").await.unwrap(), None);
}

#[tokio::test]
async fn injected_failures_run_out() {
    let store = MemoryStore::new();
    store.fail_next(2);

    let first = store.get_value("k").await;
    let second = store.set_value("k", "v").await;
    let third = store.set_value("k", "v").await;

    assert!(matches!(
        first,
        Err(Error::Storage {
            operation: "get_value",
            ..
        })
    ));
    assert!(matches!(
        second,
        Err(Error::Storage {
            operation: "set_value",
            ..
        })
    ));
    assert!(third.is_ok());
}

#[test]
fn later_by_saturates() {
    assert_eq!(later_by(at(0), Duration::from_secs(5)), at(5));
    assert_eq!(
        later_by(Timestamp::MAX, Duration::from_secs(5)),
        Timestamp::MAX
    );
}
