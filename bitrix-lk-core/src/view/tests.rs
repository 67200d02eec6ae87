use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;
use rstest::rstest;
use rust_decimal::Decimal;

use super::*;
use crate::account::PasswordHash;
use crate::config::InvoiceLinkage;
use crate::field::FileRef;
use crate::ids::{CategoryId, ContactId, FieldCode, FileId, InvoiceId, StageId};
use crate::invoice::InvoiceStatus;
use crate::money::{Currency, Money};
use crate::pipeline::{IconState, Stage, StageSemantics};

const CASE_PIPELINE: u64 = 7;

fn stage(id: &str, name: &str, sort: i64, semantics: StageSemantics) -> Stage {
    Stage {
        id: StageId::from(id),
        name: name.to_owned(),
        sort,
        semantics,
    }
}

/// Returns the case pipeline, listed out of sort order on purpose. Steps: Новое
/// дело, Сбор документов, Подача в суд, Процедура, Завершено.
fn case_pipeline() -> Pipeline {
    use StageSemantics::{Failure, Process, Success};
    Pipeline {
        id: CategoryId(CASE_PIPELINE),
        name: "Исполнение Юр. отдел".to_owned(),
        stages: vec![
            stage("C7:COURT", "Подача в суд", 30, Process),
            stage("C7:NEW", "Новое дело", 10, Process),
            stage("C7:DOCS", "Сбор документов", 20, Process),
            stage("C7:DEBT", "Должник", 25, Process),
            stage("C7:PROCEDURE", "Процедура", 40, Process),
            stage("C7:WON", "Завершено", 50, Success),
            stage("C7:LOSE", "Отказ клиента", 60, Failure),
            stage("C7:TERM", "Расторжение", 70, Failure),
        ],
    }
}

fn deal_in(category: u64, stage_id: &str) -> Deal {
    Deal {
        id: DealId(410),
        title: "Иванов И. И. — банкротство".to_owned(),
        category_id: CategoryId(category),
        stage_id: StageId::from(stage_id),
        contact_id: Some(ContactId(77)),
        modified_at: None,
        fields: BTreeMap::new(),
    }
}

fn with_field(mut deal: Deal, code: &FieldCode, value: FieldValue) -> Deal {
    deal.fields.insert(code.clone(), value);
    deal
}

fn account() -> Account {
    Account {
        deal_id: DealId(410),
        login: Login::new("lkab3def"),
        password_hash: PasswordHash("$argon2id$stub".to_owned()),
        referral_code: ReferralCode("REF7K2M9QX".to_owned()),
        created_at: Timestamp::UNIX_EPOCH,
        password_changed_at: Timestamp::UNIX_EPOCH,
        last_login_at: None,
    }
}

fn build(deal: &Deal, invoices: &[Invoice], config: &LkConfig) -> CabinetView {
    let pipeline = case_pipeline();
    CabinetView::build(deal, Some(&pipeline), invoices, &account(), config)
}

fn states(view: &CabinetView) -> String {
    view.steps
        .iter()
        .map(|step| match step.state {
            IconState::Done => 'D',
            IconState::Current => 'C',
            IconState::Pending => 'P',
        })
        .collect()
}

fn rub(amount: &str) -> Money {
    Money::rub(Decimal::from_str(amount).unwrap())
}

fn money(amount: &str, currency: &str) -> Money {
    Money::new(
        Decimal::from_str(amount).unwrap(),
        Currency(currency.to_owned()),
    )
}

fn smart_invoice(number: u64, amount: Money, semantics: Option<StageSemantics>) -> Invoice {
    Invoice {
        id: InvoiceId::smart(number),
        deal_id: Some(DealId(410)),
        contact_id: None,
        title: format!("Оплата по договору, часть {number}"),
        account_number: None,
        amount,
        status: InvoiceStatus::Smart {
            stage_id: "DT31_2:X".to_owned(),
            semantics,
        },
        paid_at: None,
        updated_at: None,
    }
}

