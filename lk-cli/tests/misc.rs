//! `config init`, `emulator`, help and usage errors.

mod common;

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::HeaderMap;
use axum::routing::post;
use bitrix_lk_core::LkConfig;
use bitrix24_client::event::parse_event;
use common::Workspace;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use tokio::sync::mpsc;

#[test]
fn config_init_keeps_existing_file() {
    let workspace = Workspace::empty();
    let path = workspace.path().join("new.toml");
    let path_arg = path.to_str().unwrap();

    let created = workspace.run(&["config", "init", "--path", path_arg]);

    assert_eq!(created.code, 0, "{}", created.all());
    assert!(
        created.stdout.contains("Создан файл настроек"),
        "{}",
        created.stdout
    );
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, LkConfig::template_toml());
    assert_eq!(LkConfig::load(&path).unwrap(), LkConfig::default());

    std::fs::write(&path, "# настроено вручную\n").unwrap();
    let rejected = workspace.run(&["config", "init", "--path", path_arg]);

    assert_eq!(rejected.code, 1, "{}", rejected.all());
    assert!(
        rejected.stderr.contains("уже существует и не перезаписан"),
        "{}",
        rejected.stderr
    );
    assert!(rejected.stderr.contains("--force"), "{}", rejected.stderr);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "# настроено вручную\n"
    );

    let forced = workspace.run(&["config", "init", "--path", path_arg, "--force"]);

    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        LkConfig::template_toml()
    );
}

#[test]
fn config_init_creates_missing_directories() {
    let workspace = Workspace::empty();
    let path = workspace.path().join("etc").join("lk").join("lk.toml");
    let absolute_path = std::path::absolute(&path).unwrap();

    let run = workspace.run(&["config", "init", "--path", path.to_str().unwrap()]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        LkConfig::template_toml()
    );
    assert!(
        run.stdout.contains(&format!(
            "Создан каталог {}.",
            absolute_path.parent().unwrap().display()
        )),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!(
            "  lk-cli --config {} check",
            absolute_path.display()
        )),
        "{}",
        run.stdout
    );
}

#[test]
fn config_init_next_command_finds_file() {
    let workspace = Workspace::empty();
    let path = workspace.path().join("conf").join("lk.toml");
    let other_directory = tempfile::tempdir().unwrap();

    let init = workspace.run(&["config", "init", "--path", path.to_str().unwrap()]);
    let next = init
        .stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("lk-cli "))
        .expect("the next command is printed");
    let check = Command::new(env!("CARGO_BIN_EXE_lk-cli"))
        .args(next.split_whitespace())
        .current_dir(other_directory.path())
        .env_remove("LK_CONFIG")
        .env_remove("LK_B24_WEBHOOK_URL")
        .env_remove("LK_B24_APPLICATION_TOKENS")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.contains("✓ Настройки загружены"),
        "`lk-cli {next}` from another directory: {stdout}"
    );
}

#[test]
fn config_init_under_file_fails_in_russian() {
    let workspace = Workspace::empty();
    let file = workspace.path().join("not-a-directory");
    std::fs::write(&file, "").unwrap();
    let path = file.join("lk.toml");

    let run = workspace.run(&["config", "init", "--path", path.to_str().unwrap()]);

    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(
        run.stderr,
        format!(
            "lk-cli: ошибка: не удалось создать каталог {}: часть пути — файл, а не каталог\n",
            std::path::absolute(&file).unwrap().display()
        )
    );
}

