//! `config init`: writes a commented `lk.toml` with the firm's defaults.

use std::fs::OpenOptions;
use std::io::{self, ErrorKind, Write};
use std::path::Path;

use bitrix_lk_core::LkConfig;

use crate::context::display_path;
use crate::exit::{Exit, failure};
use crate::output::{shell_word, stdoutln};

/// Writes the template to `path`, creating missing parent directories; an
/// existing file is replaced only with `force`.
pub fn run(path: &Path, force: bool) -> anyhow::Result<Exit> {
    let absolute_path = display_path(path);
    create_parent(path)?;

    let mut file = open(path, force)?;
    file.write_all(LkConfig::template_toml().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| write_failure("не удалось записать файл", &absolute_path, &error))?;

    stdoutln!("Создан файл настроек {}.", absolute_path.display());
    stdoutln!(
        "Дальше: задайте адрес входящего вебхука (bitrix24.webhook_url или LK_B24_WEBHOOK_URL) \
         и токены исходящих вебхуков, затем проверьте настройки командой:"
    );
    stdoutln!("  lk-cli --config {} check", shell_word(&absolute_path));
    Ok(Exit::Success)
}

/// Creates the directories above `path` that do not exist yet.
fn create_parent(path: &Path) -> anyhow::Result<()> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || parent.is_dir() {
        return Ok(());
    }

    let absolute_path = display_path(parent);
    std::fs::create_dir_all(parent)
        .map_err(|error| write_failure("не удалось создать каталог", &absolute_path, &error))?;
    stdoutln!("Создан каталог {}.", absolute_path.display());
    Ok(())
}

/// Opens the file for writing, readable by its owner only because it may
/// receive the webhook secret. Without `force` the file must not exist yet,
/// checked atomically by the open itself.
fn open(path: &Path, force: bool) -> anyhow::Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);

    let absolute_path = display_path(path);
    options.open(path).map_err(|error| match error.kind() {
        ErrorKind::AlreadyExists => failure(
            Exit::Failed,
            format!(
                "файл {} уже существует и не перезаписан; чтобы заменить его, добавьте --force",
                absolute_path.display()
            ),
        ),
        _ => write_failure("не удалось создать файл", &absolute_path, &error),
    })
}

/// Builds the error for a failed write: the action, the path and the cause in Russian.
fn write_failure(action: &str, path: &Path, error: &io::Error) -> anyhow::Error {
    failure(
        Exit::Failed,
        format!(
            "{action} {}: {}",
            path.display(),
            describe_write_error(error)
        ),
    )
}

/// Names the cause of a failed file or directory write in Russian. Uncommon
/// kinds keep the operating system's own text.
fn describe_write_error(error: &io::Error) -> String {
    match error.kind() {
        ErrorKind::NotFound => "каталог не найден".to_owned(),
        ErrorKind::PermissionDenied => "нет прав на запись".to_owned(),
        ErrorKind::ReadOnlyFilesystem => "файловая система доступна только для чтения".to_owned(),
        ErrorKind::StorageFull => "на диске нет места".to_owned(),
        ErrorKind::IsADirectory => "по этому пути уже есть каталог".to_owned(),
        // `create_dir_all` reports a file in place of a directory as `AlreadyExists`
        // for the last component and as `NotADirectory` for the ones above it.
        ErrorKind::NotADirectory | ErrorKind::AlreadyExists => {
            "часть пути — файл, а не каталог".to_owned()
        }
        _ => format!("ошибка операционной системы: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_write_errors_are_russian() {
        let cases = [
            (ErrorKind::NotFound, "каталог не найден"),
            (ErrorKind::PermissionDenied, "нет прав на запись"),
            (
                ErrorKind::ReadOnlyFilesystem,
                "файловая система доступна только для чтения",
            ),
            (ErrorKind::StorageFull, "на диске нет места"),
        ];
        for (kind, expected) in cases {
            assert_eq!(describe_write_error(&io::Error::from(kind)), expected);
        }
    }

    #[test]
    fn write_failure_names_path() {
        let error = io::Error::from(ErrorKind::PermissionDenied);

        let failure = write_failure("не удалось создать каталог", Path::new("/etc/lk"), &error);

        assert_eq!(
            failure.to_string(),
            "не удалось создать каталог /etc/lk: нет прав на запись"
        );
    }
}