fn legacy_invoice(number: u64, amount: Money, status_id: &str, payed: Option<bool>) -> Invoice {
    Invoice {
        id: InvoiceId::legacy(number),
        deal_id: Some(DealId(410)),
        contact_id: None,
        title: String::new(),
        account_number: Some(format!("L-{number}")),
        amount,
        status: InvoiceStatus::Legacy {
            status_id: status_id.to_owned(),
            payed,
        },
        paid_at: None,
        updated_at: None,
    }
}

fn paid_at(mut invoice: Invoice, at: &str) -> Invoice {
    invoice.paid_at = Some(at.parse().unwrap());
    invoice
}

// --- stages and progress ---

#[rstest]
#[case::before_the_pipeline(3, "C3:NEW", "PPPPP", 0, None)]
#[case::first_stage(7, "C7:NEW", "CPPPP", 0, Some("Новое дело"))]
#[case::second_stage(7, "C7:DOCS", "DCPPP", 20, Some("Сбор документов"))]
#[case::middle_stage(7, "C7:COURT", "DDCPP", 40, Some("Подача в суд"))]
#[case::last_process_stage(7, "C7:PROCEDURE", "DDDCP", 60, Some("Процедура"))]
#[case::success_stage(7, "C7:WON", "DDDDD", 100, Some("Завершено"))]
#[case::failure_stage(7, "C7:LOSE", "PPPPP", 0, Some("Отказ клиента"))]
#[case::second_failure_stage(7, "C7:TERM", "PPPPP", 0, Some("Расторжение"))]
#[case::debtor_stage(7, "C7:DEBT", "DDPPP", 40, Some("Должник"))]
#[case::stage_unknown_to_the_pipeline(7, "C7:ADDED_LATER", "PPPPP", 0, None)]
#[case::category_wins_over_stage_prefix(3, "C7:COURT", "PPPPP", 0, None)]
fn stage_icons_and_progress(
    #[case] category: u64,
    #[case] stage_id: &str,
    #[case] expected_states: &str,
    #[case] expected_progress: u8,
    #[case] expected_stage: Option<&str>,
) {
    let view = build(&deal_in(category, stage_id), &[], &LkConfig::default());

    assert_eq!(states(&view), expected_states);
    assert_eq!(view.progress, expected_progress);
    assert_eq!(view.stage_name.as_deref(), expected_stage);
    assert_eq!(view.stage_text(), expected_stage.unwrap_or("Нет статуса"));
}

#[test]
fn steps_skip_failure_and_debtor_stages() {
    let view = build(&deal_in(7, "C7:NEW"), &[], &LkConfig::default());

    let names: Vec<&str> = view.steps.iter().map(|step| step.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Новое дело",
            "Сбор документов",
            "Подача в суд",
            "Процедура",
            "Завершено"
        ]
    );
}

#[test]
fn missing_pipeline_shows_no_status_and_no_steps() {
    let deal = deal_in(7, "C7:COURT");

    let view = CabinetView::build(&deal, None, &[], &account(), &LkConfig::default());

    assert!(view.steps.is_empty());
    assert_eq!(view.progress, 0);
    assert_eq!(view.stage_text(), NO_STATUS_TEXT);
}

#[test]
fn pipeline_of_another_name_is_ignored() {
    let mut sales = case_pipeline();
    sales.name = "Продажи".to_owned();
    let deal = deal_in(7, "C7:COURT");

    let view = CabinetView::build(&deal, Some(&sales), &[], &account(), &LkConfig::default());

    assert_eq!(view.stage_name, None);
    assert!(view.steps.is_empty());
}

#[test]
fn configured_category_id_wins_over_name() {
    let mut config = LkConfig::default();
    config.pipeline.category_id = Some(CategoryId(CASE_PIPELINE));
    config.pipeline.name = "Старое название".to_owned();

    let view = build(&deal_in(7, "C7:COURT"), &[], &config);

    assert_eq!(view.stage_text(), "Подача в суд");
    assert_eq!(view.progress, 40);
}

