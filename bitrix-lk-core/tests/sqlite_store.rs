//! The SQLite store on real files in a temporary directory.

use std::collections::BTreeMap;
use std::time::Duration;

use bitrix_lk_core::fakes::MemoryStore;
use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{
    Account, CategoryId, ChangeNotice, ClientCase, ContactId, CreateAccount, Deal, DealId, Error,
    FieldCode, FieldValue, InboxId, Invoice, InvoiceId, InvoiceLinkage, InvoiceStatus, Login,
    Money, NewSpooledFile, OutboxState, Password, PasswordHash, Pipeline, ReferralCode, Session,
    SessionId, Stage, StageId, StageSemantics, Store, WriteBack,
};
use jiff::Timestamp;
use rstest::rstest;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const MINUTE: Duration = Duration::from_secs(60);

// --- helpers ---

fn open_store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = SqliteStore::open(dir.path().join("lk.sqlite3")).expect("open the store");
    (dir, store)
}

fn raw(store: &SqliteStore) -> rusqlite::Connection {
    rusqlite::Connection::open(store.path()).expect("open the database file directly")
}

fn count_rows(store: &SqliteStore, table: &str) -> i64 {
    raw(store)
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("count rows")
}

/// Makes every insert into `table` fail, to prove that a change rolls back whole.
fn break_inserts_into(store: &SqliteStore, table: &str) {
    raw(store)
        .execute_batch(&format!(
            "CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'insert disabled by the test'); END;"
        ))
        .expect("create the failing trigger");
}

/// Returns the store files (the database and its WAL) that contain `needle`.
fn files_containing(store: &SqliteStore, needle: &str) -> Vec<String> {
    ["", "-wal"]
        .into_iter()
        .map(|suffix| format!("{}{suffix}", store.path().display()))
        .filter(|file| {
            let bytes = std::fs::read(file).unwrap_or_default();
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        })
        .collect()
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + seconds).expect("timestamp in range")
}

fn account(deal: u64, login: &str, code: &str) -> Account {
    Account {
        deal_id: DealId(deal),
        login: Login::new(login),
        password_hash: PasswordHash(format!("$argon2id$v=19$hash-of-{deal}")),
        referral_code: ReferralCode(code.to_owned()),
        created_at: at(0),
        password_changed_at: at(0),
        last_login_at: None,
    }
}

fn credentials(deal: u64, password: &str) -> WriteBack {
    WriteBack::Credentials {
        deal_id: DealId(deal),
        login: Login::new(&format!("client{deal}")),
        password: Password::new(password.to_owned()),
    }
}

fn last_login(deal: u64, seconds: i64) -> WriteBack {
    WriteBack::LastLogin {
        deal_id: DealId(deal),
        at: at(seconds),
    }
}

fn deal(id: u64, contact: Option<u64>) -> Deal {
    let mut fields = BTreeMap::new();
    fields.insert(
        FieldCode::from("UF_CRM_1708511318200"),
        FieldValue::Text("Документы получены".to_owned()),
    );
    Deal {
        id: DealId(id),
        title: format!("Банкротство {id}"),
        category_id: CategoryId(5),
        stage_id: StageId::from("C5:NEW"),
        contact_id: contact.map(ContactId),
        modified_at: Some(at(10)),
        fields,
    }
}

fn invoice(id: InvoiceId, deal: Option<u64>, contact: Option<u64>) -> Invoice {
    Invoice {
        id,
        deal_id: deal.map(DealId),
        contact_id: contact.map(ContactId),
        title: format!("Счёт {id}"),
        account_number: None,
        amount: Money::rub(Decimal::new(1_500_000, 2)),
        status: InvoiceStatus::Legacy {
            status_id: "P".to_owned(),
            payed: Some(true),
        },
        paid_at: None,
        updated_at: Some(at(20)),
    }
}

fn pipeline(id: u64) -> Pipeline {
    Pipeline {
        id: CategoryId(id),
        name: "Исполнение Юр. отдел".to_owned(),
        stages: vec![Stage {
            id: StageId::from(format!("C{id}:NEW").as_str()),
            name: "Сбор документов".to_owned(),
            sort: 10,
            semantics: StageSemantics::Process,
        }],
    }
}

fn session(id: &str, deal: u64, expires_at: Timestamp) -> Session {
    Session {
        id: SessionId::new(id.to_owned()),
        deal_id: DealId(deal),
        csrf_token: SecretString::from(format!("csrf-{id}")),
        created_at: at(0),
        expires_at,
    }
}

fn spooled(deal: u64, bytes: &[u8]) -> NewSpooledFile {
    NewSpooledFile {
        deal_id: DealId(deal),
        field: FieldCode::from("UF_CRM_1708509490009"),
        file_name: "passport.jpg".to_owned(),
        content_type: "image/jpeg".to_owned(),
        bytes: bytes.to_vec(),
    }
}

async fn create(store: &SqliteStore, account: &Account, writes: &[WriteBack]) -> CreateAccount {
    store
        .create_account(account, writes)
        .await
        .expect("create the account")
}

// --- schema and durability ---

#[tokio::test]
async fn open_migrates_empty_file() {
    let (_dir, store) = open_store();

    let conn = raw(&store);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    let mut tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    tables.sort();

    assert_eq!(version, 1);
    assert_eq!(journal, "wal");
    assert_eq!(
        tables,
        [
            "accounts",
            "deals",
            "inbox",
            "invoices",
            "kv",
            "login_failures",
            "outbox",
            "pipelines",
            "sessions",
            "spool",
        ]
    );
}

