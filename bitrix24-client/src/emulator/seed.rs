//! Seed data sets and the demo portal's field codes.
//!
//! [`Seed::Demo`] is the firm's portal in miniature: its user fields (the
//! codes below are the firm's defaults), the «Исполнение Юр. отдел» pipeline
//! with personal-bankruptcy stages, a sales pipeline, and clients in every
//! state the cabinet shows.

use bytes::Bytes;
use rust_decimal::Decimal;

use super::data::fields::UserFieldType;
use super::data::pipelines::{self, StageSemantics, StageSpec};
use super::data::values::Scalar;
use super::data::{NewDealRecord, NewSmartInvoiceRecord, PortalData};
use super::error::Result;

/// The data the portal starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Seed {
    /// A fresh portal: the general deal pipeline, the smart-invoice pipeline, no fields, no records.
    #[default]
    Empty,
    /// The firm's portal with demo clients (see the module documentation).
    Demo,
}

/// «Создать ЛК клиенту»: an enumeration with the item [`CREATE_ACCOUNT_VALUE`].
pub const FIELD_CREATE_ACCOUNT: &str = "UF_CRM_1708511654449";
/// The label of the trigger item.
pub const CREATE_ACCOUNT_VALUE: &str = "Создать";
/// «Логин ЛК клиента» (string).
pub const FIELD_LOGIN: &str = "UF_CRM_1708511589360";
/// «Пароль ЛК клиента» (string).
pub const FIELD_PASSWORD: &str = "UF_CRM_1708511607581";
/// «Статус для ЛК клиента» (string).
pub const FIELD_STATUS: &str = "UF_CRM_1709533755311";
/// «Сумма договора» (money).
pub const FIELD_CONTRACT_SUM: &str = "UF_CRM_1725026451112";
/// «Сообщение клиенту от компании» (string).
pub const FIELD_MESSAGE: &str = "UF_CRM_1708511318200";
/// «Ссылка на дело в Кад. Арбитр» (url).
pub const FIELD_COURT_LINK: &str = "UF_CRM_1708511472339";
/// «Дата последней авторизации (МСК)» (datetime).
pub const FIELD_LAST_LOGIN: &str = "UF_CRM_1715524078722";

/// The document file fields (multiple), in the order the cabinet lists them.
pub const DOCUMENT_FIELDS: [(&str, &str); 16] = [
    ("UF_CRM_1708509490009", "Паспорт (все страницы)"),
    ("UF_CRM_1708509740365", "Скан ИНН"),
    ("UF_CRM_1708510606993", "СНИЛС"),
    ("UF_CRM_1708510636060", "Свидетельство о заключении брака"),
    ("UF_CRM_1708510675413", "Паспорт супруга"),
    ("UF_CRM_1708510724402", "СНИЛС супруга"),
    ("UF_CRM_1708510771069", "Свидетельство о расторжении брака"),
    ("UF_CRM_1708510936813", "2-НДФЛ за последние 3 года"),
    ("UF_CRM_1708510989101", "Свидетельство о рождении детей"),
    ("UF_CRM_1708511092399", "Выписка из ЕГРН (недвижимость)"),
    ("UF_CRM_1708511164599", "ПТС"),
    ("UF_CRM_1708511175692", "СТС"),
    ("UF_CRM_1708511204032", "ПТС супруга"),
    ("UF_CRM_1708511215650", "СТС супруга"),
    ("UF_CRM_1708511237220", "ДКП (договор купли-продажи)"),
    ("UF_CRM_1708511248493", "ДКП супруга"),
];

/// The name of the case pipeline.
pub const EXECUTION_PIPELINE_NAME: &str = "Исполнение Юр. отдел";
/// The id of the case pipeline in the demo.
pub const EXECUTION_PIPELINE_ID: u64 = 7;
/// The name of the debtor stage.
pub const DEBTOR_STAGE_NAME: &str = "Должник";
/// The first stage of the case pipeline («Сбор документов»).
pub const STAGE_COLLECTING_DOCUMENTS: &str = "C7:NEW";
/// «Реструктуризация долгов».
pub const STAGE_RESTRUCTURING: &str = "C7:UC_J3X9QD";
/// «Реализация имущества».
pub const STAGE_ASSET_SALE: &str = "C7:UC_M8K2TV";
/// «Должник», added after the others but sorted between the case stages.
pub const STAGE_DEBTOR: &str = "C7:UC_Q4W7ZP";
/// «Завершение процедуры», the success stage.
pub const STAGE_COMPLETED: &str = "C7:WON";
/// «Отказ клиента», a failure stage.
pub const STAGE_CLIENT_REFUSED: &str = "C7:LOSE";
/// The sales pipeline's stage where the contract is being paid.
pub const SALES_STAGE_CONTRACT: &str = "PREPAYMENT_INVOICE";

pub(crate) fn apply(data: &mut PortalData, seed: Seed) -> Result<()> {
    match seed {
        Seed::Empty => Ok(()),
        Seed::Demo => demo(data),
    }
}