#[test]
fn single_stage_pipeline_in_success_is_complete() {
    let pipeline = Pipeline {
        id: CategoryId(CASE_PIPELINE),
        name: "Исполнение Юр. отдел".to_owned(),
        stages: vec![stage("C7:WON", "Готово", 10, StageSemantics::Success)],
    };
    let deal = deal_in(7, "C7:WON");

    let view = CabinetView::build(
        &deal,
        Some(&pipeline),
        &[],
        &account(),
        &LkConfig::default(),
    );

    assert_eq!(states(&view), "D");
    assert_eq!(view.progress, 100);
}

#[test]
fn statuses_carry_descriptions_and_video() {
    let mut config = LkConfig::default();
    config.statuses.default_description = "Идёт работа.".to_owned();
    config.statuses.descriptions = BTreeMap::from([
        ("C7:COURT".to_owned(), "Заявление подано в суд.".to_owned()),
        (
            "сбор документов".to_owned(),
            "Пришлите документы.".to_owned(),
        ),
    ]);
    config.statuses.video_url = HttpUrl::parse("https://video.example.ru/v/1");

    let view = build(&deal_in(7, "C7:DOCS"), &[], &config);

    let texts: Vec<&str> = view
        .steps
        .iter()
        .map(|step| step.description.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "Идёт работа.",
            "Пришлите документы.",
            "Заявление подано в суд.",
            "Идёт работа.",
            "Идёт работа."
        ]
    );
    assert_eq!(
        view.video_url.as_ref().map(HttpUrl::as_str),
        Some("https://video.example.ru/v/1")
    );
}

#[test]
fn statuses_video_hidden_by_default() {
    let view = build(&deal_in(7, "C7:DOCS"), &[], &LkConfig::default());

    assert_eq!(view.video_url, None);
}

// --- debtor blocking ---

#[rstest]
#[case::debtor_stage(7, "C7:DEBT", true)]
#[case::ordinary_stage(7, "C7:COURT", false)]
#[case::success_stage(7, "C7:WON", false)]
#[case::before_the_pipeline(3, "C3:NEW", false)]
#[case::debtor_id_of_another_pipeline(9, "C9:DEBTOR", true)]
#[case::unknown_stage_of_another_pipeline(9, "C9:OTHER", false)]
fn debtor_blocking(#[case] category: u64, #[case] stage_id: &str, #[case] blocked: bool) {
    let mut config = LkConfig::default();
    config.pipeline.debtor_stages.push("C9:DEBTOR".to_owned());

    let view = build(&deal_in(category, stage_id), &[], &config);

    assert_eq!(view.is_blocked(), blocked);
}

#[test]
fn debtor_notice_says_what_is_owed() {
    let mut config = LkConfig::default();
    config.branding.phone = "+7 800 000-00-00".to_owned();
    let deal = with_field(
        deal_in(7, "C7:DEBT"),
        &config.fields.contract_sum,
        FieldValue::Money(rub("150000")),
    );
    let invoices = [smart_invoice(
        1,
        rub("40000"),
        Some(StageSemantics::Success),
    )];

    let view = build(&deal, &invoices, &config);

    let notice = view.blocked.unwrap();
    assert_eq!(notice.stage_name.as_deref(), Some("Должник"));
    assert_eq!(notice.reason, config.branding.debtor_text);
    assert_eq!(notice.payments.contract, Some(rub("150000")));
    assert_eq!(notice.payments.paid, rub("40000"));
    assert_eq!(notice.payments.remaining, Some(rub("110000")));
    assert_eq!(notice.contacts.phone(), Some("+7 800 000-00-00"));
}

#[test]
fn leaving_and_reentering_debtor_stage() {
    let config = LkConfig::default();
    let mut deal = deal_in(7, "C7:DEBT");

    let blocked = build(&deal, &[], &config);
    deal.stage_id = StageId::from("C7:COURT");
    let unblocked = build(&deal, &[], &config);
    deal.stage_id = StageId::from("C7:DEBT");
    let blocked_again = build(&deal, &[], &config);

    assert!(blocked.is_blocked());
    assert!(!unblocked.is_blocked());
    assert_eq!(unblocked, build(&deal_in(7, "C7:COURT"), &[], &config));
    assert_eq!(states(&unblocked), "DDCPP");
    assert!(blocked_again.is_blocked());
    assert_eq!(blocked_again, blocked);
}

