//! `config init`, `emulator`, help and usage errors.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use bitrix_lk_core::LkConfig;
use common::Workspace;

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
}

#[test]
fn usage_errors_exit_with_2() {
    let workspace = Workspace::empty();

    let cases: [(&[&str], &str); 5] = [
        (&["frobnicate"], "неизвестная команда"),
        (&["provision"], "не указан обязательный параметр"),
        (
            &["provision", "--deal", "abc"],
            "неверное значение параметра",
        ),
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
fn missing_config_exits_with_3() {
    let workspace = Workspace::empty();

    for args in [
        &["sync"][..],
        &["accounts", "list"][..],
        &["events", "list"][..],
    ] {
        let run = workspace.run(args);

        assert_eq!(run.code, 3, "{args:?}: {}", run.all());
        assert!(
            run.stderr.contains("lk-cli config init"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn missing_webhook_exits_with_3() {
    let workspace = Workspace::empty();
    std::fs::write(workspace.config_path(), "").unwrap();

    let run = workspace.run(&["sync"]);

    assert_eq!(run.code, 3, "{}", run.all());
    assert!(run.stderr.contains("LK_B24_WEBHOOK_URL"), "{}", run.stderr);
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