fn demo(data: &mut PortalData) -> Result<()> {
    demo_fields(data)?;
    demo_pipelines(data);
    demo_clients(data)
}

fn demo_fields(data: &mut PortalData) -> Result<()> {
    let trigger = [CREATE_ACCOUNT_VALUE.to_owned()];
    data.add_user_field(
        FIELD_CREATE_ACCOUNT,
        UserFieldType::Enumeration,
        false,
        "Создать ЛК клиенту",
        &trigger,
    )?;
    let plain = [
        (FIELD_LOGIN, UserFieldType::String, "Логин ЛК клиента"),
        (FIELD_PASSWORD, UserFieldType::String, "Пароль ЛК клиента"),
        (FIELD_STATUS, UserFieldType::String, "Статус для ЛК клиента"),
        (FIELD_CONTRACT_SUM, UserFieldType::Money, "Сумма договора"),
        (
            FIELD_MESSAGE,
            UserFieldType::String,
            "Сообщение клиенту от компании",
        ),
        (
            FIELD_COURT_LINK,
            UserFieldType::Url,
            "Ссылка на дело в Кад. Арбитр",
        ),
        (
            FIELD_LAST_LOGIN,
            UserFieldType::DateTime,
            "Дата последней авторизации (МСК)",
        ),
    ];
    for (code, kind, label) in plain {
        data.add_user_field(code, kind, false, label, &[])?;
    }
    for (code, label) in DOCUMENT_FIELDS {
        data.add_user_field(code, UserFieldType::File, true, label, &[])?;
    }
    Ok(())
}

fn demo_pipelines(data: &mut PortalData) {
    data.rename_category(pipelines::DEAL, 0, "Продажи");
    for (stage, name) in [
        ("NEW", "Новая заявка"),
        ("PREPARATION", "Консультация"),
        ("PREPAYMENT_INVOICE", "Договор и оплата"),
        ("EXECUTING", "Передано юристам"),
        ("FINAL_INVOICE", "Ожидает передачи"),
        ("WON", "Договор заключён"),
        ("LOSE", "Отказ"),
        ("APOLOGY", "Анализ причины отказа"),
    ] {
        data.rename_stage(stage, name);
    }

    data.set_next_category_id(EXECUTION_PIPELINE_ID);
    let stages = [
        StageSpec::process("NEW", "Сбор документов"),
        StageSpec::process("PREPARATION", "Подготовка заявления"),
        StageSpec::process("EXECUTING", "Подача в суд"),
        StageSpec::process("FINAL_INVOICE", "Проверка обоснованности"),
        StageSpec::process("UC_J3X9QD", "Реструктуризация долгов"),
        StageSpec::process("UC_M8K2TV", "Реализация имущества"),
        StageSpec::new("WON", "Завершение процедуры", StageSemantics::Success),
        StageSpec::new("LOSE", "Отказ клиента", StageSemantics::Failure),
        StageSpec::new("APOLOGY", "Расторжение договора", StageSemantics::Apology),
    ];
    let id = data.add_category(
        pipelines::DEAL,
        EXECUTION_PIPELINE_NAME,
        200,
        false,
        &stages,
    );
    // Staff added the debtor stage later: a higher row id, sorted before the final stages.
    let debtor = StageSpec::process("UC_Q4W7ZP", DEBTOR_STAGE_NAME).with_sort(65);
    let _ = data.add_stage(pipelines::DEAL, id, &debtor);
}

/// A demo client: contact, deal, documents and invoices.
struct Client {
    first_name: &'static str,
    last_name: &'static str,
    pipeline: u64,
    stage: &'static str,
    trigger: bool,
    contract: u32,
    message: Option<&'static str>,
    court_link: Option<&'static str>,
    status: Option<&'static str>,
    documents: &'static [usize],
    invoices: &'static [(u32, bool)],
}

const CLIENTS: &[Client] = &[
    Client {
        first_name: "Иван",
        last_name: "Иванов",
        pipeline: EXECUTION_PIPELINE_ID,
        stage: STAGE_COLLECTING_DOCUMENTS,
        trigger: true,
        contract: 150_000,
        message: None,
        court_link: None,
        status: None,
        documents: &[0],
        invoices: &[(30_000, true), (30_000, false)],
    },
    Client {
        first_name: "Анна",
        last_name: "Сидорова",
        pipeline: EXECUTION_PIPELINE_ID,
        stage: STAGE_RESTRUCTURING,
        trigger: true,
        contract: 180_000,
        message: Some(
            "Судебное заседание назначено на 15 число. Подготовьте, пожалуйста, справку 2-НДФЛ за текущий год.",
        ),
        court_link: Some("https://kad.arbitr.ru/Card/4c5e6f1a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"),
        status: Some("Ожидаем решение суда"),
        documents: &[0, 0, 1, 2, 3, 7],
        invoices: &[(60_000, true), (60_000, true), (60_000, false)],
    },
    Client {
        first_name: "Пётр",
        last_name: "Кузнецов",
        pipeline: EXECUTION_PIPELINE_ID,
        stage: STAGE_DEBTOR,
        trigger: true,
        contract: 120_000,
        message: Some("Просим погасить задолженность по договору."),
        court_link: None,
        status: None,
        documents: &[0, 2],
        invoices: &[(20_000, true), (20_000, false), (20_000, false)],
    },
    Client {
        first_name: "Ольга",
        last_name: "Смирнова",
        pipeline: EXECUTION_PIPELINE_ID,
        stage: STAGE_COMPLETED,
        trigger: true,
        contract: 100_000,
        message: Some("Процедура завершена, вы освобождены от долгов."),
        court_link: Some("https://kad.arbitr.ru/Card/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"),
        status: Some("Дело завершено"),
        documents: &[0, 1, 2, 7, 9],
        invoices: &[(50_000, true), (50_000, true)],
    },
    Client {
        first_name: "Алексей",
        last_name: "Петров",
        pipeline: 0,
        stage: SALES_STAGE_CONTRACT,
        trigger: true,
        contract: 90_000,
        message: None,
        court_link: None,
        status: None,
        documents: &[],
        invoices: &[],
    },
    Client {
        first_name: "Мария",
        last_name: "Волкова",
        pipeline: 0,
        stage: "NEW",
        trigger: false,
        contract: 0,
        message: None,
        court_link: None,
        status: None,
        documents: &[],
        invoices: &[],
    },
];