// --- company message, client status, court link ---

#[rstest]
#[case::filled(FieldValue::Text("Подпишите заявление".into()), Some("Подпишите заявление"))]
#[case::trimmed(FieldValue::Text("  Приезжайте в офис \n".into()), Some("Приезжайте в офис"))]
#[case::blank(FieldValue::Text("   ".into()), None)]
#[case::empty(FieldValue::Empty, None)]
#[case::html_stays_text(
    FieldValue::Text("<b>Оплатите</b> & <script>alert(1)</script>".into()),
    Some("<b>Оплатите</b> & <script>alert(1)</script>")
)]
#[case::multi_line(FieldValue::Text("Строка 1\nСтрока 2".into()), Some("Строка 1\nСтрока 2"))]
fn company_message(#[case] value: FieldValue, #[case] expected: Option<&str>) {
    let config = LkConfig::default();
    let deal = with_field(deal_in(7, "C7:NEW"), &config.fields.message, value);

    let view = build(&deal, &[], &config);

    assert_eq!(view.company_message.as_deref(), expected);
}

#[rstest]
#[case::text(FieldValue::Text("Ждём решения суда".into()), Some("Ждём решения суда"))]
#[case::list_label(
    FieldValue::Enum { id: "41".into(), label: Some("Подготовка заявления".into()) },
    Some("Подготовка заявления")
)]
#[case::list_without_label(FieldValue::Enum { id: "41".into(), label: None }, None)]
#[case::multiple_labels(
    FieldValue::List(vec![
        FieldValue::Enum { id: "1".into(), label: Some("Суд".into()) },
        FieldValue::Enum { id: "2".into(), label: Some("Торги".into()) },
    ]),
    Some("Суд, Торги")
)]
#[case::empty(FieldValue::Empty, None)]
#[case::blank(FieldValue::Text(" ".into()), None)]
fn client_status(#[case] value: FieldValue, #[case] expected: Option<&str>) {
    let config = LkConfig::default();
    let deal = with_field(deal_in(7, "C7:NEW"), &config.fields.client_status, value);

    let view = build(&deal, &[], &config);

    assert_eq!(view.client_status.as_deref(), expected);
}

#[test]
fn client_status_shows_outside_the_pipeline_too() {
    let config = LkConfig::default();
    let deal = with_field(
        deal_in(3, "C3:NEW"),
        &config.fields.client_status,
        FieldValue::Text("Договор подписан".into()),
    );

    let view = build(&deal, &[], &config);

    assert_eq!(view.stage_text(), "Нет статуса");
    assert_eq!(view.client_status.as_deref(), Some("Договор подписан"));
}

#[rstest]
#[case::https(
    "https://kad.arbitr.ru/Card/5e1d",
    Some("https://kad.arbitr.ru/Card/5e1d")
)]
#[case::http(
    "http://kad.arbitr.ru/Card/5e1d",
    Some("http://kad.arbitr.ru/Card/5e1d")
)]
#[case::javascript("javascript:alert(document.cookie)", None)]
#[case::javascript_upper("JAVASCRIPT:alert(1)", None)]
#[case::javascript_leading_space(" javascript:alert(1)", None)]
#[case::data("data:text/html,<script>alert(1)</script>", None)]
#[case::ftp("ftp://kad.arbitr.ru/Card/5e1d", None)]
#[case::relative("/Card/5e1d", None)]
#[case::empty("", None)]
fn court_link(#[case] text: &str, #[case] expected: Option<&str>) {
    let config = LkConfig::default();
    let deal = with_field(
        deal_in(7, "C7:COURT"),
        &config.fields.court_link,
        FieldValue::Text(text.into()),
    );

    let view = build(&deal, &[], &config);

    assert_eq!(view.court_link.as_ref().map(HttpUrl::as_str), expected);
}