#[tokio::test]
async fn reopen_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lk.sqlite3");
    let stored_account = account(7, "client7", "REF7");
    let stored_deal = deal(7, Some(70));
    let stored_invoice = invoice(InvoiceId::smart(1), Some(7), None);
    {
        let store = SqliteStore::open(&path).unwrap();
        create(&store, &stored_account, &[]).await;
        store.save_deal(&stored_deal).await.unwrap();
        store.save_invoice(&stored_invoice).await.unwrap();
        store.save_pipelines(&[pipeline(5)]).await.unwrap();
        store
            .create_session(&session("s-7", 7, at(3600)))
            .await
            .unwrap();
        store.set_value("watermark", "2024-05-01").await.unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();

    assert_eq!(
        store.account_by_deal(DealId(7)).await.unwrap(),
        Some(stored_account)
    );
    assert_eq!(store.deal(DealId(7)).await.unwrap(), Some(stored_deal));
    assert_eq!(
        store.invoices_of(DealId(7), None).await.unwrap(),
        vec![stored_invoice]
    );
    assert_eq!(
        store.pipeline(CategoryId(5)).await.unwrap(),
        Some(pipeline(5))
    );
    let restored = store
        .session(&SessionId::new("s-7".to_owned()), at(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored.deal_id, DealId(7));
    assert_eq!(restored.csrf_token.expose_secret(), "csrf-s-7");
    assert_eq!(
        store.get_value("watermark").await.unwrap().as_deref(),
        Some("2024-05-01")
    );
}

#[tokio::test]
async fn queues_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lk.sqlite3");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .inbox_push(
                ChangeNotice::DealChanged { deal_id: DealId(3) },
                "ONCRMDEALUPDATE",
                Some(at(-5)),
                at(0),
            )
            .await
            .unwrap();
        store
            .outbox_push(&credentials(3, "s3cret-pass"), at(0))
            .await
            .unwrap();
        store
            .spool_document(&spooled(3, b"scan"), at(0))
            .await
            .unwrap();
    }

    let store = SqliteStore::open(&path).unwrap();
    let events = store.inbox_pending(10).await.unwrap();
    let due = store.outbox_due(at(1), 10).await.unwrap();

    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].notice,
        ChangeNotice::DealChanged { deal_id: DealId(3) }
    );
    assert_eq!(events[0].event_name, "ONCRMDEALUPDATE");
    assert_eq!(events[0].sent_at, Some(at(-5)));
    assert_eq!(due.len(), 2);
    assert!(matches!(
        &due[0].write,
        WriteBack::Credentials { password, .. } if password.expose() == "s3cret-pass"
    ));
    assert!(matches!(due[1].write, WriteBack::Document { .. }));
    assert_eq!(store.queue_stats().await.unwrap().spooled_files, 1);
}

// --- accounts ---

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_create_account_makes_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lk.sqlite3");
    let handles = [
        SqliteStore::open(&path).unwrap(),
        SqliteStore::open(&path).unwrap(),
    ];

    let tasks: Vec<_> = (0..20)
        .map(|task| {
            let store = handles[task % 2].clone();
            tokio::spawn(async move {
                let writes = [credentials(42, &format!("password-{task}"))];
                store
                    .create_account(&account(42, "client42", "REF42"), &writes)
                    .await
            })
        })
        .collect();
    let mut created = 0;
    let mut already_exists = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            CreateAccount::Created => created += 1,
            CreateAccount::AlreadyExists(existing) => {
                assert_eq!(existing.deal_id, DealId(42));
                already_exists += 1;
            }
        }
    }

    assert_eq!(created, 1);
    assert_eq!(already_exists, 19);
    assert_eq!(count_rows(&handles[0], "accounts"), 1);
    assert_eq!(count_rows(&handles[0], "outbox"), 1);
}

#[tokio::test]
async fn create_account_returns_existing() {
    let (_dir, store) = open_store();
    let first = account(1, "client1", "REF1");
    create(&store, &first, &[credentials(1, "first")]).await;

    let again = create(
        &store,
        &account(1, "other", "REF-OTHER"),
        &[credentials(1, "second")],
    )
    .await;

    assert_eq!(again, CreateAccount::AlreadyExists(first));
    assert_eq!(count_rows(&store, "outbox"), 1);
}

#[rstest]
#[case::login("client1", "REF2", "an account with this login")]
#[case::login_in_other_case("  CLIENT1 ", "REF2", "an account with this login")]
#[case::referral_code("client2", "REF1", "an account with this referral code")]
#[tokio::test]
async fn create_account_conflicts_across_deals(
    #[case] login: &str,
    #[case] code: &str,
    #[case] expected: &str,
) {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;

    let error = store
        .create_account(&account(2, login, code), &[credentials(2, "pass")])
        .await
        .unwrap_err();

    assert!(
        matches!(&error, Error::Conflict { what } if what == expected),
        "unexpected error: {error:?}"
    );
    assert_eq!(store.account_by_deal(DealId(2)).await.unwrap(), None);
    assert_eq!(count_rows(&store, "outbox"), 0);
}

#[tokio::test]
async fn create_account_rolls_back_when_queueing_fails() {
    let (_dir, store) = open_store();
    break_inserts_into(&store, "outbox");

    let result = store
        .create_account(&account(1, "client1", "REF1"), &[credentials(1, "pass")])
        .await;

    assert!(matches!(
        result,
        Err(Error::Storage {
            operation: "create_account",
            ..
        })
    ));
    assert_eq!(count_rows(&store, "accounts"), 0);
}

