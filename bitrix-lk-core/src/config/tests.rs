use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use rstest::rstest;
use secrecy::ExposeSecret;

use super::*;
use crate::ids::{CategoryId, FieldCode};

fn value_error_key(text: &str) -> (String, String) {
    match LkConfig::from_toml_str(text) {
        Err(Error::ConfigValue { key, expected }) => (key, expected),
        other => panic!("expected a ConfigValue error for {text:?}, got {other:?}"),
    }
}

fn syntax_error_message(text: &str) -> String {
    match LkConfig::from_toml_str(text) {
        Err(Error::ConfigSyntax { message }) => message,
        other => panic!("expected a ConfigSyntax error for {text:?}, got {other:?}"),
    }
}

#[test]
fn empty_file_gives_defaults() {
    let config = LkConfig::from_toml_str("").unwrap();

    assert_eq!(config, LkConfig::default());
}

#[test]
fn defaults_follow_the_firm() {
    let config = LkConfig::default();

    assert_eq!(
        config.fields.trigger,
        FieldCode::from("UF_CRM_1708511654449")
    );
    assert_eq!(
        config.fields.last_login,
        FieldCode::from("UF_CRM_1715524078722")
    );
    assert_eq!(config.fields.referral_code, None);
    assert_eq!(config.trigger.value, "Создать");
    assert_eq!(config.documents.len(), 16);
    assert_eq!(config.pipeline.name, "Исполнение Юр. отдел");
    assert_eq!(config.pipeline.category_id, None);
    assert_eq!(config.pipeline.debtor_stages, vec!["Должник".to_owned()]);
    assert_eq!(
        config.web.listen,
        "127.0.0.1:8080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.bitrix24.requests_per_second, 2);
    assert_eq!(config.bitrix24.burst, 50);
    assert!(config.bitrix24.webhook_url.is_none());
    assert_eq!(config.invoices.linkage, InvoiceLinkage::Deal);
    assert_eq!(config.invoices.source, InvoiceSource::Auto);
    assert_eq!(config.accounts.hash_memory_kib, 19 * 1024);
    assert!(config.validate().is_ok());
}

#[test]
fn template_loads_back_to_defaults() {
    let template = LkConfig::template_toml();

    let config = LkConfig::from_toml_str(&template).unwrap();

    assert_eq!(config, LkConfig::default());
}

#[test]
fn template_names_every_key() {
    let template = LkConfig::template_toml();
    let table: toml::Table = template.parse().unwrap();
    let expected = [
        (
            "bitrix24",
            &[
                "webhook_url",
                "application_tokens",
                "requests_per_second",
                "burst",
                "timeout_seconds",
                "portal_domain",
            ][..],
        ),
        (
            "web",
            &[
                "listen",
                "public_url",
                "session_hours",
                "max_upload_megabytes",
                "login_max_failures",
                "address_max_failures",
                "login_window_minutes",
            ],
        ),
        ("store", &["path"]),
        (
            "fields",
            &[
                "trigger",
                "login",
                "password",
                "client_status",
                "contract_sum",
                "message",
                "court_link",
                "last_login",
                "referral_code",
            ],
        ),
        ("trigger", &["value", "item_ids"]),
        ("pipeline", &["name", "debtor_stages"]),
        (
            "statuses",
            &["video_url", "default_description", "descriptions"],
        ),
        ("invoices", &["linkage", "source"]),
        (
            "accounts",
            &[
                "login_prefix",
                "login_random_length",
                "password_length",
                "referral_prefix",
                "referral_random_length",
                "hash_memory_kib",
                "hash_iterations",
                "hash_parallelism",
            ],
        ),
        (
            "sync",
            &[
                "incremental_interval_seconds",
                "overlap_seconds",
                "nightly_full_hour_msk",
            ],
        ),
        (
            "branding",
            &[
                "company_name",
                "phone",
                "email",
                "contact_text",
                "debtor_text",
            ],
        ),
    ];

    for (section, keys) in expected {
        let section_table = table[section].as_table().unwrap();
        for key in keys {
            assert!(
                section_table.contains_key(*key),
                "{section}.{key} is missing"
            );
        }
    }
    assert_eq!(table["documents"].as_array().unwrap().len(), 16);
    assert!(template.contains("# category_id = 7"));
}

const FULL_FILE: &str = r#"
[bitrix24]
webhook_url = "https://firm.bitrix24.ru/rest/12/s3cr3tk3y/"
application_tokens = ["token-one", "token-two"]
requests_per_second = 5
burst = 250
timeout_seconds = 45
portal_domain = "firm.bitrix24.ru"

[web]
listen = "0.0.0.0:9090"
public_url = "https://lk.firm.ru"
session_hours = 48
max_upload_megabytes = 40
login_max_failures = 7
address_max_failures = 60
login_window_minutes = 30

[store]
path = "/var/lib/lk/lk.sqlite3"

[fields]
trigger = "UF_CRM_1"
login = "UF_CRM_2"
password = "UF_CRM_3"
client_status = "UF_CRM_4"
contract_sum = "UF_CRM_5"
message = "UF_CRM_6"
court_link = "UF_CRM_7"
last_login = "UF_CRM_8"
referral_code = "UF_CRM_9"

[trigger]
value = "Да, создать"
item_ids = [3157, "3159"]

[[documents]]
name = "Паспорт"
field = "UF_CRM_DOC_1"

[[documents]]
name = "СНИЛС"
field = "UF_CRM_DOC_2"

[pipeline]
name = "Банкротство"
category_id = 7
debtor_stages = ["Должник", "C7:DEBT"]

[statuses]
video_url = "https://video.example.ru/watch?v=1"
default_description = "Идёт работа."

[statuses.descriptions]
"Сбор документов" = "Соберите документы."
"C7:COURT" = "Дело в суде."

[invoices]
linkage = "deal_and_contact"
source = "legacy"

[accounts]
login_prefix = "client-"
login_random_length = 8
password_length = 14
referral_prefix = "REF-"
referral_random_length = 6
hash_memory_kib = 65536
hash_iterations = 3
hash_parallelism = 2

[sync]
incremental_interval_seconds = 120
overlap_seconds = 600
nightly_full_hour_msk = 4

[branding]
company_name = "ООО «Право»"
phone = "+7 800 000-00-00"
email = "office@pravo.ru"
contact_text = "Звоните."
debtor_text = "Есть долг."
"#;

#[test]
fn full_file_sets_every_key() {
    let config = LkConfig::from_toml_str(FULL_FILE).unwrap();

    let b24 = &config.bitrix24;
    assert_eq!(
        b24.webhook_url.as_ref().map(|url| url.expose_secret()),
        Some("https://firm.bitrix24.ru/rest/12/s3cr3tk3y/")
    );
    let tokens: Vec<&str> = b24
        .application_tokens
        .iter()
        .map(|t| t.expose_secret())
        .collect();
    assert_eq!(tokens, ["token-one", "token-two"]);
    assert_eq!(
        (b24.requests_per_second, b24.burst, b24.timeout_seconds),
        (5, 250, 45)
    );
    assert_eq!(b24.portal_domain(), Some("firm.bitrix24.ru"));

    let web = &config.web;
    assert_eq!(web.listen, "0.0.0.0:9090".parse::<SocketAddr>().unwrap());
    assert_eq!(
        web.public_url.as_ref().map(|u| u.as_str()),
        Some("https://lk.firm.ru/")
    );
    assert!(web.secure_cookies());
    assert_eq!(web.session_hours, 48);
    assert_eq!(web.max_upload_bytes(), 40 * 1024 * 1024);
    assert_eq!((web.login_max_failures, web.address_max_failures), (7, 60));
    assert_eq!(web.login_window().as_secs(), 30 * 60);
    assert_eq!(config.store.path, PathBuf::from("/var/lib/lk/lk.sqlite3"));

    let fields = &config.fields;
    assert_eq!(fields.trigger, FieldCode::from("UF_CRM_1"));
    assert_eq!(fields.last_login, FieldCode::from("UF_CRM_8"));
    assert_eq!(fields.referral_code, Some(FieldCode::from("UF_CRM_9")));
    assert_eq!(config.trigger.value, "Да, создать");
    assert_eq!(
        config.trigger.item_ids,
        vec!["3157".to_owned(), "3159".to_owned()]
    );

    assert_eq!(config.documents.len(), 2);
    assert_eq!(config.documents[1].name, "СНИЛС");
    assert_eq!(config.documents[1].field, FieldCode::from("UF_CRM_DOC_2"));

    assert_eq!(config.pipeline.name, "Банкротство");
    assert_eq!(config.pipeline.category_id, Some(CategoryId(7)));
    assert_eq!(
        config.pipeline.debtor_stages,
        vec!["Должник".to_owned(), "C7:DEBT".to_owned()]
    );

    let statuses = &config.statuses;
    assert_eq!(
        statuses.video_url.as_ref().map(|u| u.as_str()),
        Some("https://video.example.ru/watch?v=1")
    );
    assert_eq!(statuses.default_description, "Идёт работа.");
    assert_eq!(statuses.descriptions.len(), 2);
    assert_eq!(statuses.descriptions["C7:COURT"], "Дело в суде.");

    assert_eq!(config.invoices.linkage, InvoiceLinkage::DealAndContact);
    assert_eq!(config.invoices.source, InvoiceSource::Legacy);

    let accounts = &config.accounts;
    assert_eq!(accounts.login_prefix, "client-");
    assert_eq!(accounts.login_random_length, 8);
    assert_eq!(accounts.password_length, 14);
    assert_eq!(accounts.referral_prefix, "REF-");
    assert_eq!(accounts.referral_random_length, 6);
    assert_eq!(
        (
            accounts.hash_memory_kib,
            accounts.hash_iterations,
            accounts.hash_parallelism
        ),
        (65536, 3, 2)
    );

    assert_eq!(config.sync.incremental_interval().as_secs(), 120);
    assert_eq!(config.sync.overlap().as_secs(), 600);
    assert_eq!(config.sync.nightly_full_hour_msk, 4);

    assert_eq!(config.branding.company_name, "ООО «Право»");
    assert_eq!(config.branding.phone(), Some("+7 800 000-00-00"));
    assert_eq!(config.branding.email(), Some("office@pravo.ru"));
    assert_eq!(config.branding.contact_text, "Звоните.");
    assert_eq!(config.branding.debtor_text, "Есть долг.");
}

#[test]
fn partial_section_keeps_other_defaults() {
    let config = LkConfig::from_toml_str("[web]\nsession_hours = 24\n").unwrap();

    assert_eq!(config.web.session_hours, 24);
    assert_eq!(config.web.login_max_failures, 5);
    assert_eq!(config.documents.len(), 16);
}

#[rstest]
#[case::in_section("[web]\nlisten_addr = \"127.0.0.1:1\"\n", "web.listen_addr", 2)]
#[case::top_level("colour = \"blue\"\n", "colour", 1)]
#[case::unknown_section("[database]\npath = \"x\"\n", "database", 1)]
#[case::in_document(
    "[[documents]]\nname = \"A\"\nfiled = \"UF_CRM_1\"\n",
    "documents[0].filed",
    3
)]
#[case::in_descriptions_parent("[statuses]\nvideo = \"\"\n", "statuses.video", 2)]
fn unknown_key_is_rejected_by_name(#[case] text: &str, #[case] key: &str, #[case] line: usize) {
    let message = syntax_error_message(text);

    assert!(
        message.contains(&format!("unknown key `{key}`")),
        "{message}"
    );
    assert!(message.contains(&format!("line {line}")), "{message}");
}