#[rstest]
#[case::before_the_pipeline(3, "C3:NEW", None)]
#[case::in_an_unknown_stage(7, "C7:ADDED_LATER", Some("https://kad.arbitr.ru/Card/1"))]
#[case::in_the_success_stage(7, "C7:WON", Some("https://kad.arbitr.ru/Card/1"))]
fn court_link_needs_the_case_pipeline(
    #[case] category: u64,
    #[case] stage_id: &str,
    #[case] expected: Option<&str>,
) {
    let config = LkConfig::default();
    let link = FieldValue::Text("https://kad.arbitr.ru/Card/1".into());
    let deal = with_field(deal_in(category, stage_id), &config.fields.court_link, link);

    let view = build(&deal, &[], &config);

    assert_eq!(view.court_link.as_ref().map(HttpUrl::as_str), expected);
}

#[test]
fn court_link_without_cached_pipeline_uses_configured_id() {
    let mut config = LkConfig::default();
    config.pipeline.category_id = Some(CategoryId(CASE_PIPELINE));
    let link = FieldValue::Text("https://kad.arbitr.ru/Card/1".into());
    let deal = with_field(deal_in(7, "C7:COURT"), &config.fields.court_link, link);

    let view = CabinetView::build(&deal, None, &[], &account(), &config);

    assert_eq!(
        view.court_link.as_ref().map(HttpUrl::as_str),
        Some("https://kad.arbitr.ru/Card/1")
    );
    assert_eq!(view.stage_text(), NO_STATUS_TEXT);
}

#[test]
fn court_link_from_multiple_field_takes_first() {
    let config = LkConfig::default();
    let value = FieldValue::List(vec![
        FieldValue::Text("https://kad.arbitr.ru/Card/1".into()),
        FieldValue::Text("https://kad.arbitr.ru/Card/2".into()),
    ]);
    let deal = with_field(deal_in(7, "C7:COURT"), &config.fields.court_link, value);

    let view = build(&deal, &[], &config);

    assert_eq!(
        view.court_link.as_ref().map(HttpUrl::as_str),
        Some("https://kad.arbitr.ru/Card/1")
    );
}

// --- money and payments ---

#[rstest]
#[case::money_field(FieldValue::Money(rub("150000")), Some(rub("150000")))]
#[case::money_field_usd(FieldValue::Money(money("3000", "USD")), Some(money("3000", "USD")))]
#[case::number(FieldValue::Number(Decimal::from(150000)), Some(rub("150000")))]
#[case::text_with_pipe(FieldValue::Text("150000|RUB".into()), Some(rub("150000")))]
#[case::text_russian(FieldValue::Text("150 000,50".into()), Some(rub("150000.50")))]
#[case::text_with_rubles(FieldValue::Text("150000 руб.".into()), Some(rub("150000")))]
#[case::text_with_sign(FieldValue::Text("1 500 000 ₽".into()), Some(rub("1500000")))]
#[case::zero(FieldValue::Text("0".into()), Some(rub("0")))]
#[case::empty(FieldValue::Empty, None)]
#[case::blank_text(FieldValue::Text("  ".into()), None)]
#[case::garbage(FieldValue::Text("сто пятьдесят тысяч".into()), None)]
#[case::negative(FieldValue::Text("-5000".into()), None)]
#[case::boolean(FieldValue::Bool(true), None)]
#[case::multiple(FieldValue::List(vec![FieldValue::Empty, FieldValue::Text("9000".into())]), Some(rub("9000")))]
fn contract_sum_forms(#[case] value: FieldValue, #[case] expected: Option<Money>) {
    assert_eq!(contract_sum(&value), expected);
}

