//! The commented `lk.toml` written by `lk-cli config init`.

use std::fmt::Write;

use super::{InvoiceLinkage, InvoiceSource, LkConfig};

/// Renders `config` as a commented TOML file whose values load back to `config`.
///
/// Secrets are never written: the webhook URL and the tokens are left empty.
pub(super) fn render(config: &LkConfig) -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    bitrix24(&mut out, config);
    web(&mut out, config);
    fields(&mut out, config);
    documents(&mut out, config);
    pipeline(&mut out, config);
    statuses(&mut out, config);
    accounts(&mut out, config);
    branding(&mut out, config);
    out
}

const HEADER: &str = "\
# Настройки личного кабинета клиента.
# Все ключи необязательны: без ключа действует значение по умолчанию, указанное здесь.
# Секреты (адрес входящего вебхука и токены исходящих вебхуков) лучше задавать
# переменными окружения LK_B24_WEBHOOK_URL и LK_B24_APPLICATION_TOKENS.
";

/// Quotes a string as a TOML basic string.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn quote_list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let quoted: Vec<String> = items.into_iter().map(|item| quote(item.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

fn bitrix24(out: &mut String, config: &LkConfig) {
    let b24 = &config.bitrix24;
    let _ = write!(
        out,
        "
[bitrix24]
# Адрес входящего вебхука (права: CRM). Секрет; переменная LK_B24_WEBHOOK_URL его заменяет.
# Пример: \"https://portal.bitrix24.ru/rest/1/xxxxxxxxxxxx/\"
webhook_url = \"\"
# Токены исходящих вебхуков (у каждого вебхука свой). Секреты;
# переменная LK_B24_APPLICATION_TOKENS заменяет список (через запятую).
application_tokens = []
# Запросов в секунду и размер «ведра» запросов: 2 и 50, на тарифе «Энтерпрайз» 5 и 250.
requests_per_second = {}
burst = {}
# Время ожидания ответа Битрикс24, секунд.
timeout_seconds = {}
# Если задан, события принимаются только от этого портала (auth[domain]), например \"example.bitrix24.ru\".
portal_domain = {}
",
        b24.requests_per_second,
        b24.burst,
        b24.timeout_seconds,
        quote(&b24.portal_domain),
    );
}

fn web(out: &mut String, config: &LkConfig) {
    let web = &config.web;
    let public_url = web.public_url.as_ref().map_or("", |url| url.as_str());
    let _ = write!(
        out,
        "
[web]
# Адрес и порт веб-сервера.
listen = {}
# Адрес кабинета для клиентов, например \"https://lk.example.ru\". С https cookie получают флаг Secure.
public_url = {}
# Длительность сеанса входа, часов.
session_hours = {}
# Наибольший размер загружаемого документа, мегабайт.
max_upload_megabytes = {}
# Неудачных входов на один логин и на один IP-адрес за окно, после которых попытки замедляются.
login_max_failures = {}
address_max_failures = {}
# Окно подсчёта неудачных входов, минут.
login_window_minutes = {}

[store]
# Файл базы SQLite; относительный путь считается от рабочего каталога.
path = {}

[sync]
# Как часто перечитывать изменённые сделки и счета, секунд.
incremental_interval_seconds = {}
# Запас по времени при перечитывании изменений, секунд.
overlap_seconds = {}
# Час ночной полной сверки по Москве (0–23).
nightly_full_hour_msk = {}
",
        quote(&web.listen.to_string()),
        quote(public_url),
        web.session_hours,
        web.max_upload_megabytes,
        web.login_max_failures,
        web.address_max_failures,
        web.login_window_minutes,
        quote(&config.store.path.to_string_lossy()),
        config.sync.incremental_interval_seconds,
        config.sync.overlap_seconds,
        config.sync.nightly_full_hour_msk,
    );
}

fn fields(out: &mut String, config: &LkConfig) {
    let fields = &config.fields;
    let referral = fields
        .referral_code
        .as_ref()
        .map_or("", |code| code.as_str());
    let item_ids = quote_list(&config.trigger.item_ids);
    let _ = write!(
        out,
        "
[fields]
# Коды пользовательских полей сделки (UF_CRM_...).
# «Создать ЛК клиенту»
trigger = {}
# «Логин ЛК клиента» и «Пароль ЛК клиента» (заполняет кабинет)
login = {}
password = {}
# «Статус для ЛК клиента»
client_status = {}
# «Сумма договора»
contract_sum = {}
# «Сообщение клиенту от компании»
message = {}
# «Ссылка на дело в Кад. Арбитр»
court_link = {}
# «Дата последней авторизации (МСК)» (заполняет кабинет)
last_login = {}
# Поле для кода рекомендателя; пусто — код в сделку не записывается.
referral_code = {}

[trigger]
# Значение поля «Создать ЛК клиенту», при котором создаётся кабинет
# (без учёта регистра; для поля «да/нет» достаточно значения «да»).
value = {}
# ID элементов списка, которые тоже создают кабинет, например [3157].
item_ids = {}
",
        quote(fields.trigger.as_str()),
        quote(fields.login.as_str()),
        quote(fields.password.as_str()),
        quote(fields.client_status.as_str()),
        quote(fields.contract_sum.as_str()),
        quote(fields.message.as_str()),
        quote(fields.court_link.as_str()),
        quote(fields.last_login.as_str()),
        quote(referral),
        quote(&config.trigger.value),
        item_ids,
    );
}