#[tokio::test]
async fn accounts_lookups() {
    let (_dir, store) = open_store();
    create(&store, &account(9, "client9", "REF9"), &[]).await;
    create(&store, &account(3, "client3", "REF3"), &[]).await;

    let by_login = store
        .account_by_login(&Login::new("Client3"))
        .await
        .unwrap();
    let missing = store.account_by_login(&Login::new("nobody")).await.unwrap();
    let all: Vec<DealId> = store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .map(|account| account.deal_id)
        .collect();

    assert_eq!(by_login.map(|account| account.deal_id), Some(DealId(3)));
    assert_eq!(missing, None);
    assert_eq!(all, [DealId(3), DealId(9)]);
}

#[tokio::test]
async fn set_password_ends_sessions_and_queues() {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    create(&store, &account(2, "client2", "REF2"), &[]).await;
    store
        .create_session(&session("a", 1, at(3600)))
        .await
        .unwrap();
    store
        .create_session(&session("b", 1, at(3600)))
        .await
        .unwrap();
    store
        .create_session(&session("c", 2, at(3600)))
        .await
        .unwrap();
    let new_hash = PasswordHash("$argon2id$v=19$new".to_owned());

    store
        .set_password(DealId(1), &new_hash, at(100), &[credentials(1, "new-pass")])
        .await
        .unwrap();

    let updated = store.account_by_deal(DealId(1)).await.unwrap().unwrap();
    assert_eq!(updated.password_hash, new_hash);
    assert_eq!(updated.password_changed_at, at(100));
    for id in ["a", "b"] {
        let found = store
            .session(&SessionId::new(id.to_owned()), at(60))
            .await
            .unwrap();
        assert!(
            found.is_none(),
            "session {id} of the changed account survived"
        );
    }
    let other = store
        .session(&SessionId::new("c".to_owned()), at(60))
        .await
        .unwrap();
    assert!(other.is_some(), "another account's session ended");
    let due = store.outbox_due(at(100), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].next_attempt_at, at(100));
}

#[tokio::test]
async fn set_password_rolls_back_when_queueing_fails() {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    store
        .create_session(&session("a", 1, at(3600)))
        .await
        .unwrap();
    break_inserts_into(&store, "outbox");

    let result = store
        .set_password(
            DealId(1),
            &PasswordHash("$argon2id$v=19$new".to_owned()),
            at(100),
            &[credentials(1, "new-pass")],
        )
        .await;

    assert!(result.is_err());
    let unchanged = store.account_by_deal(DealId(1)).await.unwrap().unwrap();
    assert_eq!(unchanged.password_changed_at, at(0));
    let kept = store
        .session(&SessionId::new("a".to_owned()), at(60))
        .await
        .unwrap();
    assert!(kept.is_some());
}

#[tokio::test]
async fn set_password_of_unknown_deal_is_not_found() {
    let (_dir, store) = open_store();

    let error = store
        .set_password(
            DealId(404),
            &PasswordHash("x".to_owned()),
            at(0),
            &[credentials(404, "p")],
        )
        .await
        .unwrap_err();

    assert!(matches!(error, Error::NotFound { what } if what == "account of deal 404"));
    assert_eq!(count_rows(&store, "outbox"), 0);
}

#[tokio::test]
async fn record_login_sets_time_and_coalesces_writes() {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    create(&store, &account(2, "client2", "REF2"), &[]).await;

    store
        .record_login(DealId(1), at(10), &[last_login(1, 10)])
        .await
        .unwrap();
    store
        .record_login(DealId(2), at(15), &[last_login(2, 15)])
        .await
        .unwrap();
    store
        .record_login(DealId(1), at(20), &[last_login(1, 20)])
        .await
        .unwrap();

    let logged_in = store.account_by_deal(DealId(1)).await.unwrap().unwrap();
    assert_eq!(logged_in.last_login_at, Some(at(20)));
    let pending = store
        .outbox_list(Some(OutboxState::Pending), 10)
        .await
        .unwrap();
    let mut times: Vec<(DealId, Timestamp)> = pending
        .iter()
        .map(|item| match item.write {
            WriteBack::LastLogin { deal_id, at } => (deal_id, at),
            ref other => panic!("unexpected write {other:?}"),
        })
        .collect();
    times.sort();
    assert_eq!(times, [(DealId(1), at(20)), (DealId(2), at(15))]);
}

#[tokio::test]
async fn last_login_coalescing_keeps_latest_and_backoff() {
    let (_dir, store) = open_store();
    let first = store.outbox_push(&last_login(1, 30), at(30)).await.unwrap();
    store
        .outbox_retry(first, "Bitrix24 is unavailable", 10 * MINUTE, at(31))
        .await
        .unwrap();

    store.outbox_push(&last_login(1, 20), at(40)).await.unwrap();

    let pending = store
        .outbox_list(Some(OutboxState::Pending), 10)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert!(matches!(pending[0].write, WriteBack::LastLogin { at: time, .. } if time == at(30)));
    assert_eq!(pending[0].attempts, 1);
    assert_eq!(pending[0].next_attempt_at, at(631));
}

