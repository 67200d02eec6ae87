//! `lk-cli check` against an emulated portal: a good set-up passes, and each
//! broken one is named in the output with the right exit code.

mod common;

use bitrix24_client::emulator::{Fault, Seed, UserFieldSpec, UserFieldType, WebhookCredentials};
use common::{SECRET, Workspace, emulator, emulator_with};

/// The only methods `check` may call: reads.
const READ_METHODS: [&str; 6] = [
    "crm.deal.fields",
    "crm.deal.userfield.list",
    "crm.category.list",
    "crm.status.list",
    "crm.item.list",
    "crm.invoice.list",
];

fn failed_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|line| line.starts_with('✗'))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_passes_on_demo_portal_and_only_reads() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(
        &emulator.webhook_url(),
        "[web]\npublic_url = \"https://lk.example.ru\"\n",
    );

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(failed_lines(&run.stdout).is_empty(), "{}", run.stdout);
    assert!(
        run.stdout.contains("✓ Настройки загружены"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("пользователь 1, секрет скрыт"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("вебхук принят, доступ к CRM есть"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("список, значение «Создать»"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✓ Воронка «Исполнение Юр. отдел» (id 7), стадий: 10"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("    C7:WON  Завершение процедуры"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✓ Стадия должника «Должник» найдена: C7:UC_Q4W7ZP"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("смарт-счета: есть"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "✓ Адрес обработчика для исходящих вебхуков: https://lk.example.ru/b24/events"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✓ Адрес lk-web в настройках: 127.0.0.1:8080 (web.listen)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("слушает"), "{}", run.stdout);
    assert!(
        run.stdout.contains("Итог: всё в порядке."),
        "{}",
        run.stdout
    );
    assert!(!run.all().contains(SECRET), "the webhook secret leaked");

    let requests = emulator.portal().requests();
    assert!(!requests.is_empty());
    for request in &requests {
        assert!(
            READ_METHODS.contains(&request.method.as_str()),
            "check called {}, which is not a read method",
            request.method
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_wrong_secret() {
    let emulator = emulator(Seed::Demo).await;
    let url = emulator.webhook_url().replace(SECRET, "wrong0secret0value");
    let workspace = Workspace::new(&url, "");

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 4, "{}", run.all());
    let failed = failed_lines(&run.stdout);
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(failed[0].contains("отклонил вебхук"), "{}", failed[0]);
    assert!(failed[0].contains("неверный секрет"), "{}", failed[0]);
    assert!(
        failed[0].contains("скопируйте адрес вебхука заново"),
        "{}",
        failed[0]
    );
    assert!(
        !run.all().contains("wrong0secret0value"),
        "the webhook secret leaked"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_missing_crm_scope() {
    let webhook = WebhookCredentials::new(1, SECRET).with_scopes(["user"]);
    let emulator = emulator_with(Seed::Demo, webhook).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout.contains("✗ У вебхука нет права CRM"),
        "{}",
        run.stdout
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_unreachable_portal() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{closed_port}/rest/1/{SECRET}/");
    let workspace = Workspace::new(&url, "");

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 4, "{}", run.all());
    assert!(
        run.stdout
            .contains("✗ Портал 127.0.0.1 недоступен: соединение не установлено"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_names_http_url_of_remote_portal() {
    let workspace = Workspace::new("http://portal.example.invalid/rest/1/abc123/", "");

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stdout.contains("✗ Адрес вебхука начинается с http://"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("замените http:// на https://"),
        "{}",
        run.stdout
    );
}

#[test]
fn check_without_config_file_exits_with_3() {
    let workspace = Workspace::empty();
    let config = std::path::absolute(workspace.config_path()).unwrap();

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stdout
            .contains(&format!("✗ Файл настроек {} не найден", config.display())),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("lk-cli config init --path {}", config.display())),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.matches("config init").count(),
        1,
        "the advice is given once: {}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_prints_no_log_lines() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    // One failed request makes the client retry and log a warning.
    emulator.portal().fail_next(1, Fault::ServerError);

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(!run.all().contains("WARN"), "{}", run.all());
    assert!(!run.all().contains("retrying"), "{}", run.all());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_verbose_prints_log_to_stderr() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(&emulator.webhook_url(), "");
    emulator.portal().fail_next(1, Fault::ServerError);

    let run = workspace.run(&["--verbose", "check"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(
        run.stderr.contains("retrying Bitrix24 call"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("retrying"), "{}", run.stdout);
    emulator.shutdown().await;
}

#[test]
fn check_hides_secret_in_broken_toml() {
    let workspace = Workspace::empty();
    let broken =
        format!("[bitrix24]\nwebhook_url = \"https://portal.example.invalid/rest/1/{SECRET}/\n");
    std::fs::write(workspace.config_path(), broken).unwrap();

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 3, "{}", run.all());
    assert!(
        run.stdout.contains("✗ Настройки не загружены"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("line 2"),
        "the position is named: {}",
        run.stdout
    );
    assert!(
        !run.all().contains(SECRET),
        "the webhook secret leaked: {}",
        run.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_missing_field() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(
        &emulator.webhook_url(),
        "[fields]\nlogin = \"UF_CRM_999\"\n",
    );

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 1, "{}", run.all());
    let failed = failed_lines(&run.stdout);
    assert_eq!(
        failed,
        [
            "✗ fields.login: поля UF_CRM_999 нет у сделок — создайте поле в Битрикс24 \
          (CRM → Настройки → Пользовательские поля → Сделка) или исправьте код в файле настроек"
        ],
        "{}",
        run.stdout
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_wrong_pipeline_name() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(
        &emulator.webhook_url(),
        "[pipeline]\nname = \"Юридический отдел\"\n",
    );

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 1, "{}", run.all());
    let failed = failed_lines(&run.stdout);
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(
        failed[0].starts_with("✗ Воронка «Юридический отдел» (pipeline.name) не найдена"),
        "{}",
        failed[0]
    );
    assert!(
        failed[0].contains("«Исполнение Юр. отдел» (7)"),
        "the advice lists the portal's pipelines: {}",
        failed[0]
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_unknown_debtor_stage() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(
        &emulator.webhook_url(),
        "[pipeline]\ndebtor_stages = [\"Просрочка\", \"C7:UC_Q4W7ZP\"]\n",
    );

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout
            .contains("✗ Стадия должника «Просрочка» не найдена в воронке «Исполнение Юр. отдел»"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✓ Стадия должника «C7:UC_Q4W7ZP» найдена"),
        "{}",
        run.stdout
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_unusable_field_types_on_custom_portal() {
    let emulator = emulator(Seed::Empty).await;
    let portal = emulator.portal();
    let fields = [
        UserFieldSpec::new("UF_CRM_TRIGGER", UserFieldType::Enumeration)
            .label("Создать ЛК клиенту")
            .items(["Да", "Нет"]),
        UserFieldSpec::new("UF_CRM_LOGIN", UserFieldType::Enumeration).items(["x"]),
        UserFieldSpec::new("UF_CRM_PASSWORD", UserFieldType::String),
        UserFieldSpec::new("UF_CRM_STATUS", UserFieldType::String),
        UserFieldSpec::new("UF_CRM_SUM", UserFieldType::Double),
        UserFieldSpec::new("UF_CRM_MESSAGE", UserFieldType::String),
        UserFieldSpec::new("UF_CRM_COURT", UserFieldType::String),
        UserFieldSpec::new("UF_CRM_LAST_LOGIN", UserFieldType::Date),
        UserFieldSpec::new("UF_CRM_DOC", UserFieldType::File),
    ];
    for field in fields {
        portal.add_user_field(field).unwrap();
    }
    let extra = "\
[fields]
trigger = \"UF_CRM_TRIGGER\"
login = \"UF_CRM_LOGIN\"
password = \"UF_CRM_PASSWORD\"
client_status = \"UF_CRM_STATUS\"
contract_sum = \"UF_CRM_SUM\"
message = \"UF_CRM_MESSAGE\"
court_link = \"UF_CRM_COURT\"
last_login = \"UF_CRM_LAST_LOGIN\"

[[documents]]
name = \"Паспорт\"
field = \"UF_CRM_DOC\"

[pipeline]
category_id = 0
debtor_stages = []
";
    let workspace = Workspace::new(&emulator.webhook_url(), extra);

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains(
            "✗ fields.trigger UF_CRM_TRIGGER «Создать ЛК клиенту»: в списке нет значения \
             «Создать» (есть «Да», «Нет»)"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✗ fields.login UF_CRM_LOGIN: тип «список», а нужен «строка»"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✓ fields.contract_sum UF_CRM_SUM: число"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("✓ fields.last_login UF_CRM_LAST_LOGIN: дата"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("⚠ documents[0] «Паспорт» UF_CRM_DOC: тип «файл», но не множественное"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("⚠ Стадия должника не задана (pipeline.debtor_stages)"),
        "{}",
        run.stdout
    );
    assert_eq!(failed_lines(&run.stdout).len(), 2, "{}", run.stdout);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_warns_about_legacy_source_and_plain_http() {
    let emulator = emulator(Seed::Demo).await;
    let workspace = Workspace::new(
        &emulator.webhook_url(),
        "[invoices]\nsource = \"legacy\"\n\n[web]\npublic_url = \"http://lk.example.ru\"\n",
    );

    let run = workspace.run(&["check"]);

    assert_eq!(run.code, 0, "warnings do not fail the check: {}", run.all());
    assert!(
        run.stdout
            .contains("⚠ Счета (invoices.source = legacy): смарт-счета: есть"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("укажите invoices.source = \"smart\" или \"auto\""),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("⚠ Публичный адрес кабинета не https: http://lk.example.ru"),
        "{}",
        run.stdout
    );
    emulator.shutdown().await;
}