#[rstest]
#[case::partly_paid(Some("150000"), &["50000", "30000"], "80000", Some("70000"), None)]
#[case::nothing_paid(Some("150000"), &[], "0", Some("150000"), None)]
#[case::fully_paid(Some("100000"), &["60000", "40000"], "100000", Some("0"), None)]
#[case::overpaid(Some("100000"), &["60000", "60000"], "120000", Some("0"), Some("20000"))]
#[case::contract_unknown(None, &["5000"], "5000", None, None)]
#[case::kopecks(Some("1000.10"), &["0.05", "999.99"], "1000.04", Some("0.06"), None)]
fn payment_figures(
    #[case] contract: Option<&str>,
    #[case] paid: &[&str],
    #[case] expected_paid: &str,
    #[case] expected_remaining: Option<&str>,
    #[case] expected_overpayment: Option<&str>,
) {
    let invoices: Vec<Invoice> = paid
        .iter()
        .enumerate()
        .map(|(index, amount)| {
            smart_invoice(index as u64 + 1, rub(amount), Some(StageSemantics::Success))
        })
        .collect();
    let refs: Vec<&Invoice> = invoices.iter().collect();

    let summary = PaymentSummary::compute(contract.map(rub), &refs);

    assert_eq!(summary.contract, contract.map(rub));
    assert_eq!(summary.paid, rub(expected_paid));
    assert_eq!(summary.remaining, expected_remaining.map(rub));
    assert_eq!(summary.overpayment, expected_overpayment.map(rub));
    assert!(summary.other_currencies.is_empty());
}

#[test]
fn smart_and_legacy_invoices_count_when_paid() {
    let config = LkConfig::default();
    let deal = with_field(
        deal_in(7, "C7:COURT"),
        &config.fields.contract_sum,
        FieldValue::Text("100000|RUB".into()),
    );
    let invoices = [
        smart_invoice(1, rub("10000"), Some(StageSemantics::Success)),
        smart_invoice(2, rub("20000"), Some(StageSemantics::Process)),
        smart_invoice(3, rub("40000"), None),
        smart_invoice(4, rub("80000"), Some(StageSemantics::Failure)),
        legacy_invoice(5, rub("1000"), "P", None),
        legacy_invoice(6, rub("2000"), "N", Some(true)),
        legacy_invoice(7, rub("4000"), "N", Some(false)),
        legacy_invoice(8, rub("8000"), "D", None),
    ];

    let view = build(&deal, &invoices, &config);

    assert_eq!(view.payments.paid, rub("13000"));
    assert_eq!(view.payments.remaining, Some(rub("87000")));
    let ids: Vec<InvoiceId> = view
        .paid_invoices
        .iter()
        .map(|invoice| invoice.id)
        .collect();
    assert_eq!(
        ids,
        [
            InvoiceId::smart(1),
            InvoiceId::legacy(5),
            InvoiceId::legacy(6)
        ]
    );
}

#[test]
fn other_currencies_are_not_added_to_roubles() {
    let invoices = [
        smart_invoice(1, rub("1000"), Some(StageSemantics::Success)),
        smart_invoice(2, money("100", "USD"), Some(StageSemantics::Success)),
        smart_invoice(3, money("50", "USD"), Some(StageSemantics::Success)),
        smart_invoice(4, money("70", "EUR"), Some(StageSemantics::Success)),
        smart_invoice(5, money("999", "EUR"), Some(StageSemantics::Process)),
    ];
    let refs: Vec<&Invoice> = invoices.iter().collect();

    let summary = PaymentSummary::compute(Some(rub("5000")), &refs);

    assert_eq!(summary.paid, rub("1000"));
    assert_eq!(summary.remaining, Some(rub("4000")));
    assert_eq!(
        summary.other_currencies,
        [money("70", "EUR"), money("150", "USD")]
    );
}

#[test]
fn contract_currency_decides_what_is_summed() {
    let invoices = [
        smart_invoice(1, money("100", "USD"), Some(StageSemantics::Success)),
        smart_invoice(2, rub("1000"), Some(StageSemantics::Success)),
    ];
    let refs: Vec<&Invoice> = invoices.iter().collect();

    let summary = PaymentSummary::compute(Some(money("300", "USD")), &refs);

    assert_eq!(summary.paid, money("100", "USD"));
    assert_eq!(summary.remaining, Some(money("200", "USD")));
    assert_eq!(summary.other_currencies, [rub("1000")]);
}