#[rstest]
#[case::trigger("[fields]\ntrigger = \"UF_CRM_abc\"\n", "fields.trigger", "UF_CRM_")]
#[case::lower_case(
    "[fields]\nlogin = \"uf_crm_1708511589360\"\n",
    "fields.login",
    "UF_CRM_"
)]
#[case::camel_case(
    "[fields]\nmessage = \"ufCrm_1708511318200\"\n",
    "fields.message",
    "UF_CRM_"
)]
#[case::referral(
    "[fields]\nreferral_code = \"TITLE\"\n",
    "fields.referral_code",
    "UF_CRM_"
)]
#[case::document(
    "[[documents]]\nname = \"A\"\nfield = \"UF_CRM_1\"\n[[documents]]\nname = \"B\"\nfield = \"PASSPORT\"\n",
    "documents[1].field",
    "UF_CRM_"
)]
#[case::video_url(
    "[statuses]\nvideo_url = \"javascript:alert(1)\"\n",
    "statuses.video_url",
    "http(s) URL"
)]
#[case::public_url(
    "[web]\npublic_url = \"ftp://lk.example.ru\"\n",
    "web.public_url",
    "http(s) URL"
)]
#[case::listen("[web]\nlisten = \"localhost\"\n", "web.listen", "IP address and port")]
#[case::listen_type("[web]\nlisten = 8080\n", "web.listen", "a string")]
#[case::session_hours("[web]\nsession_hours = 0\n", "web.session_hours", "from 1 to 8760")]
#[case::negative("[web]\nsession_hours = -5\n", "web.session_hours", "whole number")]
#[case::wrong_type(
    "[web]\nsession_hours = \"a day\"\n",
    "web.session_hours",
    "found string"
)]
#[case::hour(
    "[sync]\nnightly_full_hour_msk = 24\n",
    "sync.nightly_full_hour_msk",
    "from 0 to 23"
)]
#[case::linkage(
    "[invoices]\nlinkage = \"contact\"\n",
    "invoices.linkage",
    "`deal_and_contact`"
)]
#[case::source("[invoices]\nsource = \"new\"\n", "invoices.source", "`auto`")]
#[case::rps(
    "[bitrix24]\nrequests_per_second = 0\n",
    "bitrix24.requests_per_second",
    "from 1 to 50"
)]
#[case::domain(
    "[bitrix24]\nportal_domain = \"https://firm.bitrix24.ru/\"\n",
    "bitrix24.portal_domain",
    "without scheme"
)]
#[case::blank_token(
    "[bitrix24]\napplication_tokens = [\"a\", \" \"]\n",
    "bitrix24.application_tokens[1]",
    "token"
)]
#[case::trigger_value("[trigger]\nvalue = \"  \"\n", "trigger.value", "empty")]
#[case::login_prefix(
    "[accounts]\nlogin_prefix = \"LK\"\n",
    "accounts.login_prefix",
    "lower-case"
)]
#[case::referral_prefix(
    "[accounts]\nreferral_prefix = \"ref\"\n",
    "accounts.referral_prefix",
    "capital"
)]
#[case::password_length(
    "[accounts]\npassword_length = 6\n",
    "accounts.password_length",
    "from 8 to 64"
)]
#[case::hash_memory(
    "[accounts]\nhash_memory_kib = 4\n",
    "accounts.hash_memory_kib",
    "from 8 to"
)]
#[case::email("[branding]\nemail = \"office\"\n", "branding.email", "e-mail")]
#[case::company("[branding]\ncompany_name = \"\"\n", "branding.company_name", "empty")]
#[case::pipeline_name("[pipeline]\nname = \"\"\n", "pipeline.name", "category_id")]
#[case::debtor_stage(
    "[pipeline]\ndebtor_stages = [\"\"]\n",
    "pipeline.debtor_stages[0]",
    "stage"
)]
#[case::document_name(
    "[[documents]]\nname = \" \"\nfield = \"UF_CRM_1\"\n",
    "documents[0].name",
    "name"
)]
#[case::duplicate_document(
    "[[documents]]\nname = \"A\"\nfield = \"UF_CRM_1\"\n[[documents]]\nname = \"B\"\nfield = \"UF_CRM_1\"\n",
    "documents[1].field",
    "`documents[0]` uses too"
)]
#[case::document_is_a_field(
    "[[documents]]\nname = \"A\"\nfield = \"UF_CRM_1708511589360\"\n",
    "documents[0].field",
    "`fields.login` uses too"
)]
#[case::duplicate_field(
    "[fields]\npassword = \"UF_CRM_1708511589360\"\n",
    "fields.password",
    "`fields.login` uses too"
)]
fn bad_value_is_rejected_by_key(#[case] text: &str, #[case] key: &str, #[case] hint: &str) {
    let (actual_key, expected) = value_error_key(text);

    assert_eq!(actual_key, key, "{expected}");
    assert!(expected.contains(hint), "{expected:?} lacks {hint:?}");
}

