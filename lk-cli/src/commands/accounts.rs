//! `accounts list`: the clients' accounts from the local store.

use std::path::Path;

use anyhow::Context;
use bitrix_lk_core::{Account, Store};

use crate::context::{OpenMode, load_config, open_store};
use crate::exit::Exit;
use crate::output::{Table, moscow, stdout, stdoutln};

/// Prints one row per account, ordered by deal id. Needs no Bitrix24 access.
pub async fn list(config_path: &Path) -> anyhow::Result<Exit> {
    let config = load_config(config_path)?;
    let store = open_store(&config, OpenMode::MustExist).await?;
    let accounts = store
        .accounts()
        .await
        .context("не удалось прочитать учётные записи")?;

    if accounts.is_empty() {
        stdoutln!("Учётных записей нет.");
        return Ok(Exit::Success);
    }
    stdout!("{}", table(&accounts).render(0));
    stdoutln!("Всего: {}.", accounts.len());
    Ok(Exit::Success)
}

fn table(accounts: &[Account]) -> Table {
    let mut table = Table::new(["Сделка", "Логин", "Создана (МСК)", "Последний вход (МСК)"]);
    for account in accounts {
        table.row(vec![
            account.deal_id.to_string(),
            account.login.to_string(),
            moscow(account.created_at),
            account
                .last_login_at
                .map_or_else(|| "не входил".to_owned(), moscow),
        ]);
    }
    table
}