#[test]
fn unknown_contract_is_not_zero() {
    let config = LkConfig::default();
    let deal = with_field(
        deal_in(7, "C7:COURT"),
        &config.fields.contract_sum,
        FieldValue::Text("уточняется".into()),
    );

    let view = build(&deal, &[], &config);

    assert_eq!(view.payments.contract, None);
    assert_eq!(view.payments.remaining, None);
    assert_eq!(view.payments.paid, rub("0"));
}

#[rstest]
#[case::own_deal(Some(410), None, InvoiceLinkage::Deal, true)]
#[case::other_deal(Some(411), None, InvoiceLinkage::Deal, false)]
#[case::contact_without_linkage(None, Some(77), InvoiceLinkage::Deal, false)]
#[case::contact_with_linkage(None, Some(77), InvoiceLinkage::DealAndContact, true)]
#[case::other_contact(None, Some(78), InvoiceLinkage::DealAndContact, false)]
#[case::other_deal_same_contact(Some(411), Some(77), InvoiceLinkage::DealAndContact, true)]
#[case::unbound(None, None, InvoiceLinkage::DealAndContact, false)]
fn invoice_linkage(
    #[case] deal_id: Option<u64>,
    #[case] contact_id: Option<u64>,
    #[case] linkage: InvoiceLinkage,
    #[case] counted: bool,
) {
    let mut config = LkConfig::default();
    config.invoices.linkage = linkage;
    let mut invoice = smart_invoice(1, rub("500"), Some(StageSemantics::Success));
    invoice.deal_id = deal_id.map(DealId);
    invoice.contact_id = contact_id.map(ContactId);

    let view = build(&deal_in(7, "C7:NEW"), &[invoice], &config);

    assert_eq!(view.paid_invoices.len(), usize::from(counted));
    assert_eq!(
        view.payments.paid,
        if counted { rub("500") } else { rub("0") }
    );
}

#[test]
fn contact_invoices_need_a_deal_contact() {
    let mut config = LkConfig::default();
    config.invoices.linkage = InvoiceLinkage::DealAndContact;
    let mut deal = deal_in(7, "C7:NEW");
    deal.contact_id = None;
    let mut invoice = smart_invoice(1, rub("500"), Some(StageSemantics::Success));
    invoice.deal_id = None;

    let view = build(&deal, &[invoice], &config);

    assert!(view.paid_invoices.is_empty());
}

#[test]
fn paid_invoices_sorted_by_payment_date() {
    let invoices = [
        paid_at(
            smart_invoice(1, rub("100"), Some(StageSemantics::Success)),
            "2025-03-10T09:00:00Z",
        ),
        smart_invoice(2, rub("200"), Some(StageSemantics::Success)),
        paid_at(
            legacy_invoice(3, rub("300"), "P", Some(true)),
            "2025-01-04T22:30:00Z",
        ),
        paid_at(
            smart_invoice(4, rub("400"), Some(StageSemantics::Success)),
            "2025-02-01T12:00:00Z",
        ),
    ];

    let view = build(&deal_in(7, "C7:NEW"), &invoices, &LkConfig::default());

    let rows: Vec<(String, Option<String>, Money)> = view
        .paid_invoices
        .iter()
        .map(|row| (row.name.clone(), row.paid_on_text(), row.amount.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "Счёт №\u{a0}L-3".to_owned(),
                Some("05.01.2025".to_owned()),
                rub("300")
            ),
            (
                "Оплата по договору, часть 4".to_owned(),
                Some("01.02.2025".to_owned()),
                rub("400")
            ),
            (
                "Оплата по договору, часть 1".to_owned(),
                Some("10.03.2025".to_owned()),
                rub("100")
            ),
            ("Оплата по договору, часть 2".to_owned(), None, rub("200")),
        ]
    );
}

// --- documents, account, branding ---

