//! Exit codes and the classification of errors into them.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use crate::context::display_path;
use crate::output::shell_word;

/// The exit codes, as documented in the help of every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: a check failed or the operation failed.
    Failed,
    /// 2: usage error (unknown command, missing or invalid argument).
    Usage,
    /// 3: the configuration is invalid or missing.
    Config,
    /// 4: Bitrix24 is unreachable or rejected the webhook.
    Bitrix24,
    /// 5: the local store failed.
    Store,
}

impl Exit {
    /// Returns the numeric process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::Config => 3,
            Exit::Bitrix24 => 4,
            Exit::Store => 5,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The text of the help section about exit codes.
pub const EXIT_CODES_HELP: &str = "\
Коды завершения:
  0  успешно
  1  проверка не пройдена или операция не удалась
  2  ошибка в аргументах командной строки
  3  настройки неверны или отсутствуют
  4  Битрикс24 недоступен или отклонил вебхук
  5  ошибка локальной базы данных (SQLite)

Секреты (адрес входящего вебхука, токены исходящих вебхуков) задаются только
в файле настроек или в переменных окружения LK_B24_WEBHOOK_URL и
LK_B24_APPLICATION_TOKENS, никогда в командной строке.";

/// An error that carries its exit code, with a message for the administrator.
#[derive(Debug)]
pub struct Failure {
    exit: Exit,
    message: String,
}

/// Builds an error with an explicit exit code.
pub fn failure(exit: Exit, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        exit,
        message: message.into(),
    })
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Returns the exit code for an error: the outermost [`Failure`] in its chain
/// decides, else the first core or client error, else 1.
pub fn classify(error: &anyhow::Error) -> Exit {
    // `anyhow::Error::downcast_ref` also finds a `Failure` attached as context,
    // which the chain below shows only as its message.
    if let Some(failure) = error.downcast_ref::<Failure>() {
        return failure.exit;
    }
    for cause in error.chain() {
        if let Some(failure) = cause.downcast_ref::<Failure>() {
            return failure.exit;
        }
        if let Some(core) = cause.downcast_ref::<bitrix_lk_core::Error>() {
            return classify_core(core);
        }
        if let Some(client) = cause.downcast_ref::<bitrix24_client::Error>() {
            return classify_client(client);
        }
    }
    Exit::Failed
}

/// Joins the messages of an error chain with ": ", leaving out a cause whose
/// text the messages before it already contain (adapters often repeat their
/// source's message in their own).
pub fn render(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if text.contains(&message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&message);
    }
    text
}

/// Returns what the administrator can do next after a failure of this
/// class, with `check` of the same configuration file `config_path`.
pub fn hint(exit: Exit, config_path: &Path) -> Option<String> {
    let check = format!(
        "lk-cli --config {} check",
        shell_word(&display_path(config_path))
    );
    match exit {
        Exit::Config => Some(format!("Проверьте настройки: {check}")),
        Exit::Bitrix24 => Some(format!("Проверьте портал и вебхук: {check}")),
        Exit::Store => {
            Some("Проверьте путь store.path и права на файл базы данных и его каталог.".to_owned())
        }
        _ => None,
    }
}

fn classify_core(error: &bitrix_lk_core::Error) -> Exit {
    use bitrix_lk_core::Error;
    match error {
        Error::ConfigSyntax { .. } | Error::ConfigValue { .. } => Exit::Config,
        Error::Storage { .. } => Exit::Store,
        Error::CrmUnavailable { .. } | Error::CrmRejected { .. } => Exit::Bitrix24,
        _ => Exit::Failed,
    }
}

fn classify_client(error: &bitrix24_client::Error) -> Exit {
    use bitrix24_client::Error;
    match error {
        Error::InvalidWebhookUrl { .. } | Error::InvalidConfig { .. } => Exit::Config,
        _ => Exit::Bitrix24,
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn failure_wins_over_its_cause() {
        let cause = bitrix_lk_core::Error::NotFound {
            what: "deal 1".into(),
        };
        let error = anyhow::Error::new(cause).context(Failure {
            exit: Exit::Bitrix24,
            message: "x".into(),
        });

        assert_eq!(classify(&error), Exit::Bitrix24);
    }

    #[test]
    fn store_errors_exit_with_5() {
        let cause = bitrix_lk_core::Error::storage("open", std::io::Error::other("disk"));
        let error = Err::<(), _>(cause).context("открытие базы").unwrap_err();

        assert_eq!(classify(&error), Exit::Store);
    }

    #[test]
    fn config_errors_exit_with_3() {
        let cause = bitrix_lk_core::Error::ConfigValue {
            key: "web.listen".into(),
            expected: "an address".into(),
        };

        assert_eq!(classify(&anyhow::Error::new(cause)), Exit::Config);
    }

    #[test]
    fn unknown_errors_exit_with_1() {
        assert_eq!(classify(&anyhow::anyhow!("что-то")), Exit::Failed);
    }

    #[test]
    fn render_skips_repeated_causes() {
        let client = std::io::Error::other("`crm.deal.list`: HTTP 401");
        let adapter =
            anyhow::Error::new(client).context("Bitrix24 rejected: `crm.deal.list`: HTTP 401");
        let error = adapter.context("синхронизация не удалась");

        assert_eq!(
            render(&error),
            "синхронизация не удалась: Bitrix24 rejected: `crm.deal.list`: HTTP 401"
        );
    }

    #[test]
    fn codes_are_distinct() {
        let all = [
            Exit::Success,
            Exit::Failed,
            Exit::Usage,
            Exit::Config,
            Exit::Bitrix24,
            Exit::Store,
        ];
        let codes: Vec<u8> = all.iter().map(|exit| exit.code()).collect();

        assert_eq!(codes, [0, 1, 2, 3, 4, 5]);
    }
}
