use std::collections::HashSet;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use rstest::rstest;
use rust_decimal::Decimal;
use secrecy::SecretString;

use super::*;
use crate::credentials::tests::fast_hasher;
use crate::fakes::MemoryStore;
use crate::field::FieldValue;
use crate::ids::{CategoryId, FieldCode, StageId};
use crate::session::{Session, SessionId};
use crate::sync::OutboxItem;

fn config() -> LkConfig {
    let mut config = LkConfig::default();
    config.trigger.item_ids = vec!["3157".to_owned()];
    config
}

fn provisioner_over(store: Arc<MemoryStore>, config: LkConfig) -> Provisioner {
    let generator = CredentialGenerator::new(&config.accounts);
    Provisioner::with_parts(store, Arc::new(config), generator, fast_hasher())
}

fn setup() -> (Arc<MemoryStore>, Provisioner) {
    let store = Arc::new(MemoryStore::new());
    let provisioner = provisioner_over(Arc::clone(&store), config());
    (store, provisioner)
}

fn deal_with_trigger(id: u64, value: FieldValue) -> Deal {
    let mut deal = Deal {
        id: DealId(id),
        title: format!("Сделка {id}"),
        category_id: CategoryId(0),
        stage_id: StageId::from("NEW"),
        contact_id: None,
        modified_at: None,
        fields: Default::default(),
    };
    deal.fields.insert(config().fields.trigger, value);
    deal
}

fn triggered_deal(id: u64) -> Deal {
    deal_with_trigger(id, FieldValue::Text("Создать".into()))
}

fn credential_writes(items: &[OutboxItem]) -> Vec<(DealId, Login, String)> {
    items
        .iter()
        .filter_map(|item| match &item.write {
            WriteBack::Credentials {
                deal_id,
                login,
                password,
            } => Some((*deal_id, login.clone(), password.expose().to_owned())),
            _ => None,
        })
        .collect()
}

fn enumeration(id: &str, label: &str) -> FieldValue {
    FieldValue::Enum {
        id: id.to_owned(),
        label: Some(label.to_owned()),
    }
}

#[rstest]
#[case::list_id(enumeration("3157", "Открыть кабинет"), true)]
#[case::list_label(enumeration("12", "Создать"), true)]
#[case::list_other(enumeration("13", "Не создавать"), false)]
#[case::text(FieldValue::Text("создать".into()), true)]
#[case::text_other(FieldValue::Text("Позже".into()), false)]
#[case::yes(FieldValue::Bool(true), true)]
#[case::no(FieldValue::Bool(false), false)]
#[case::empty(FieldValue::Empty, false)]
#[case::number(FieldValue::Number(Decimal::from(7)), false)]
#[tokio::test]
async fn provision_follows_trigger(#[case] value: FieldValue, #[case] created: bool) {
    let (store, provisioner) = setup();

    let outcome = provisioner
        .provision(&deal_with_trigger(1, value))
        .await
        .unwrap();

    assert_eq!(
        matches!(outcome, ProvisionOutcome::Created { .. }),
        created,
        "{outcome:?}"
    );
    assert_eq!(outcome == ProvisionOutcome::NotTriggered, !created);
    assert_eq!(store.account_count(), usize::from(created));
    assert_eq!(store.outbox_items().len(), usize::from(created));
}

#[tokio::test]
async fn created_account_queues_matching_credentials() {
    let (store, provisioner) = setup();

    let outcome = provisioner.provision(&triggered_deal(7)).await.unwrap();

    let account = store.account_by_deal(DealId(7)).await.unwrap().unwrap();
    assert_eq!(
        outcome,
        ProvisionOutcome::Created {
            login: account.login.clone()
        }
    );
    assert!(account.login.as_str().starts_with("lk"));
    assert!(!account.referral_code.as_str().is_empty());
    assert_eq!(account.created_at, account.password_changed_at);
    assert_eq!(account.last_login_at, None);

    let writes = credential_writes(&store.outbox_items());
    assert_eq!(writes.len(), 1);
    let (deal, login, password) = &writes[0];
    assert_eq!((*deal, login), (DealId(7), &account.login));
    assert_eq!(password.chars().count(), 10);
    assert!(
        fast_hasher()
            .verify(&account.password_hash, password)
            .await
            .unwrap()
    );
    assert!(!account.password_hash.0.contains(password.as_str()));
}

