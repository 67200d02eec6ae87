//! A cabinet over the in-memory store and the fake Bitrix24, seeded with a
//! realistic case and served on 127.0.0.1.
//!
//! The same pipeline, deals and invoices go into the store and into the fake
//! portal, because the sync engine starts with a full resync from the portal
//! and would otherwise replace or drop what the test seeded in the store.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use bitrix_lk_core::fakes::{FakeCrm, MemoryStore};
use bitrix_lk_core::{
    CategoryId, Currency, Deal, DealId, FieldCode, FieldValue, FileId, FileRef, Invoice, InvoiceId,
    InvoiceStatus, LkConfig, Money, Pipeline, Stage, StageId, StageSemantics, Store, WriteBack,
};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The category id of «Исполнение Юр. отдел» on the seeded portal.
pub const CASE_CATEGORY: CategoryId = CategoryId(7);

/// The deal of the client in mid-case.
pub const CASE_DEAL: DealId = DealId(101);
/// The deal of the client in the debtor stage.
pub const DEBTOR_DEAL: DealId = DealId(102);

/// «Сообщение клиенту от компании».
pub const MESSAGE_FIELD: &str = "UF_CRM_1708511318200";
/// «Ссылка на дело в Кад. Арбитр».
pub const COURT_FIELD: &str = "UF_CRM_1708511472339";
/// «Статус для ЛК клиента».
pub const CLIENT_STATUS_FIELD: &str = "UF_CRM_1709533755311";
/// «Сумма договора».
pub const CONTRACT_FIELD: &str = "UF_CRM_1725026451112";
/// «Создать ЛК клиенту».
const TRIGGER_FIELD: &str = "UF_CRM_1708511654449";

/// «Паспорт (все страницы)», received with two files.
pub const PASSPORT_FIELD: &str = "UF_CRM_1708509490009";
/// «Скан ИНН», received.
pub const INN_FIELD: &str = "UF_CRM_1708509740365";
/// «СНИЛС», received.
pub const SNILS_FIELD: &str = "UF_CRM_1708510606993";
/// «Свидетельство о заключении брака», received.
pub const MARRIAGE_FIELD: &str = "UF_CRM_1708510636060";
/// «2-НДФЛ за последние 3 года», missing until the test uploads it.
pub const INCOME_FIELD: &str = "UF_CRM_1708510936813";

/// The documents of the mid-case deal that already have files.
pub const RECEIVED_FIELDS: [&str; 4] = [PASSPORT_FIELD, INN_FIELD, SNILS_FIELD, MARRIAGE_FIELD];

/// The company message on the mid-case deal.
pub const COMPANY_MESSAGE: &str = "Судебное заседание назначено на 12 марта в 10:00. \
    Ваше присутствие не обязательно: юрист представит ваши интересы.";
/// The court case link on the mid-case deal.
pub const COURT_LINK: &str = "https://kad.arbitr.ru/Card/5d1c7a36-2f0e-4b8a-9e2b-0c4a1f6d3e21";
/// «Статус для ЛК клиента» on the mid-case deal.
pub const CLIENT_STATUS: &str =
    "Ожидаем определение суда о введении процедуры реализации имущества";
/// The stage of the mid-case deal.
pub const CASE_STAGE_NAME: &str = "Рассмотрение заявления судом";

/// Login and password of one provisioned client.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub login: String,
    pub password: String,
}

