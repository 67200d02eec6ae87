//! `password reset --deal ID`: a new password, written back to the deal.

use std::path::Path;

use bitrix_lk_core::{DealId, Error};

use super::outbox;
use crate::context::Services;
use crate::exit::{Exit, failure};
use crate::output::stdoutln;

/// Sets a new random password, delivers it to the deal's password field and
/// prints the login and the password. The deal's sessions end.
pub async fn reset(config_path: &Path, deal: DealId) -> anyhow::Result<Exit> {
    let services = Services::start(config_path).await?;

    let login = match services.provisioner.reset_password(deal).await {
        Ok(login) => login,
        Err(Error::NotFound { .. }) => {
            return Err(failure(
                Exit::Failed,
                format!(
                    "у сделки {deal} нет учётной записи; создайте её: lk-cli provision --deal {deal}"
                ),
            ));
        }
        Err(error) => {
            return Err(anyhow::Error::new(error).context("не удалось сменить пароль"));
        }
    };

    let Some((write_id, password)) =
        outbox::pending_credentials(services.store.as_ref(), deal).await?
    else {
        // lk-web delivered the write between the reset and this read, so
        // the password is already in the deal and no longer in the store.
        stdoutln!("Пароль сделки {deal} сменён.");
        stdoutln!("Логин: {login}");
        stdoutln!("Новый пароль уже записан в сделку (поле «Пароль ЛК клиента»).");
        return Ok(Exit::Success);
    };

    stdoutln!("Пароль сделки {deal} сменён; открытые сеансы клиента в кабинете завершены.");
    stdoutln!("Логин: {login}");
    stdoutln!("Пароль: {}", password.expose());

    let delivery = outbox::deliver(&services.engine, services.store.as_ref(), write_id).await?;
    Ok(outbox::report_credentials(deal, &delivery))
}