#[cfg(unix)]
#[test]
fn config_init_file_is_private() {
    use std::os::unix::fs::PermissionsExt;

    let workspace = Workspace::empty();

    let run = workspace.run(&["config", "init"]);

    assert_eq!(run.code, 0, "{}", run.all());
    let mode = std::fs::metadata(workspace.config_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the file may receive the webhook secret");
}

#[test]
fn help_is_russian_and_lists_exit_codes() {
    let workspace = Workspace::empty();

    let run = workspace.run(&["--help"]);

    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("Использование:"), "{}", run.stdout);
    assert!(run.stdout.contains("Коды завершения:"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("4  Битрикс24 недоступен или отклонил вебхук"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("Проверить настройки и портал Битрикс24"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("по умолчанию lk.toml в текущем каталоге"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("тот же, что у lk-web"),
        "{}",
        run.stdout
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let workspace = Workspace::empty();

    let cases: [(&[&str], &str); 4] = [
        (&["frobnicate"], "неизвестная команда"),
        (&["provision"], "не указан обязательный параметр"),
        (
            &["events", "retry", "--webhook", "x"],
            "неизвестный параметр",
        ),
        (&["accounts"], "не указана команда"),
    ];
    for (args, problem) in cases {
        let run = workspace.run(args);

        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert!(
            run.stderr
                .starts_with(&format!("lk-cli: ошибка в командной строке: {problem}\n")),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stderr.contains("Справка: lk-cli --help"), "{args:?}");
    }
}

#[test]
fn invalid_values_are_described_in_russian() {
    let workspace = Workspace::empty();

    let cases: [(&[&str], &str); 4] = [
        (
            &["provision", "--deal", "abc"],
            "неверное значение «abc» параметра --deal <ID>: ID сделки — целое число, например 42",
        ),
        (
            &["password", "reset", "--deal", "0"],
            "неверное значение «0» параметра --deal <ID>: \
             ID сделки — целое число больше нуля, например 42",
        ),
        (
            &["emulator", "--rate-limit", "unlimited"],
            "неверное значение «unlimited» параметра --rate-limit <ТАРИФ>: \
             допустимые значения: off, standard, enterprise",
        ),
        (
            &["provision", "--deal"],
            "не указано значение параметра --deal <ID>",
        ),
    ];
    for (args, problem) in cases {
        let run = workspace.run(args);

        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
        assert_eq!(
            run.stderr,
            format!("lk-cli: ошибка в командной строке: {problem}\nСправка: lk-cli --help\n"),
            "{args:?}"
        );
    }
}

#[test]
fn missing_config_exits_with_3() {
    let workspace = Workspace::empty();
    let config = std::path::absolute(workspace.config_path()).unwrap();

    for args in [
        &["sync"][..],
        &["accounts", "list"][..],
        &["events", "list"][..],
    ] {
        let run = workspace.run(args);

        assert_eq!(run.code, 3, "{args:?}: {}", run.all());
        assert!(
            run.stderr
                .contains(&format!("lk-cli config init --path {}", config.display())),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(
            run.stderr.matches("config init").count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn missing_webhook_exits_with_3() {
    let workspace = Workspace::empty();
    std::fs::write(workspace.config_path(), "").unwrap();
    let config = std::path::absolute(workspace.config_path()).unwrap();

    let run = workspace.run(&["sync"]);

    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("LK_B24_WEBHOOK_URL"), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(&format!(
            "Проверьте настройки: lk-cli --config {} check\n",
            config.display()
        )),
        "the hint checks the same file: {}",
        run.stderr
    );
}

/// Kills the emulator process this test started if the test fails before stopping it.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(unix)]
#[test]
fn emulator_serves_until_interrupted() {
    let child = Command::new(env!("CARGO_BIN_EXE_lk-cli"))
        .args(["emulator", "--listen", "127.0.0.1:0", "--seed", "demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(Some(child));
    let child = guard.0.as_mut().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut webhook = None;
    let mut staff = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(url) = line.strip_prefix("Входящий вебхук: ") {
            webhook = Some(url.to_owned());
        }
        if let Some(url) = line.strip_prefix("Панель сотрудника: ") {
            staff = Some(url.to_owned());
        }
        if line.starts_with("Остановить:") {
            break;
        }
    }
    let webhook = webhook.expect("the webhook URL is printed");
    assert!(
        staff
            .expect("the staff panel URL is printed")
            .ends_with("/staff")
    );

    let workspace = Workspace::new(&webhook, "");
    let check = workspace.run(&["check"]);

    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let status = child.wait().unwrap();
    guard.0 = None;
    let rest: Vec<String> = lines.map_while(Result::ok).collect();

    assert_eq!(check.code, 0, "check against the emulator: {}", check.all());
    assert!(
        check.stdout.contains("вебхук принят, доступ к CRM есть"),
        "{}",
        check.stdout
    );
    assert_eq!(status.code(), Some(0));
    assert_eq!(rest, ["Эмулятор остановлен."]);
}

/// An HTTP server in the test process in place of the cabinet's event
/// handler. It sends every POST it receives to `posts`.
struct EventReceiver {
    url: String,
    posts: mpsc::UnboundedReceiver<(Option<String>, Bytes)>,
}

impl EventReceiver {
    async fn start() -> Self {
        let (sender, posts) = mpsc::unbounded_channel();
        let app = Router::new().route(
            "/b24/events",
            post(move |headers: HeaderMap, body: Bytes| {
                let sender = sender.clone();
                async move {
                    let content_type = headers
                        .get("content-type")
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned);
                    let _ = sender.send((content_type, body));
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the receiver binds a loopback port");
        let address = listener.local_addr().expect("the receiver has an address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{address}/b24/events"),
            posts,
        }
    }
}

/// Reads the emulator's stdout up to the «Остановить:» line, which it prints
/// once it serves, and returns the lines read and the rest of the stream.
fn read_banner(stdout: ChildStdout) -> (Vec<String>, Lines<BufReader<ChildStdout>>) {
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("the emulator's stdout is readable");
        let last = line.starts_with("Остановить:");
        banner.push(line);
        if last {
            break;
        }
    }
    (banner, lines)
}

fn value_after<'a>(banner: &'a [String], label: &str) -> Option<&'a str> {
    banner.iter().find_map(|line| line.strip_prefix(label))
}

#[tokio::test(flavor = "multi_thread")]
async fn emulator_sends_events_to_handler() {
    let mut receiver = EventReceiver::start().await;
    let child = Command::new(env!("CARGO_BIN_EXE_lk-cli"))
        .args([
            "emulator",
            "--handler",
            &receiver.url,
            "--rate-limit",
            "off",
        ])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(Some(child));
    let stdout = guard.0.as_mut().unwrap().stdout.take().unwrap();
    let (banner, _rest) = tokio::task::spawn_blocking(move || read_banner(stdout))
        .await
        .unwrap();
    let webhook = value_after(&banner, "Входящий вебхук: ").expect("the webhook URL is printed");
    let token = value_after(&banner, "  токен приложения: ").expect("the token is printed");

    assert_eq!(
        value_after(&banner, "Исходящий вебхук: "),
        Some(receiver.url.as_str())
    );
    assert!(
        banner.contains(&format!("webhook_url = \"{webhook}\"")),
        "{banner:#?}"
    );
    assert!(
        banner.contains(&format!("application_tokens = [\"{token}\"]")),
        "{banner:#?}"
    );
    assert!(
        banner.contains(&"Ограничение частоты запросов: нет.".to_owned()),
        "{banner:#?}"
    );

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let listed: Value = http
        .post(format!("{webhook}crm.deal.list"))
        .json(&json!({"select": ["ID"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deal_id: u64 = listed["result"][0]["ID"]
        .as_str()
        .expect("the demo portal has deals")
        .parse()
        .unwrap();
    let updated: Value = http
        .post(format!("{webhook}crm.deal.update"))
        .json(&json!({"id": deal_id, "fields": {"TITLE": "Изменено тестом"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(updated["result"], json!(true), "{updated}");

    // The bound only keeps a broken delivery from hanging the test.
    let (content_type, body) = tokio::time::timeout(Duration::from_secs(30), receiver.posts.recv())
        .await
        .expect("the event arrives within 30 s")
        .expect("the receiver is running");
    let event = parse_event(content_type.as_deref(), &body).unwrap();

    assert_eq!(event.name, "ONCRMDEALUPDATE");
    assert_eq!(event.deal_id().map(|id| id.0), Some(deal_id));
    let received_token = event
        .auth
        .application_token
        .expect("the event carries the application token");
    assert_eq!(received_token.expose_secret(), token);
}

#[test]
fn emulator_without_handler_explains_option() {
    let child = Command::new(env!("CARGO_BIN_EXE_lk-cli"))
        .args(["emulator", "--seed", "empty"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(Some(child));
    let stdout = guard.0.as_mut().unwrap().stdout.take().unwrap();

    let (banner, _rest) = read_banner(stdout);

    assert!(
        banner
            .iter()
            .any(|line| line.contains("--handler http://127.0.0.1:8080/b24/events")),
        "{banner:#?}"
    );
    assert!(
        banner.contains(&"Ограничение частоты запросов: 2 в секунду, пачка до 50.".to_owned()),
        "{banner:#?}"
    );
    assert!(
        !banner
            .iter()
            .any(|line| line.starts_with("application_tokens")),
        "{banner:#?}"
    );
}