#[tokio::test]
async fn outbox_done_on_replaced_write_is_harmless() {
    let (_dir, store) = open_store();
    let in_flight = store.outbox_push(&last_login(1, 10), at(10)).await.unwrap();
    store.outbox_push(&last_login(1, 20), at(20)).await.unwrap();

    store.outbox_done(in_flight).await.unwrap();

    let due = store.outbox_due(at(20), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(matches!(due[0].write, WriteBack::LastLogin { at: time, .. } if time == at(20)));
}

#[tokio::test]
async fn record_login_of_unknown_deal_is_not_found() {
    let (_dir, store) = open_store();

    let error = store
        .record_login(DealId(5), at(0), &[last_login(5, 0)])
        .await
        .unwrap_err();

    assert!(matches!(error, Error::NotFound { .. }));
    assert_eq!(count_rows(&store, "outbox"), 0);
}

// --- deals, invoices, pipelines ---

#[tokio::test]
async fn deal_snapshots_save_replace_delete() {
    let (_dir, store) = open_store();
    store.save_deal(&deal(2, None)).await.unwrap();
    store.save_deal(&deal(1, Some(10))).await.unwrap();
    let mut moved = deal(2, None);
    moved.stage_id = StageId::from("C5:WON");

    store.save_deal(&moved).await.unwrap();

    assert_eq!(store.deal(DealId(2)).await.unwrap(), Some(moved));
    assert_eq!(store.deal_ids().await.unwrap(), [DealId(1), DealId(2)]);

    store.delete_deal(DealId(1)).await.unwrap();

    assert_eq!(store.deal(DealId(1)).await.unwrap(), None);
    assert_eq!(store.deal_ids().await.unwrap(), [DealId(2)]);
}

#[tokio::test]
async fn delete_deal_keeps_account() {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    store.save_deal(&deal(1, None)).await.unwrap();

    store.delete_deal(DealId(1)).await.unwrap();

    assert!(store.account_by_deal(DealId(1)).await.unwrap().is_some());
}

#[rstest]
#[case::deal_only(None, vec![InvoiceId::smart(1), InvoiceId::legacy(4)])]
#[case::deal_and_contact(Some(70), vec![InvoiceId::smart(1), InvoiceId::smart(3), InvoiceId::legacy(4)])]
#[tokio::test]
async fn invoices_of_deal_and_contact(
    #[case] contact: Option<u64>,
    #[case] expected: Vec<InvoiceId>,
) {
    let (_dir, store) = open_store();
    store
        .save_invoice(&invoice(InvoiceId::legacy(4), Some(7), None))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::smart(3), None, Some(70)))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::smart(1), Some(7), Some(70)))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::smart(2), Some(8), Some(80)))
        .await
        .unwrap();

    let found: Vec<InvoiceId> = store
        .invoices_of(DealId(7), contact.map(ContactId))
        .await
        .unwrap()
        .into_iter()
        .map(|invoice| invoice.id)
        .collect();

    assert_eq!(found, expected);
}

#[tokio::test]
async fn replace_invoices_drops_missing_ones() {
    let (_dir, store) = open_store();
    store
        .save_invoice(&invoice(InvoiceId::smart(1), Some(7), None))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::smart(2), Some(7), None))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::legacy(3), None, Some(70)))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::smart(9), Some(8), None))
        .await
        .unwrap();
    let mut renamed = invoice(InvoiceId::smart(2), Some(7), None);
    renamed.title = "Счёт за второй этап".to_owned();
    let added = invoice(InvoiceId::legacy(5), Some(7), None);

    store
        .replace_invoices_of(
            DealId(7),
            Some(ContactId(70)),
            &[renamed.clone(), added.clone()],
        )
        .await
        .unwrap();

    assert_eq!(
        store
            .invoices_of(DealId(7), Some(ContactId(70)))
            .await
            .unwrap(),
        vec![renamed, added]
    );
    let other_deal = store.invoices_of(DealId(8), None).await.unwrap();
    assert_eq!(other_deal.len(), 1, "another deal's invoice was touched");
}

#[tokio::test]
async fn delete_invoice_removes_one() {
    let (_dir, store) = open_store();
    store
        .save_invoice(&invoice(InvoiceId::smart(1), Some(7), None))
        .await
        .unwrap();
    store
        .save_invoice(&invoice(InvoiceId::legacy(1), Some(7), None))
        .await
        .unwrap();

    store.delete_invoice(InvoiceId::smart(1)).await.unwrap();

    let left: Vec<InvoiceId> = store
        .invoices_of(DealId(7), None)
        .await
        .unwrap()
        .into_iter()
        .map(|invoice| invoice.id)
        .collect();
    assert_eq!(left, [InvoiceId::legacy(1)]);
}

#[tokio::test]
async fn save_pipelines_replaces_cache() {
    let (_dir, store) = open_store();
    store
        .save_pipelines(&[pipeline(1), pipeline(5)])
        .await
        .unwrap();

    store
        .save_pipelines(&[pipeline(7), pipeline(5)])
        .await
        .unwrap();

    assert_eq!(store.pipelines().await.unwrap(), [pipeline(5), pipeline(7)]);
    assert_eq!(store.pipeline(CategoryId(1)).await.unwrap(), None);
}

// --- a client's page in one call ---