#[test]
fn bad_webhook_url_is_not_echoed() {
    let text = "[bitrix24]\nwebhook_url = \"portal.bitrix24.ru/rest/1/topsecret/\"\n";

    let error = LkConfig::from_toml_str(text).unwrap_err();

    let message = error.to_string();
    assert!(message.contains("bitrix24.webhook_url"), "{message}");
    assert!(!message.contains("topsecret"), "{message}");
}

#[test]
fn syntax_error_names_line_without_source_text() {
    let text = "[bitrix24]\nwebhook_url = \"https://p.bitrix24.ru/rest/1/topsecret/\nburst = 3\n";

    let message = syntax_error_message(text);

    assert!(message.contains("line 2"), "{message}");
    assert!(!message.contains("topsecret"), "{message}");
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn env_overrides_secrets() {
    let mut config = LkConfig::from_toml_str(FULL_FILE).unwrap();

    config
        .apply_env(env(&[
            (
                ENV_WEBHOOK_URL,
                " https://other.bitrix24.ru/rest/3/newkey/ ",
            ),
            (ENV_APPLICATION_TOKENS, "alpha, beta,,gamma "),
        ]))
        .unwrap();

    let url = config.bitrix24.require_webhook_url().unwrap();
    assert_eq!(
        url.expose_secret(),
        "https://other.bitrix24.ru/rest/3/newkey/"
    );
    let tokens: Vec<&str> = config
        .bitrix24
        .require_application_tokens()
        .unwrap()
        .iter()
        .map(|t| t.expose_secret())
        .collect();
    assert_eq!(tokens, ["alpha", "beta", "gamma"]);
}

#[test]
fn env_blank_or_missing_changes_nothing() {
    let mut config = LkConfig::from_toml_str(FULL_FILE).unwrap();
    let before = config.clone();

    config
        .apply_env(env(&[
            (ENV_WEBHOOK_URL, "  "),
            (ENV_APPLICATION_TOKENS, " , "),
        ]))
        .unwrap();
    config.apply_env(env(&[])).unwrap();

    assert_eq!(config, before);
}

#[test]
fn env_bad_webhook_url_is_rejected_without_echo() {
    let mut config = LkConfig::default();

    let error = config
        .apply_env(env(&[(ENV_WEBHOOK_URL, "javascript:topsecret")]))
        .unwrap_err();

    let message = error.to_string();
    assert!(message.contains(ENV_WEBHOOK_URL), "{message}");
    assert!(!message.contains("topsecret"), "{message}");
    assert!(config.bitrix24.webhook_url.is_none());
}

#[test]
fn missing_secrets_are_named() {
    let config = LkConfig::default();

    let url_error = config.bitrix24.require_webhook_url().unwrap_err();
    let token_error = config.bitrix24.require_application_tokens().unwrap_err();

    assert!(url_error.to_string().contains("LK_B24_WEBHOOK_URL"));
    assert!(
        token_error
            .to_string()
            .contains("LK_B24_APPLICATION_TOKENS")
    );
}

#[test]
fn debug_redacts_secrets() {
    let config = LkConfig::from_toml_str(FULL_FILE).unwrap();

    let debug = format!("{config:?}");

    assert!(!debug.contains("s3cr3tk3y"), "{debug}");
    assert!(!debug.contains("token-one"), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn load_reads_a_file() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(FULL_FILE.as_bytes()).unwrap();

    let config = LkConfig::load(file.path()).unwrap();

    assert_eq!(config.pipeline.category_id, Some(CategoryId(7)));
}

#[test]
fn load_names_the_file_on_error() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(b"[web]\nport = 1\n").unwrap();

    let message = LkConfig::load(file.path()).unwrap_err().to_string();

    assert!(
        message.contains(&file.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("web.port"), "{message}");
}

#[test]
fn load_missing_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");

    let error = LkConfig::load(&path).unwrap_err();

    assert!(matches!(error, Error::ConfigSyntax { .. }));
    assert!(error.to_string().contains("absent.toml"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = LkConfig::from_toml_str(&text);
    }

    #[test]
    fn arbitrary_section_values_never_panic(
        section in "(web|bitrix24|fields|accounts|sync|statuses|pipeline|branding|trigger)",
        key in "[a-z_]{1,24}",
        value in "(-?[0-9]{1,12}|\"\\PC{0,30}\"|\\[\\]|true)",
    ) {
        let _ = LkConfig::from_toml_str(&format!("[{section}]\n{key} = {value}\n"));
    }
}