#[tokio::test]
async fn referral_code_write_only_when_field_configured() {
    let store = Arc::new(MemoryStore::new());
    let mut with_field = config();
    with_field.fields.referral_code = Some(FieldCode::from("UF_CRM_REFERRAL"));
    let provisioner = provisioner_over(Arc::clone(&store), with_field);

    provisioner.provision(&triggered_deal(1)).await.unwrap();

    let account = store.account_by_deal(DealId(1)).await.unwrap().unwrap();
    let kinds: Vec<&str> = store
        .outbox_items()
        .iter()
        .map(|item| item.write.kind_name())
        .collect();
    assert_eq!(kinds, ["credentials", "referral_code"]);
    let referral = store
        .outbox_items()
        .into_iter()
        .find_map(|item| match item.write {
            WriteBack::ReferralCode { deal_id, code } => Some((deal_id, code)),
            _ => None,
        });
    assert_eq!(referral, Some((DealId(1), account.referral_code)));
}

#[tokio::test]
async fn repeated_provisioning_changes_nothing() {
    let (store, provisioner) = setup();
    let deal = triggered_deal(3);

    let first = provisioner.provision(&deal).await.unwrap();
    let before = store.account_by_deal(DealId(3)).await.unwrap().unwrap();
    let second = provisioner.provision(&deal).await.unwrap();
    let third = provisioner.provision(&deal).await.unwrap();
    let after = store.account_by_deal(DealId(3)).await.unwrap().unwrap();

    let ProvisionOutcome::Created { login } = first else {
        panic!("first call did not create: {first:?}");
    };
    assert_eq!(
        second,
        ProvisionOutcome::AlreadyExists {
            login: login.clone()
        }
    );
    assert_eq!(third, ProvisionOutcome::AlreadyExists { login });
    assert_eq!(after, before);
    assert_eq!(store.outbox_items().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_provisioning_creates_one_account() {
    let store = Arc::new(MemoryStore::new());
    // Four independent provisioners share only the store, as several
    // processes would; the five clones of each share their deal locks.
    let provisioners: Vec<Provisioner> = (0..4)
        .map(|_| provisioner_over(Arc::clone(&store), config()))
        .collect();
    let deal = triggered_deal(42);

    let mut tasks = Vec::new();
    for call in 0..20 {
        let provisioner = provisioners[call % 4].clone();
        let deal = deal.clone();
        tasks.push(tokio::spawn(
            async move { provisioner.provision(&deal).await },
        ));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap().unwrap());
    }

    let created: Vec<&ProvisionOutcome> = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, ProvisionOutcome::Created { .. }))
        .collect();
    assert_eq!(created.len(), 1, "{outcomes:?}");
    let logins: HashSet<Login> = outcomes
        .iter()
        .map(|outcome| match outcome {
            ProvisionOutcome::Created { login } | ProvisionOutcome::AlreadyExists { login } => {
                login.clone()
            }
            ProvisionOutcome::NotTriggered => panic!("trigger not seen"),
        })
        .collect();
    assert_eq!(logins.len(), 1);
    assert_eq!(store.account_count(), 1);
    assert_eq!(credential_writes(&store.outbox_items()).len(), 1);
}

#[tokio::test]
async fn taken_credentials_are_regenerated() {
    let (store, provisioner) = setup();
    store.conflict_next_creates(2);

    let outcome = provisioner.provision(&triggered_deal(5)).await.unwrap();

    assert!(
        matches!(outcome, ProvisionOutcome::Created { .. }),
        "{outcome:?}"
    );
    assert_eq!(store.account_count(), 1);
    assert_eq!(store.outbox_items().len(), 1);
}