/// Stores deal 7 with its account, a session, two pipelines and invoices of
/// the deal, of its contact 70 and of another deal.
async fn seed_case(store: &dyn Store) {
    store
        .create_account(&account(7, "client7", "REF7"), &[])
        .await
        .expect("create the account");
    store
        .save_deal(&deal(7, Some(70)))
        .await
        .expect("save the deal");
    store
        .save_pipelines(&[pipeline(1), pipeline(5)])
        .await
        .expect("save the pipelines");
    for invoice in [
        invoice(InvoiceId::legacy(4), Some(7), None),
        invoice(InvoiceId::smart(3), None, Some(70)),
        invoice(InvoiceId::smart(2), Some(8), Some(80)),
    ] {
        store.save_invoice(&invoice).await.expect("save an invoice");
    }
    store
        .create_session(&session("page-session", 7, at(3600)))
        .await
        .expect("create the session");
}

fn invoice_ids(case: &ClientCase) -> Vec<InvoiceId> {
    let mut ids: Vec<InvoiceId> = case.invoices.iter().map(|invoice| invoice.id).collect();
    ids.sort();
    ids
}

#[rstest]
#[case::deal_only(InvoiceLinkage::Deal, vec![InvoiceId::legacy(4)])]
#[case::deal_and_contact(
    InvoiceLinkage::DealAndContact,
    vec![InvoiceId::smart(3), InvoiceId::legacy(4)]
)]
#[tokio::test]
async fn client_case_reads_what_the_single_reads_do(
    #[case] linkage: InvoiceLinkage,
    #[case] mut expected: Vec<InvoiceId>,
) {
    let (_dir, store) = open_store();
    seed_case(&store).await;
    let memory = MemoryStore::new();
    seed_case(&memory).await;
    expected.sort();
    let id = SessionId::new("page-session".to_owned());

    let case = store.client_case(&id, at(0), linkage).await.unwrap();
    let composed = memory.client_case(&id, at(0), linkage).await.unwrap();

    let (case, composed) = (case.expect("live session"), composed.expect("live session"));
    assert_eq!(case.session.deal_id, DealId(7));
    assert_eq!(case.session.csrf_token.expose_secret(), "csrf-page-session");
    assert_eq!(case.account, Some(account(7, "client7", "REF7")));
    assert_eq!(case.deal, Some(deal(7, Some(70))));
    assert_eq!(&*case.pipelines, [pipeline(1), pipeline(5)]);
    assert_eq!(invoice_ids(&case), expected);

    assert_eq!(case.account, composed.account);
    assert_eq!(case.deal, composed.deal);
    assert_eq!(case.pipelines, composed.pipelines);
    assert_eq!(invoice_ids(&case), invoice_ids(&composed));
}

#[rstest]
#[case::unknown("no-such-session", at(0))]
#[case::expired("page-session", at(3600))]
#[tokio::test]
async fn client_case_without_live_session_is_none(#[case] id: &str, #[case] now: Timestamp) {
    let (_dir, store) = open_store();
    seed_case(&store).await;

    let case = store
        .client_case(&SessionId::new(id.to_owned()), now, InvoiceLinkage::Deal)
        .await
        .unwrap();

    assert!(case.is_none());
}

#[tokio::test]
async fn client_case_of_deleted_deal() {
    let (_dir, store) = open_store();
    seed_case(&store).await;
    store.delete_deal(DealId(7)).await.unwrap();
    let id = SessionId::new("page-session".to_owned());

    let case = store
        .client_case(&id, at(0), InvoiceLinkage::DealAndContact)
        .await
        .unwrap()
        .expect("live session");

    assert_eq!(case.account, Some(account(7, "client7", "REF7")));
    assert_eq!(case.deal, None);
    assert!(case.invoices.is_empty());
}

#[tokio::test]
async fn client_case_sees_pipelines_saved_by_another_handle() {
    let (_dir, store) = open_store();
    seed_case(&store).await;
    let id = SessionId::new("page-session".to_owned());
    let read = async |store: &SqliteStore| {
        let case = store.client_case(&id, at(0), InvoiceLinkage::Deal).await;
        case.unwrap().expect("live session").pipelines
    };
    assert_eq!(&*read(&store).await, [pipeline(1), pipeline(5)]);

    let other_process = SqliteStore::open(store.path()).unwrap();
    other_process.save_pipelines(&[pipeline(9)]).await.unwrap();
    assert_eq!(&*read(&store).await, [pipeline(9)]);

    store.save_pipelines(&[pipeline(2)]).await.unwrap();
    assert_eq!(&*read(&store).await, [pipeline(2)]);
    assert_eq!(&*read(&other_process).await, [pipeline(2)]);
}

// --- sessions ---

#[rstest]
#[case::long_before(at(0), true)]
#[case::one_millisecond_before(Timestamp::from_millisecond(at(3600).as_millisecond() - 1).unwrap(), true)]
#[case::at_expiry(at(3600), false)]
#[case::after(at(7200), false)]
#[tokio::test]
async fn session_valid_until_expiry(#[case] now: Timestamp, #[case] valid: bool) {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    store
        .create_session(&session("sid", 1, at(3600)))
        .await
        .unwrap();

    let found = store
        .session(&SessionId::new("sid".to_owned()), now)
        .await
        .unwrap();

    assert_eq!(found.is_some(), valid);
}

#[tokio::test]
async fn session_table_holds_hash_not_id() {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    let id = "d2hhdC1hLWxvbmctcmFuZG9tLXNlc3Npb24taWQ";
    let mut new_session = session(id, 1, at(3600));
    // The helper's token contains the id, which would defeat the file scan below.
    new_session.csrf_token = SecretString::from("unrelated-csrf-token".to_owned());
    store.create_session(&new_session).await.unwrap();

    let stored: Vec<u8> = raw(&store)
        .query_row("SELECT id_sha256 FROM sessions", [], |row| row.get(0))
        .unwrap();

    assert_eq!(stored, Sha256::digest(id.as_bytes()).as_slice());
    assert_eq!(files_containing(&store, id), Vec::<String>::new());
}