fn demo_clients(data: &mut PortalData) -> Result<()> {
    for (index, client) in CLIENTS.iter().enumerate() {
        let phone = format!("+7900000000{index}");
        let email = format!("client{index}@example.com");
        let contact = data.create_contact(client.first_name, client.last_name, &phone, &email);
        let uf = client_fields(data, client);
        let deal = data.create_deal(NewDealRecord {
            title: format!("Банкротство: {} {}", client.last_name, client.first_name),
            category: client.pipeline,
            stage: Some(client.stage.to_owned()),
            contact_id: Some(contact),
            opportunity: Decimal::from(client.contract),
            currency: "RUB".to_owned(),
            uf,
            user: 1,
        })?;
        for (number, (amount, paid)) in client.invoices.iter().enumerate() {
            add_invoice(data, deal, contact, number + 1, *amount, *paid)?;
        }
    }
    Ok(())
}

fn client_fields(data: &mut PortalData, client: &Client) -> Vec<(String, Vec<Scalar>)> {
    let mut fields = Vec::new();
    let text = |value: &str| vec![Scalar::Str(value.to_owned())];
    if client.trigger
        && let Some(item) = data
            .deal_field(FIELD_CREATE_ACCOUNT)
            .and_then(|f| f.items.first())
    {
        fields.push((
            FIELD_CREATE_ACCOUNT.to_owned(),
            vec![Scalar::Int(item.id as i64)],
        ));
    }
    if client.contract > 0 {
        fields.push((
            FIELD_CONTRACT_SUM.to_owned(),
            text(&format!("{}|RUB", client.contract)),
        ));
    }
    for (code, value) in [
        (FIELD_MESSAGE, client.message),
        (FIELD_COURT_LINK, client.court_link),
        (FIELD_STATUS, client.status),
    ] {
        if let Some(value) = value {
            fields.push((code.to_owned(), text(value)));
        }
    }

    let mut pages: Vec<(usize, Vec<Scalar>)> = Vec::new();
    for &document in client.documents {
        let label = DOCUMENT_FIELDS[document].1;
        let page = pages.iter().filter(|(d, _)| *d == document).count() + 1;
        let name = format!(
            "{}_{page}.pdf",
            label.split_whitespace().next().unwrap_or("scan")
        );
        let id = data.store_file(&name, demo_pdf(label));
        match pages.iter_mut().find(|(d, _)| *d == document) {
            Some((_, files)) => files.push(Scalar::File(id)),
            None => pages.push((document, vec![Scalar::File(id)])),
        }
    }
    for (document, files) in pages {
        fields.push((DOCUMENT_FIELDS[document].0.to_owned(), files));
    }
    fields
}

fn add_invoice(
    data: &mut PortalData,
    deal: u64,
    contact: u64,
    number: usize,
    amount: u32,
    paid: bool,
) -> Result<()> {
    let category = data.default_smart_category()?;
    let stage = paid.then(|| format!("{}P", pipelines::smart_invoice_stage_prefix(category)));
    data.create_smart_invoice(NewSmartInvoiceRecord {
        title: format!("Оплата по договору, платёж {number}"),
        deal_id: Some(deal),
        contact_id: Some(contact),
        amount: Decimal::from(amount),
        currency: "RUB".to_owned(),
        stage,
        user: 1,
    })?;
    Ok(())
}

/// A tiny, valid one-page PDF naming the document.
fn demo_pdf(label: &str) -> Bytes {
    let text: String = label.chars().filter(char::is_ascii_alphanumeric).collect();
    let content = format!("BT /F1 18 Tf 72 720 Td (Demo document {text}) Tj ET");
    let pdf = format!(
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n4 0 obj<</Length {}>>stream\n{content}\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
        content.len()
    );
    Bytes::from(pdf)
}