#[tokio::test]
async fn endless_conflicts_give_up() {
    let (store, provisioner) = setup();
    store.conflict_next_creates(MAX_CREATE_ATTEMPTS);

    let result = provisioner.provision(&triggered_deal(5)).await;

    assert!(matches!(result, Err(Error::Conflict { .. })), "{result:?}");
    assert_eq!(store.account_count(), 0);
    assert!(store.outbox_items().is_empty());
}

#[tokio::test]
async fn store_failure_is_returned() {
    let (store, provisioner) = setup();
    store.fail_next(1);

    let result = provisioner.provision(&triggered_deal(5)).await;

    assert!(matches!(result, Err(Error::Storage { .. })), "{result:?}");
    assert!(result.unwrap_err().is_transient());
    assert_eq!(store.account_count(), 0);
}

#[tokio::test]
async fn deal_locks_are_released() {
    let (_store, provisioner) = setup();

    provisioner.provision(&triggered_deal(1)).await.unwrap();
    provisioner.provision(&triggered_deal(1)).await.unwrap();
    provisioner.reset_password(DealId(1)).await.unwrap();

    let locks = provisioner.deal_locks.locks.lock().unwrap();
    assert!(locks.is_empty());
}

fn session_of(deal: u64, id: &str) -> Session {
    let now = Timestamp::now();
    Session {
        id: SessionId::new(id.to_owned()),
        deal_id: DealId(deal),
        csrf_token: SecretString::from("csrf"),
        created_at: now,
        expires_at: now + SignedDuration::from_hours(1),
    }
}

#[tokio::test]
async fn reset_password_queues_new_credentials() {
    let (store, provisioner) = setup();
    provisioner.provision(&triggered_deal(9)).await.unwrap();
    let before = store.account_by_deal(DealId(9)).await.unwrap().unwrap();
    store.create_session(&session_of(9, "s-9")).await.unwrap();
    store.create_session(&session_of(10, "s-10")).await.unwrap();

    let login = provisioner.reset_password(DealId(9)).await.unwrap();

    let after = store.account_by_deal(DealId(9)).await.unwrap().unwrap();
    assert_eq!(login, before.login);
    assert_ne!(after.password_hash, before.password_hash);
    assert_eq!(after.referral_code, before.referral_code);
    let writes = credential_writes(&store.outbox_items());
    assert_eq!(writes.len(), 2);
    let (deal, written_login, password) = &writes[1];
    assert_eq!((*deal, written_login), (DealId(9), &login));
    assert!(
        fast_hasher()
            .verify(&after.password_hash, password)
            .await
            .unwrap()
    );
    assert_ne!(password, &writes[0].2);
    let now = Timestamp::now();
    assert!(
        store
            .session(&SessionId::new("s-9".into()), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .session(&SessionId::new("s-10".into()), now)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn reset_password_without_account_is_not_found() {
    let (store, provisioner) = setup();

    let result = provisioner.reset_password(DealId(404)).await;

    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    assert!(store.outbox_items().is_empty());
}

/// Creates an account whose current password is `Start123x` and returns its login.
async fn account_with_known_password(store: &MemoryStore, provisioner: &Provisioner) -> Login {
    provisioner.provision(&triggered_deal(11)).await.unwrap();
    let hash = fast_hasher()
        .hash(&Password::new("Start123x".into()))
        .await
        .unwrap();
    store
        .set_password(DealId(11), &hash, Timestamp::now(), &[])
        .await
        .unwrap();
    store
        .account_by_deal(DealId(11))
        .await
        .unwrap()
        .unwrap()
        .login
}

#[rstest]
#[case::wrong_current("wrong-one", "NewSecret99", PasswordChange::WrongCurrentPassword)]
#[case::too_short(
    "Start123x",
    "Ab3xyz",
    PasswordChange::Rejected(PasswordRule::TooShort)
)]
#[case::too_long("Start123x", &"x".repeat(129), PasswordChange::Rejected(PasswordRule::TooLong))]
#[case::same_as_current(
    "Start123x",
    "Start123x",
    PasswordChange::Rejected(PasswordRule::SameAsCurrent)
)]
#[case::accepted("Start123x", "NewSecret99", PasswordChange::Changed)]
#[case::accepted_cyrillic("Start123x", "пароль-клиента", PasswordChange::Changed)]
#[tokio::test]
async fn change_password_rules(
    #[case] current: &str,
    #[case] new: &str,
    #[case] expected: PasswordChange,
) {
    let (store, provisioner) = setup();
    account_with_known_password(&store, &provisioner).await;
    let writes_before = store.outbox_items().len();

    let outcome = provisioner
        .change_password(DealId(11), current, new)
        .await
        .unwrap();

    assert_eq!(outcome, expected);
    let account = store.account_by_deal(DealId(11)).await.unwrap().unwrap();
    let new_works = fast_hasher()
        .verify(&account.password_hash, new)
        .await
        .unwrap();
    assert_eq!(
        new_works,
        expected == PasswordChange::Changed || new == "Start123x"
    );
    let new_writes: Vec<_> = store
        .outbox_items()
        .into_iter()
        .skip(writes_before)
        .collect();
    let expected_writes = usize::from(expected == PasswordChange::Changed);
    assert_eq!(
        new_writes.len(),
        expected_writes,
        "one note per accepted change"
    );
    for item in new_writes {
        let WriteBack::Credentials { password, .. } = item.write else {
            panic!("unexpected write {:?}", item.write);
        };
        assert!(
            password.expose().starts_with("изменён клиентом "),
            "the client's password reached the deal"
        );
        assert_ne!(password.expose(), new);
    }
}

