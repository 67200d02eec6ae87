//! Hostile input to the core's parsers: `Money::parse` and
//! `LkConfig::from_toml_str` on arbitrary and near-valid text. Neither may
//! panic, every configuration error must name what is wrong, and no error
//! may repeat the webhook secret or an application token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bitrix_lk_core::{Currency, LkConfig, Money};
use proptest::prelude::*;
use rust_decimal::Decimal;

/// The secret part of the webhook URL and a token used in the configuration cases.
const SECRET: &str = "s3cr3tW3bh00kPart";
const TOKEN: &str = "t0kenOfTheOutgoingHook";

/// Every key of the configuration file, with the section it lives in.
const KEYS: &[(&str, &str)] = &[
    ("bitrix24", "webhook_url"),
    ("bitrix24", "application_tokens"),
    ("bitrix24", "requests_per_second"),
    ("bitrix24", "burst"),
    ("bitrix24", "timeout_seconds"),
    ("bitrix24", "portal_domain"),
    ("web", "listen"),
    ("web", "public_url"),
    ("web", "session_hours"),
    ("web", "max_upload_megabytes"),
    ("web", "login_max_failures"),
    ("web", "address_max_failures"),
    ("web", "login_window_minutes"),
    ("store", "path"),
    ("sync", "incremental_interval_seconds"),
    ("sync", "overlap_seconds"),
    ("sync", "nightly_full_hour_msk"),
    ("fields", "trigger"),
    ("fields", "login"),
    ("fields", "password"),
    ("fields", "contract_sum"),
    ("fields", "message"),
    ("fields", "court_link"),
    ("fields", "referral_code"),
    ("trigger", "value"),
    ("trigger", "item_ids"),
    ("pipeline", "name"),
    ("pipeline", "category_id"),
    ("pipeline", "debtor_stages"),
    ("statuses", "video_url"),
    ("statuses", "default_description"),
    ("invoices", "linkage"),
    ("invoices", "source"),
    ("accounts", "login_prefix"),
    ("accounts", "login_random_length"),
    ("accounts", "password_length"),
    ("accounts", "hash_memory_kib"),
    ("accounts", "hash_iterations"),
    ("accounts", "hash_parallelism"),
    ("branding", "company_name"),
    ("branding", "phone"),
    ("branding", "email"),
];

/// TOML values of every shape.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        (-1e12f64..1e12).prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        "[ -~]{0,40}".prop_map(|text| format!("{text:?}")),
        Just("[]".to_owned()),
        Just("[1, \"a\"]".to_owned()),
        Just("{}".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
    ]
}

/// Values of the secret keys: right and wrong shapes that carry a secret.
fn secret_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(format!("\"{SECRET}\"")),
        Just(format!("\"{TOKEN}\"")),
        Just(format!("[\"{TOKEN}\", 5]")),
        Just(format!("[\"{TOKEN}\", \"\"]")),
        Just(format!("[[\"{TOKEN}\"]]")),
        Just(format!("{{ token = \"{TOKEN}\" }}")),
        Just(format!("\"https://portal.bitrix24.ru/rest/1/{SECRET}/\"")),
        Just(format!("\"ftp://portal/rest/1/{SECRET}/\"")),
        Just(format!("\"portal/rest/1/{SECRET}\"")),
        Just(format!("[\"https://portal.bitrix24.ru/rest/1/{SECRET}/\"]")),
        toml_value(),
    ]
}

/// Generates one `(section, key = value)` line: a secret key with a
/// secret-bearing value, or any other key, sometimes misplaced or unknown.
fn config_line() -> impl Strategy<Value = (String, String)> {
    let secret = (
        prop::sample::select(&["webhook_url", "application_tokens"][..]),
        secret_value(),
    )
        .prop_map(|(key, value)| ("bitrix24".to_owned(), format!("{key} = {value}")));
    let other = (
        prop::sample::select(KEYS),
        toml_value(),
        prop::option::weighted(
            0.1,
            prop::sample::select(&["web", "nonsense", "bitrix24"][..]),
        ),
        prop::option::weighted(0.1, "[a-z_]{1,12}"),
    )
        .prop_map(|((section, key), value, wrong_section, unknown_key)| {
            let section = wrong_section.unwrap_or(section).to_owned();
            let key = unknown_key.unwrap_or_else(|| key.to_owned());
            (section, format!("{key} = {value}"))
        });
    prop_oneof![secret, other]
}

