//! `config init`: writes a commented `lk.toml` with the firm's defaults.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::path::Path;

use anyhow::Context;
use bitrix_lk_core::LkConfig;

use crate::context::display_path;
use crate::exit::{Exit, failure};

/// Writes the template to `path`; an existing file is replaced only with `force`.
pub fn run(path: &Path, force: bool) -> anyhow::Result<Exit> {
    let mut file = open(path, force)?;
    file.write_all(LkConfig::template_toml().as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("не удалось записать {}", path.display()))?;

    println!("Создан файл настроек {}.", display_path(path).display());
    println!(
        "Дальше: задайте адрес входящего вебхука (bitrix24.webhook_url или LK_B24_WEBHOOK_URL) \
         и токены исходящих вебхуков, затем выполните `lk-cli check`."
    );
    Ok(Exit::Success)
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

    options.open(path).map_err(|error| match error.kind() {
        ErrorKind::AlreadyExists => failure(
            Exit::Failed,
            format!(
                "файл {} уже существует и не перезаписан; чтобы заменить его, добавьте --force",
                path.display()
            ),
        ),
        _ => anyhow::Error::new(error).context(format!("не удалось создать {}", path.display())),
    })
}