#[tokio::test]
async fn change_password_rejects_login_as_password() {
    let (store, provisioner) = setup();
    let login = account_with_known_password(&store, &provisioner).await;

    let outcome = provisioner
        .change_password(DealId(11), "Start123x", &login.as_str().to_uppercase())
        .await
        .unwrap();

    assert_eq!(outcome, PasswordChange::Rejected(PasswordRule::SameAsLogin));
}

#[tokio::test]
async fn change_password_ends_sessions() {
    let (store, provisioner) = setup();
    account_with_known_password(&store, &provisioner).await;
    store.create_session(&session_of(11, "s-11")).await.unwrap();

    provisioner
        .change_password(DealId(11), "Start123x", "NewSecret99")
        .await
        .unwrap();

    let session = store
        .session(&SessionId::new("s-11".into()), Timestamp::now())
        .await
        .unwrap();
    assert!(session.is_none());
}

#[tokio::test]
async fn authenticate_checks_login_and_password() {
    let (store, provisioner) = setup();
    let login = account_with_known_password(&store, &provisioner).await;

    let right = provisioner.authenticate(&login, "Start123x").await.unwrap();
    let wrong = provisioner.authenticate(&login, "Start123X").await.unwrap();
    let unknown = provisioner
        .authenticate(&Login::new("nobody"), "Start123x")
        .await
        .unwrap();

    assert_eq!(right.map(|account| account.deal_id), Some(DealId(11)));
    assert!(wrong.is_none());
    assert!(unknown.is_none());
}

#[rstest]
#[case(PasswordRule::TooShort, "Пароль должен быть не короче 8 символов.")]
#[case(PasswordRule::TooLong, "Пароль должен быть не длиннее 128 символов.")]
#[case(PasswordRule::SameAsLogin, "Пароль не должен совпадать с логином.")]
#[case(
    PasswordRule::SameAsCurrent,
    "Новый пароль должен отличаться от текущего."
)]
fn password_rule_messages(#[case] rule: PasswordRule, #[case] text: &str) {
    assert_eq!(rule.to_string(), text);
}

#[test]
fn default_provisioner_survives_bad_hash_params() {
    let mut config = LkConfig::default();
    config.accounts.hash_memory_kib = 0;

    let provisioner = Provisioner::new(Arc::new(MemoryStore::new()), Arc::new(config));

    assert!(format!("{provisioner:?}").contains("Provisioner"));
}