fn documents(out: &mut String, config: &LkConfig) {
    out.push_str(
        "
# Список необходимых документов в порядке показа: название и файловое поле сделки.
# Если задать хотя бы один [[documents]], список по умолчанию заменяется целиком.
",
    );
    for document in &config.documents {
        let _ = write!(
            out,
            "[[documents]]\nname = {}\nfield = {}\n\n",
            quote(&document.name),
            quote(document.field.as_str()),
        );
    }
}

fn pipeline(out: &mut String, config: &LkConfig) {
    let pipeline = &config.pipeline;
    let category = match pipeline.category_id {
        Some(id) => format!("category_id = {id}"),
        None => "# category_id = 7".to_owned(),
    };
    let _ = write!(
        out,
        "[pipeline]
# Воронка, стадии которой видит клиент: по названию или по ID (ID важнее названия).
name = {}
{category}
# Стадии «Должник»: названия (в этой воронке) или ID стадий (в любой воронке, например \"C9:DEBTOR\").
debtor_stages = {}
",
        quote(&pipeline.name),
        quote_list(&pipeline.debtor_stages),
    );
}

fn statuses(out: &mut String, config: &LkConfig) {
    let statuses = &config.statuses;
    let video_url = statuses.video_url.as_ref().map_or("", |url| url.as_str());
    let _ = write!(
        out,
        "
[statuses]
# Видео в начале страницы «Подробное описание статусов»; пусто — блок скрыт.
video_url = {}
# Текст для стадии без собственного описания.
default_description = {}

[statuses.descriptions]
# Описание стадии для клиента: ключ — название стадии или её ID.
",
        quote(video_url),
        quote(&statuses.default_description),
    );
    for (stage, text) in &statuses.descriptions {
        let _ = writeln!(out, "{} = {}", quote(stage), quote(text));
    }
}

fn accounts(out: &mut String, config: &LkConfig) {
    let accounts = &config.accounts;
    let linkage = match config.invoices.linkage {
        InvoiceLinkage::Deal => "deal",
        InvoiceLinkage::DealAndContact => "deal_and_contact",
    };
    let source = match config.invoices.source {
        InvoiceSource::Smart => "smart",
        InvoiceSource::Legacy => "legacy",
        InvoiceSource::Both => "both",
        InvoiceSource::Auto => "auto",
    };
    let _ = write!(
        out,
        "
[invoices]
# Чьи счета учитываются: \"deal\" — привязанные к сделке, \"deal_and_contact\" — ещё и выставленные контакту.
linkage = {}
# Какие счета читать: \"smart\" (новые), \"legacy\" (старые), \"both\" или \"auto\" (определить).
source = {}

[accounts]
# Логин = префикс + случайные символы (строчные латинские буквы и цифры).
login_prefix = {}
login_random_length = {}
# Длина пароля (в нём всегда есть заглавная и строчная буквы и цифра).
password_length = {}
# Код рекомендателя = префикс (заглавные латинские буквы, цифры) + случайные символы.
referral_prefix = {}
referral_random_length = {}
# Параметры хеширования паролей Argon2id: память в КиБ, число проходов, число потоков.
hash_memory_kib = {}
hash_iterations = {}
hash_parallelism = {}
",
        quote(linkage),
        quote(source),
        quote(&accounts.login_prefix),
        accounts.login_random_length,
        accounts.password_length,
        quote(&accounts.referral_prefix),
        accounts.referral_random_length,
        accounts.hash_memory_kib,
        accounts.hash_iterations,
        accounts.hash_parallelism,
    );
}

fn branding(out: &mut String, config: &LkConfig) {
    let branding = &config.branding;
    let _ = write!(
        out,
        "
[branding]
# Название компании в заголовке страниц.
company_name = {}
# Телефон и e-mail для клиентов; пусто — не показываются.
phone = {}
email = {}
# Как связаться с компанией (страница «Должник»).
contact_text = {}
# Почему кабинет закрыт (страница «Должник»).
debtor_text = {}
",
        quote(&branding.company_name),
        quote(&branding.phone),
        quote(&branding.email),
        quote(&branding.contact_text),
        quote(&branding.debtor_text),
    );
}
