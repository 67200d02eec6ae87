//! Checks that need no portal: application tokens, addresses and the store.

use bitrix_lk_core::{LkConfig, Store};

use super::report::Report;
use crate::cabinet_events::HANDLER_PATH;
use crate::context::{OpenMode, display_path, open_store};
use crate::exit::Exit;

/// The outgoing webhooks to create in Bitrix24, in the wording of its UI.
const EVENTS_TO_SUBSCRIBE: &str = "обновление и удаление сделки (ONCRMDEALUPDATE, \
    ONCRMDEALDELETE); для смарт-счетов создание, изменение и удаление элемента \
    (ONCRMDYNAMICITEMADD, ONCRMDYNAMICITEMUPDATE, ONCRMDYNAMICITEMDELETE); для старых счетов \
    ONCRMINVOICEADD, ONCRMINVOICEUPDATE, ONCRMINVOICESETSTATUS, ONCRMINVOICEDELETE";

/// Checks that at least one application token is configured.
pub fn tokens(config: &LkConfig, report: &mut Report) {
    let count = config.bitrix24.application_tokens.len();
    if count == 0 {
        report.fail(
            Exit::Failed,
            "Токены исходящих вебхуков не заданы",
            "скопируйте токен каждого исходящего вебхука в bitrix24.application_tokens \
             или в переменную LK_B24_APPLICATION_TOKENS (через запятую); без них lk-web \
             не примет ни одного события",
        );
    } else {
        report.pass(format!("Токены исходящих вебхуков заданы: {count}"));
    }
}

/// Prints the configured listen address and the handler URL for the
/// outgoing webhooks. Whether lk-web really listens there is not checked.
pub fn web(config: &LkConfig, report: &mut Report) {
    report.pass(format!(
        "Адрес lk-web в настройках: {} (web.listen)",
        config.web.listen
    ));

    let Some(public_url) = &config.web.public_url else {
        report.warn(
            "Публичный адрес кабинета не задан (web.public_url)",
            format!(
                "укажите адрес, который открывают клиенты, например https://lk.example.ru; \
                 обработчик исходящих вебхуков будет на этом адресе с путём {HANDLER_PATH}"
            ),
        );
        return;
    };

    let handler = format!(
        "{}{HANDLER_PATH}",
        public_url.as_str().trim_end_matches('/')
    );
    report.pass(format!(
        "Адрес обработчика для исходящих вебхуков: {handler}"
    ));
    report.detail(format!(
        "Создайте в Битрикс24 исходящие вебхуки на этот адрес: {EVENTS_TO_SUBSCRIBE}."
    ));
    if !public_url.is_https() {
        report.warn(
            format!("Публичный адрес кабинета не https: {}", public_url.as_str()),
            "настройте TLS: по http токены вебхуков и пароли клиентов идут открытым текстом, \
             а cookie входа не получают флаг Secure",
        );
    }
}

/// Opens the store when it exists and reports its queues; a missing file is
/// fine because lk-web creates it at the first start.
pub async fn store(config: &LkConfig, report: &mut Report) {
    let path = display_path(&config.store.path);
    if !config.store.path.exists() {
        let parent_missing = path.parent().is_some_and(|parent| !parent.exists());
        if parent_missing {
            report.fail(
                Exit::Store,
                format!("Каталог базы данных для {} не существует", path.display()),
                "создайте каталог или исправьте store.path",
            );
        } else {
            report.pass(format!(
                "База данных {} будет создана при первом запуске lk-web",
                path.display()
            ));
        }
        return;
    }

    let opened = open_store(config, OpenMode::MustExist).await;
    let stats = match opened {
        Ok(store) => store.queue_stats().await.map_err(anyhow::Error::new),
        Err(error) => Err(error),
    };
    match stats {
        Ok(stats) if stats.outbox_parked > 0 => report.warn(
            format!(
                "База данных {}: отложенных записей в Битрикс24: {}",
                path.display(),
                stats.outbox_parked
            ),
            "посмотрите причину: lk-cli events list; после исправления: lk-cli events retry",
        ),
        Ok(stats) => report.pass(format!(
            "База данных {}: событий в очереди {}, записей в Битрикс24 ждут {}",
            path.display(),
            stats.inbox_pending,
            stats.outbox_pending
        )),
        Err(error) => report.fail(
            Exit::Store,
            format!("База данных не открылась: {error:#}"),
            "проверьте путь store.path и права на файл и каталог",
        ),
    }
}