/// A cabinet serving on a loopback port, stopped when dropped.
#[derive(Debug)]
pub struct RunningCabinet {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    pub store: Arc<MemoryStore>,
    pub case_client: Credentials,
    pub debtor_client: Credentials,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningCabinet {
    /// Returns the absolute URL of a path of the cabinet.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for RunningCabinet {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Seeds the store and the fake portal, provisions both clients and serves
/// the cabinet on 127.0.0.1 with a port the system picks.
pub async fn start() -> anyhow::Result<RunningCabinet> {
    let config = Arc::new(config());
    let store = Arc::new(MemoryStore::new());
    let crm = Arc::new(FakeCrm::new());
    let cabinet = lk_web::server::assemble_with(config, store.clone(), crm.clone());

    store.save_pipelines(&[pipeline()]).await?;
    crm.set_pipelines(vec![pipeline()]);
    for invoice in invoices() {
        store.save_invoice(&invoice).await?;
        crm.put_invoice(invoice);
    }
    let mut credentials = Vec::new();
    for deal in [case_deal(), debtor_deal()] {
        store.save_deal(&deal).await?;
        crm.put_deal(deal.clone());
        cabinet.state.provisioner().provision(&deal).await?;
        credentials.push(credentials_of(&store, deal.id).await?);
    }
    let [case_client, debtor_client] = <[Credentials; 2]>::try_from(credentials)
        .map_err(|_| anyhow::anyhow!("expected credentials of exactly two clients"))?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    tokio::spawn(lk_web::server::serve(cabinet, listener, shutdown));

    Ok(RunningCabinet {
        base_url,
        store,
        case_client,
        debtor_client,
        stop: Some(stop),
    })
}

fn config() -> LkConfig {
    let mut config = LkConfig::default();
    config.bitrix24.application_tokens = vec![SecretString::from("browser-test-token")];
    config.pipeline.category_id = Some(CASE_CATEGORY);
    config.accounts.hash_memory_kib = 1024;
    config.accounts.hash_iterations = 1;
    config.branding.company_name = "Юридическая компания «Право и долг»".to_owned();
    config.branding.phone = "+7 (495) 123-45-67".to_owned();
    config.branding.email = "client@pravo-dolg.example".to_owned();

    let descriptions = [
        (
            "Сбор документов",
            "Вы собираете и передаёте нам документы из списка. Юрист проверит каждый и подскажет, чего не хватает.",
        ),
        (
            "Подготовка заявления",
            "Юрист готовит заявление о признании вас банкротом и опись имущества.",
        ),
        (
            CASE_STAGE_NAME,
            "Заявление подано в арбитражный суд. Суд назначит заседание и решит, вводить ли процедуру.",
        ),
        (
            "Реализация имущества",
            "Финансовый управляющий ведёт процедуру: проверяет имущество и сделки, рассчитывается с кредиторами.",
        ),
        (
            "Освобождение от долгов",
            "Суд завершил процедуру и освободил вас от долгов.",
        ),
    ];
    for (stage, text) in descriptions {
        config
            .statuses
            .descriptions
            .insert(stage.to_owned(), text.to_owned());
    }
    config
}

/// Returns «Исполнение Юр. отдел»: five steps of the case, the debtor stage and a failure stage.
fn pipeline() -> Pipeline {
    let stage = |id: &str, name: &str, sort, semantics| Stage {
        id: StageId::from(id),
        name: name.to_owned(),
        sort,
        semantics,
    };
    Pipeline {
        id: CASE_CATEGORY,
        name: "Исполнение Юр. отдел".to_owned(),
        stages: vec![
            stage("C7:NEW", "Сбор документов", 10, StageSemantics::Process),
            stage(
                "C7:PREPARATION",
                "Подготовка заявления",
                20,
                StageSemantics::Process,
            ),
            stage("C7:COURT", CASE_STAGE_NAME, 30, StageSemantics::Process),
            stage(
                "C7:REALIZATION",
                "Реализация имущества",
                40,
                StageSemantics::Process,
            ),
            stage("C7:DEBTOR", "Должник", 50, StageSemantics::Process),
            stage(
                "C7:WON",
                "Освобождение от долгов",
                60,
                StageSemantics::Success,
            ),
            stage("C7:LOSE", "Договор расторгнут", 70, StageSemantics::Failure),
        ],
    }
}

/// Returns the mid-case deal: in court, with a message, a court link, a status text,
/// a contract sum and four of the sixteen documents.
fn case_deal() -> Deal {
    let mut fields = account_trigger();
    fields.insert(
        FieldCode::from(MESSAGE_FIELD),
        FieldValue::Text(COMPANY_MESSAGE.to_owned()),
    );
    fields.insert(
        FieldCode::from(COURT_FIELD),
        FieldValue::Text(COURT_LINK.to_owned()),
    );
    fields.insert(
        FieldCode::from(CLIENT_STATUS_FIELD),
        FieldValue::Text(CLIENT_STATUS.to_owned()),
    );
    fields.insert(
        FieldCode::from(CONTRACT_FIELD),
        FieldValue::Money(rub("150000|RUB")),
    );
    let files = [
        (
            PASSPORT_FIELD,
            vec![
                (501, "passport-2-3.jpg"),
                (502, "passport-registration.jpg"),
            ],
        ),
        (INN_FIELD, vec![(503, "inn.pdf")]),
        (SNILS_FIELD, vec![(504, "snils.jpg")]),
        (MARRIAGE_FIELD, vec![(505, "svidetelstvo-o-brake.pdf")]),
    ];
    for (field, refs) in files {
        let refs = refs
            .into_iter()
            .map(|(id, name)| FileRef {
                id: FileId(id),
                name: Some(name.to_owned()),
            })
            .collect();
        fields.insert(FieldCode::from(field), FieldValue::Files(refs));
    }
    deal(CASE_DEAL, "Банкротство Иванова И. И.", "C7:COURT", fields)
}

/// Returns the debtor deal: behind on payments, with a contract sum.
fn debtor_deal() -> Deal {
    let mut fields = account_trigger();
    fields.insert(
        FieldCode::from(CONTRACT_FIELD),
        FieldValue::Money(rub("120000|RUB")),
    );
    deal(
        DEBTOR_DEAL,
        "Банкротство Петровой А. С.",
        "C7:DEBTOR",
        fields,
    )
}

fn deal(id: DealId, title: &str, stage: &str, fields: BTreeMap<FieldCode, FieldValue>) -> Deal {
    Deal {
        id,
        title: title.to_owned(),
        category_id: CASE_CATEGORY,
        stage_id: StageId::from(stage),
        contact_id: None,
        modified_at: None,
        fields,
    }
}

/// Returns «Создать ЛК клиенту» set to «Создать», as staff set it.
fn account_trigger() -> BTreeMap<FieldCode, FieldValue> {
    let trigger = FieldValue::Enum {
        id: "45".to_owned(),
        label: Some("Создать".to_owned()),
    };
    BTreeMap::from([(FieldCode::from(TRIGGER_FIELD), trigger)])
}

/// Returns two paid and one unpaid smart invoice of the mid-case deal and one paid of the debtor deal.
fn invoices() -> Vec<Invoice> {
    vec![
        paid_invoice(CASE_DEAL, 1, "2024-017", "50000", "2024-09-05T07:30:00Z"),
        paid_invoice(CASE_DEAL, 2, "2024-031", "30000", "2024-10-07T11:15:00Z"),
        unpaid_invoice(CASE_DEAL, 3, "2024-048", "35000"),
        paid_invoice(DEBTOR_DEAL, 4, "2024-052", "20000", "2024-11-02T08:00:00Z"),
    ]
}

fn paid_invoice(
    deal: DealId,
    number: u64,
    account_number: &str,
    amount: &str,
    paid_at: &str,
) -> Invoice {
    let status = InvoiceStatus::Smart {
        stage_id: "DT31_1:P".to_owned(),
        semantics: Some(StageSemantics::Success),
    };
    let mut invoice = invoice(deal, number, account_number, amount, status);
    invoice.paid_at = Some(
        paid_at
            .parse()
            .unwrap_or_else(|_| panic!("invalid test timestamp {paid_at}")),
    );
    invoice
}

fn unpaid_invoice(deal: DealId, number: u64, account_number: &str, amount: &str) -> Invoice {
    let status = InvoiceStatus::Smart {
        stage_id: "DT31_1:N".to_owned(),
        semantics: Some(StageSemantics::Process),
    };
    invoice(deal, number, account_number, amount, status)
}

fn invoice(
    deal: DealId,
    number: u64,
    account_number: &str,
    amount: &str,
    status: InvoiceStatus,
) -> Invoice {
    Invoice {
        id: InvoiceId::smart(number),
        deal_id: Some(deal),
        contact_id: None,
        title: "Оплата услуг по договору".to_owned(),
        account_number: Some(account_number.to_owned()),
        amount: rub(amount),
        status,
        paid_at: None,
        updated_at: None,
    }
}

fn rub(text: &str) -> Money {
    Money::parse(text, &Currency::rub())
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("invalid test amount {text:?}"))
}

/// Reads the login from the store and the password from the credentials
/// write-back queued for Bitrix24, because the account keeps only its hash.
async fn credentials_of(store: &MemoryStore, deal: DealId) -> anyhow::Result<Credentials> {
    let account = store
        .account_by_deal(deal)
        .await?
        .with_context(|| format!("deal {deal} has no account"))?;
    let password = store
        .outbox_items()
        .into_iter()
        .find_map(|item| match item.write {
            WriteBack::Credentials {
                deal_id, password, ..
            } if deal_id == deal => Some(password.expose().to_owned()),
            _ => None,
        })
        .with_context(|| format!("no credentials write-back queued for deal {deal}"))?;
    Ok(Credentials {
        login: account.login.to_string(),
        password,
    })
}