#[test]
fn documents_follow_the_configured_list() {
    let config = LkConfig::default();
    let passport = config.documents[0].field.clone();
    let files = FieldValue::Files(vec![
        FileRef {
            id: FileId(1),
            name: Some("p1.jpg".into()),
        },
        FileRef {
            id: FileId(2),
            name: Some("p2.jpg".into()),
        },
    ]);
    let deal = with_field(deal_in(7, "C7:DOCS"), &passport, files);

    let view = build(&deal, &[], &config);

    assert_eq!(view.documents.rows.len(), 16);
    assert_eq!(view.documents.rows[0].name, "Паспорт (все страницы)");
    assert_eq!(view.documents.rows[0].state, DocumentState::Received);
    assert_eq!(view.documents.rows[0].file_count, 2);
    assert_eq!(view.documents.received_count(), 1);
    assert_eq!(view.documents.rows[1].state, DocumentState::Missing);
}

#[test]
fn view_carries_account_title_and_branding() {
    let mut config = LkConfig::default();
    config.branding.company_name = "ООО «Право»".to_owned();

    let view = build(&deal_in(7, "C7:NEW"), &[], &config);

    assert_eq!(view.deal_id, DealId(410));
    assert_eq!(view.title, "Иванов И. И. — банкротство");
    assert_eq!(view.login.as_str(), "lkab3def");
    assert_eq!(view.referral_code.as_str(), "REF7K2M9QX");
    assert_eq!(view.branding.company_name, "ООО «Право»");
    assert!(!view.is_blocked());
}

#[test]
fn new_account_before_pipeline_works_everywhere() {
    let config = LkConfig::default();
    let link = FieldValue::Text("https://kad.arbitr.ru/Card/1".into());
    let deal = with_field(deal_in(1, "C1:NEW"), &config.fields.court_link, link);

    let view = build(&deal, &[], &config);

    assert_eq!(view.stage_text(), "Нет статуса");
    assert_eq!(view.court_link, None);
    assert_eq!(view.progress, 0);
    assert!(
        view.steps
            .iter()
            .all(|step| step.state == IconState::Pending)
    );
    assert_eq!(view.documents.rows.len(), 16);
    assert_eq!(view.payments.paid, rub("0"));
    assert!(!view.is_blocked());
}

// --- properties ---

fn arbitrary_stage() -> impl proptest::strategy::Strategy<Value = (i64, u8)> {
    (0i64..100, 0u8..3)
}

proptest::proptest! {
    #[test]
    fn steps_keep_their_invariants(
        stages in proptest::collection::vec(arbitrary_stage(), 0..12),
        current in 0usize..14,
    ) {
        let semantics = |code: u8| match code {
            0 => StageSemantics::Process,
            1 => StageSemantics::Success,
            _ => StageSemantics::Failure,
        };
        let pipeline = Pipeline {
            id: CategoryId(CASE_PIPELINE),
            name: "Исполнение Юр. отдел".to_owned(),
            stages: stages
                .iter()
                .enumerate()
                .map(|(index, (sort, code))| {
                    stage(&format!("C7:S{index}"), &format!("Этап {index}"), *sort, semantics(*code))
                })
                .collect(),
        };
        let deal = deal_in(7, &format!("C7:S{current}"));

        let view = CabinetView::build(&deal, Some(&pipeline), &[], &account(), &LkConfig::default());

        let current_stage = pipeline.stages.get(current);
        let step_count = pipeline.stages.iter().filter(|s| s.semantics != StageSemantics::Failure).count();
        let currents = view.steps.iter().filter(|s| s.state == IconState::Current).count();
        proptest::prop_assert!(view.progress <= 100);
        proptest::prop_assert_eq!(view.steps.len(), step_count);
        proptest::prop_assert!(currents <= 1);
        match current_stage.map(|stage| stage.semantics) {
            Some(StageSemantics::Success) => proptest::prop_assert_eq!(view.progress, 100),
            Some(StageSemantics::Failure) | None => proptest::prop_assert_eq!(view.progress, 0),
            Some(StageSemantics::Process) => proptest::prop_assert_eq!(currents, 1),
        }
    }

    #[test]
    fn contract_sum_never_negative(text in "\\PC{0,30}") {
        if let Some(money) = contract_sum(&FieldValue::Text(text)) {
            proptest::prop_assert!(!money.amount.is_sign_negative() || money.amount.is_zero());
        }
    }
}