/// Generates configurations of one to eight lines, each section written once.
fn near_valid_config() -> impl Strategy<Value = String> {
    prop::collection::vec(config_line(), 1..8).prop_map(|lines| {
        let mut sections: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (section, line) in lines {
            sections.entry(section).or_default().push(line);
        }
        sections
            .into_iter()
            .map(|(section, lines)| format!("[{section}]\n{}\n", lines.join("\n")))
            .collect()
    })
}

fn assert_error_is_clear(text: &str) -> Result<(), TestCaseError> {
    if let Err(error) = LkConfig::from_toml_str(text) {
        let message = error.to_string();
        prop_assert!(
            message.contains('`') || message.contains("line "),
            "the error names neither a key nor a line: {message}"
        );
        prop_assert!(
            !message.contains(SECRET),
            "the webhook secret leaked: {message}"
        );
        prop_assert!(!message.contains(TOKEN), "a token leaked: {message}");
        prop_assert!(
            !format!("{error:?}").contains(SECRET) && !format!("{error:?}").contains(TOKEN),
            "a secret leaked into the error's Debug: {error:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn config_never_panics_on_any_text(text in "\\PC{0,300}") {
        assert_error_is_clear(&text)?;
    }

    #[test]
    fn config_errors_are_clear_and_keep_secrets(text in near_valid_config()) {
        assert_error_is_clear(&text)?;
    }

    #[test]
    fn money_never_panics_on_any_text(text in "\\PC{0,80}") {
        if let Ok(Some(money)) = Money::parse(&text, &Currency::rub()) {
            let _ = money.format_ru();
        }
    }

    #[test]
    fn money_never_panics_on_number_like_text(text in "[-+ 0-9.,'_|\u{a0}₽руб.RUBEURe]{0,60}") {
        if let Ok(Some(money)) = Money::parse(&text, &Currency::rub()) {
            let _ = money.format_ru();
        }
    }

    #[test]
    fn money_round_trips_through_its_russian_form(kopecks in -10_000_000_000_000i64..10_000_000_000_000i64) {
        let money = Money::rub(Decimal::new(kopecks, 2));
        let text = money.format_ru();
        let parsed = Money::parse(&text, &Currency::rub()).unwrap().unwrap();
        prop_assert_eq!(parsed.amount, money.amount, "{}", text);
        prop_assert_eq!(parsed.currency, money.currency);
    }
}

#[test]
fn money_survives_extreme_numbers() {
    let cases = [
        "9".repeat(10_000),
        format!("{}|RUB", "9".repeat(400)),
        "1e400".to_owned(),
        "0.".to_owned() + &"0".repeat(5_000) + "1",
        "-".repeat(1_000),
        "|".repeat(1_000),
        "79228162514264337593543950336".to_owned(),
        "-79228162514264337593543950336|RUB".to_owned(),
        "1 000 000 000 000 000 000 000 000 000 ₽".to_owned(),
    ];
    for text in cases {
        if let Ok(Some(money)) = Money::parse(&text, &Currency::rub()) {
            let _ = money.format_ru();
        }
    }
}

#[test]
fn config_errors_never_repeat_secrets() {
    let cases = [
        format!("[bitrix24]\napplication_tokens = \"{TOKEN}\""),
        format!("[bitrix24]\napplication_tokens = [\"{TOKEN}\", 5]"),
        format!("[bitrix24]\napplication_tokens = {{ a = \"{TOKEN}\" }}"),
        format!("[bitrix24]\nwebhook_url = \"ftp://portal/rest/1/{SECRET}/\""),
        format!("[bitrix24]\nwebhook_url = [\"https://portal/rest/1/{SECRET}/\"]"),
        format!("[bitrix24]\nwebhook_url = \"https://portal/rest/1/{SECRET}/\nburst = 0"),
        format!("[bitrix24]\nwebhook_url = \"https://portal/rest/1/{SECRET}/\"\nburst = -5"),
        format!(
            "[bitrix24]\nwebhook_url = \"https://portal/rest/1/{SECRET}/\"\nwebhook_url = \"x\""
        ),
        format!("[bitrix24]\nwebhook_url = {SECRET}"),
    ];
    let mut leaks = Vec::new();
    for text in &cases {
        let error = LkConfig::from_toml_str(text).expect_err(text);
        let message = error.to_string();
        if message.contains(SECRET) || message.contains(TOKEN) {
            leaks.push(format!("{text:?}\n  -> {message}"));
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