#[tokio::test]
async fn delete_and_purge_sessions() {
    let (_dir, store) = open_store();
    create(&store, &account(1, "client1", "REF1"), &[]).await;
    store
        .create_session(&session("old-1", 1, at(10)))
        .await
        .unwrap();
    store
        .create_session(&session("old-2", 1, at(20)))
        .await
        .unwrap();
    store
        .create_session(&session("live", 1, at(3600)))
        .await
        .unwrap();
    store
        .create_session(&session("gone", 1, at(3600)))
        .await
        .unwrap();

    store
        .delete_session(&SessionId::new("gone".to_owned()))
        .await
        .unwrap();
    let purged = store.purge_sessions(at(20)).await.unwrap();

    assert_eq!(purged, 2);
    assert_eq!(count_rows(&store, "sessions"), 1);
    let live = store
        .session(&SessionId::new("live".to_owned()), at(30))
        .await
        .unwrap();
    assert!(live.is_some());
}

#[tokio::test]
async fn session_without_account_is_not_found() {
    let (_dir, store) = open_store();

    let error = store
        .create_session(&session("sid", 99, at(3600)))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::NotFound { what } if what == "account of deal 99"));
}

// --- inbox ---

#[tokio::test]
async fn inbox_done_and_failed() {
    let (_dir, store) = open_store();
    let mut ids = Vec::new();
    for deal in 1..=3 {
        let notice = ChangeNotice::DealChanged {
            deal_id: DealId(deal),
        };
        ids.push(
            store
                .inbox_push(notice, "ONCRMDEALUPDATE", None, at(0))
                .await
                .unwrap(),
        );
    }

    store.inbox_done(&[ids[0]]).await.unwrap();
    store
        .inbox_failed(&[ids[1]], "deal read timed out")
        .await
        .unwrap();
    store
        .inbox_failed(&[ids[1], ids[0]], "again")
        .await
        .unwrap();

    let pending = store.inbox_pending(10).await.unwrap();
    let pending_ids: Vec<InboxId> = pending.iter().map(|event| event.id).collect();
    assert_eq!(pending_ids, [ids[1], ids[2]]);
    assert_eq!(pending[0].attempts, 2);
    assert_eq!(pending[0].last_error.as_deref(), Some("again"));
    assert_eq!(pending[1].attempts, 0);
    assert_eq!(pending[1].last_error, None);
    assert_eq!(store.queue_stats().await.unwrap().inbox_pending, 2);
}

#[tokio::test]
async fn inbox_pending_respects_limit() {
    let (_dir, store) = open_store();
    for number in 1..=5 {
        let notice = ChangeNotice::InvoiceChanged {
            invoice_id: InvoiceId::smart(number),
        };
        store
            .inbox_push(notice, "ONCRMINVOICEUPDATE", None, at(0))
            .await
            .unwrap();
    }

    let first_two = store.inbox_pending(2).await.unwrap();

    let notices: Vec<ChangeNotice> = first_two.into_iter().map(|event| event.notice).collect();
    assert_eq!(
        notices,
        [
            ChangeNotice::InvoiceChanged {
                invoice_id: InvoiceId::smart(1)
            },
            ChangeNotice::InvoiceChanged {
                invoice_id: InvoiceId::smart(2)
            },
        ]
    );
}

// --- outbox ---

#[tokio::test]
async fn outbox_done_wipes_password() {
    let (_dir, store) = open_store();
    let id = store
        .outbox_push(&credentials(1, "plain-Secret-42"), at(0))
        .await
        .unwrap();

    store.outbox_done(id).await.unwrap();

    let (state, payload, done_at): (String, String, Option<i64>) = raw(&store)
        .query_row(
            "SELECT state, payload, done_at FROM outbox WHERE id = ?1",
            [id.get()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .unwrap();
    assert_eq!(state, "done");
    assert!(done_at.is_some());
    assert!(
        !payload.contains("plain-Secret-42"),
        "payload still has the password: {payload}"
    );
    let listed = store
        .outbox_list(Some(OutboxState::Done), 10)
        .await
        .unwrap();
    assert!(matches!(
        &listed[0].write,
        WriteBack::Credentials { password, login, .. }
            if password.expose().is_empty() && login.as_str() == "client1"
    ));
}

#[tokio::test]
async fn outbox_done_leaves_no_password_on_disk() {
    let (_dir, store) = open_store();
    let password = "plain-Secret-42";
    let id = store
        .outbox_push(&credentials(1, password), at(0))
        .await
        .unwrap();
    assert_eq!(
        files_containing(&store, password).len(),
        1,
        "the WAL has the password"
    );

    store.outbox_done(id).await.unwrap();

    assert_eq!(files_containing(&store, password), Vec::<String>::new());
}

#[tokio::test]
async fn outbox_due_oldest_first_and_not_early() {
    let (_dir, store) = open_store();
    let first = store
        .outbox_push(&credentials(1, "a"), at(0))
        .await
        .unwrap();
    let second = store
        .outbox_push(&credentials(2, "b"), at(5))
        .await
        .unwrap();
    let later = store
        .outbox_push(&credentials(3, "c"), at(100))
        .await
        .unwrap();

    let due: Vec<_> = store
        .outbox_due(at(50), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.id)
        .collect();
    let limited = store.outbox_due(at(200), 1).await.unwrap();

    assert_eq!(due, [first, second]);
    assert!(!due.contains(&later));
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].id, first);
}

#[tokio::test]
async fn outbox_retry_park_requeue() {
    let (_dir, store) = open_store();
    let id = store
        .outbox_push(&credentials(1, "pass"), at(0))
        .await
        .unwrap();

    store
        .outbox_retry(id, "503 QUERY_LIMIT_EXCEEDED", MINUTE, at(10))
        .await
        .unwrap();

    assert!(store.outbox_due(at(69), 10).await.unwrap().is_empty());
    let retried = store.outbox_due(at(70), 10).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(
        retried[0].last_error.as_deref(),
        Some("503 QUERY_LIMIT_EXCEEDED")
    );

    store
        .outbox_park(id, "field UF_CRM_1 not found")
        .await
        .unwrap();

    assert!(store.outbox_due(at(1000), 10).await.unwrap().is_empty());
    let parked = store
        .outbox_list(Some(OutboxState::Parked), 10)
        .await
        .unwrap();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].attempts, 2);
    assert_eq!(
        parked[0].last_error.as_deref(),
        Some("field UF_CRM_1 not found")
    );
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.outbox_pending, stats.outbox_parked), (0, 1));

    let requeued = store.outbox_requeue_parked(at(2000)).await.unwrap();

    assert_eq!(requeued, 1);
    let due = store.outbox_due(at(2000), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].state, OutboxState::Pending);
    assert_eq!(due[0].attempts, 0);
    assert_eq!(due[0].next_attempt_at, at(2000));
    assert!(matches!(
        &due[0].write,
        WriteBack::Credentials { password, .. } if password.expose() == "pass"
    ));
}

#[tokio::test]
async fn outbox_changes_skip_finished_writes() {
    let (_dir, store) = open_store();
    let id = store
        .outbox_push(&credentials(1, "pass"), at(0))
        .await
        .unwrap();
    store.outbox_done(id).await.unwrap();

    store
        .outbox_retry(id, "late failure", MINUTE, at(10))
        .await
        .unwrap();
    store.outbox_park(id, "late failure").await.unwrap();
    store.outbox_done(id).await.unwrap();

    let listed = store.outbox_list(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, OutboxState::Done);
    assert_eq!(listed[0].last_error, None);
}

#[rstest]
#[case::all(None, 3)]
#[case::pending(Some(OutboxState::Pending), 1)]
#[case::done(Some(OutboxState::Done), 1)]
#[case::parked(Some(OutboxState::Parked), 1)]
#[tokio::test]
async fn outbox_list_filters_by_state(#[case] state: Option<OutboxState>, #[case] expected: usize) {
    let (_dir, store) = open_store();
    let done = store
        .outbox_push(&credentials(1, "a"), at(0))
        .await
        .unwrap();
    let parked = store
        .outbox_push(&credentials(2, "b"), at(0))
        .await
        .unwrap();
    store
        .outbox_push(&credentials(3, "c"), at(0))
        .await
        .unwrap();
    store.outbox_done(done).await.unwrap();
    store.outbox_park(parked, "rejected").await.unwrap();

    let listed = store.outbox_list(state, 10).await.unwrap();

    assert_eq!(listed.len(), expected);
    assert!(state.is_none_or(|state| listed.iter().all(|item| item.state == state)));
}

#[tokio::test]
async fn outbox_list_newest_first() {
    let (_dir, store) = open_store();
    let ids = [
        store
            .outbox_push(&credentials(1, "a"), at(0))
            .await
            .unwrap(),
        store
            .outbox_push(&credentials(2, "b"), at(1))
            .await
            .unwrap(),
        store
            .outbox_push(&credentials(3, "c"), at(2))
            .await
            .unwrap(),
    ];

    let listed: Vec<_> = store
        .outbox_list(None, 2)
        .await
        .unwrap()
        .into_iter()
        .map(|item| item.id)
        .collect();

    assert_eq!(listed, [ids[2], ids[1]]);
}

// --- upload spool ---

#[tokio::test]
async fn spool_document_stores_file_and_queues_write() {
    let (_dir, store) = open_store();
    let bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];

    let id = store
        .spool_document(&spooled(4, &bytes), at(5))
        .await
        .unwrap();

    let file = store.spooled_file(id).await.unwrap().unwrap();
    assert_eq!(file.bytes, bytes);
    assert_eq!(file.deal_id, DealId(4));
    assert_eq!(file.file_name, "passport.jpg");
    assert_eq!(file.content_type, "image/jpeg");
    assert_eq!(file.uploaded_at, at(5));
    let due = store.outbox_due(at(5), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(matches!(
        &due[0].write,
        WriteBack::Document { deal_id, field, spool_id }
            if *deal_id == DealId(4) && field.as_str() == "UF_CRM_1708509490009" && *spool_id == id
    ));

    store.delete_spooled_file(id).await.unwrap();

    assert!(store.spooled_file(id).await.unwrap().is_none());
}

#[tokio::test]
async fn spool_document_rolls_back_when_queueing_fails() {
    let (_dir, store) = open_store();
    break_inserts_into(&store, "outbox");

    let result = store.spool_document(&spooled(4, b"scan"), at(5)).await;

    assert!(matches!(
        result,
        Err(Error::Storage {
            operation: "spool_document",
            ..
        })
    ));
    assert_eq!(count_rows(&store, "spool"), 0);
}

// --- login throttling ---

#[tokio::test]
async fn throttle_counts_within_window() {
    let (_dir, store) = open_store();
    let window = 15 * MINUTE;

    let counts = [
        store
            .throttle_record_failure("login:client1", at(0), window)
            .await
            .unwrap(),
        store
            .throttle_record_failure("login:client1", at(60), window)
            .await
            .unwrap(),
        store
            .throttle_record_failure("addr:10.0.0.1", at(60), window)
            .await
            .unwrap(),
        store
            .throttle_record_failure("login:client1", at(600), window)
            .await
            .unwrap(),
        store
            .throttle_record_failure("login:client1", at(961), window)
            .await
            .unwrap(),
    ];

    assert_eq!(counts, [1, 2, 1, 3, 2]);
    assert_eq!(
        store
            .throttle_failures("login:client1", at(961), window)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .throttle_failures("login:client1", at(1900), window)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .throttle_failures("addr:10.0.0.1", at(961), window)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .throttle_failures("login:nobody", at(961), window)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn throttle_prunes_old_rows() {
    let (_dir, store) = open_store();
    let window = 15 * MINUTE;
    store
        .throttle_record_failure("addr:10.0.0.1", at(0), window)
        .await
        .unwrap();
    store
        .throttle_record_failure("login:client1", at(0), window)
        .await
        .unwrap();

    store
        .throttle_record_failure("login:client1", at(2 * 86_400), window)
        .await
        .unwrap();

    assert_eq!(count_rows(&store, "login_failures"), 1);
}

#[tokio::test]
async fn throttle_clear_forgets_key() {
    let (_dir, store) = open_store();
    let window = 15 * MINUTE;
    store
        .throttle_record_failure("login:client1", at(0), window)
        .await
        .unwrap();
    store
        .throttle_record_failure("addr:10.0.0.1", at(0), window)
        .await
        .unwrap();

    store.throttle_clear("login:client1").await.unwrap();

    assert_eq!(
        store
            .throttle_failures("login:client1", at(1), window)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .throttle_failures("addr:10.0.0.1", at(1), window)
            .await
            .unwrap(),
        1
    );
}

// --- values and stats ---

#[tokio::test]
async fn values_insert_and_replace() {
    let (_dir, store) = open_store();

    assert_eq!(store.get_value("sync.watermark").await.unwrap(), None);
    store.set_value("sync.watermark", "1").await.unwrap();
    store.set_value("sync.watermark", "2").await.unwrap();

    assert_eq!(
        store.get_value("sync.watermark").await.unwrap().as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn queue_stats_counts_each_queue() {
    let (_dir, store) = open_store();
    let notice = ChangeNotice::DealDeleted { deal_id: DealId(1) };
    store
        .inbox_push(notice, "ONCRMDEALDELETE", None, at(0))
        .await
        .unwrap();
    store
        .spool_document(&spooled(1, b"a"), at(0))
        .await
        .unwrap();
    store
        .spool_document(&spooled(1, b"b"), at(0))
        .await
        .unwrap();
    let parked = store
        .outbox_push(&credentials(1, "p"), at(0))
        .await
        .unwrap();
    store.outbox_park(parked, "rejected").await.unwrap();

    let stats = store.queue_stats().await.unwrap();

    assert_eq!(stats.inbox_pending, 1);
    assert_eq!(stats.outbox_pending, 2);
    assert_eq!(stats.outbox_parked, 1);
    assert_eq!(stats.spooled_files, 2);
}

#[tokio::test]
async fn debug_shows_path_only() {
    let (_dir, store) = open_store();

    let debug = format!("{store:?}");

    assert!(debug.starts_with("SqliteStore"));
    assert!(debug.contains("lk.sqlite3"));
}

#[tokio::test]
async fn spooled_fields_list_pending_uploads_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("lk.sqlite3")).unwrap();
    let now = jiff::Timestamp::now();
    let file = |deal: u64, field: &str| bitrix_lk_core::NewSpooledFile {
        deal_id: DealId(deal),
        field: bitrix_lk_core::FieldCode::from(field),
        file_name: "page.pdf".to_owned(),
        content_type: "application/pdf".to_owned(),
        bytes: b"%PDF-1.4".to_vec(),
    };

    let first = store
        .spool_document(&file(1, "UF_CRM_B"), now)
        .await
        .unwrap();
    store
        .spool_document(&file(1, "UF_CRM_B"), now)
        .await
        .unwrap();
    store
        .spool_document(&file(1, "UF_CRM_A"), now)
        .await
        .unwrap();
    store
        .spool_document(&file(2, "UF_CRM_C"), now)
        .await
        .unwrap();
    let fields = store.spooled_fields_of(DealId(1)).await.unwrap();
    store.delete_spooled_file(first).await.unwrap();
    let after_delete = store.spooled_fields_of(DealId(1)).await.unwrap();

    let codes: Vec<&str> = fields.iter().map(|field| field.as_str()).collect();
    assert_eq!(codes, ["UF_CRM_A", "UF_CRM_B"]);
    assert_eq!(
        after_delete.len(),
        2,
        "one upload of UF_CRM_B is still pending"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn new_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lk.sqlite3");
    let store = SqliteStore::open(&path).unwrap();
    store.set_value("probe", "1").await.unwrap();

    for name in ["lk.sqlite3", "lk.sqlite3-wal"] {
        let mode = std::fs::metadata(dir.path().join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name} is readable by others");
    }
}
