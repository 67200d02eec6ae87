//! The webhook URL's form, and whether the portal accepts it.

use std::time::Duration;

use bitrix_lk_core::LkConfig;
use bitrix24_client::{ApiError, Client, Error, RateLimit, RetryPolicy, WebhookUrl};
use secrecy::ExposeSecret;

use super::report::Report;
use crate::exit::Exit;

/// The form of a webhook URL, repeated in the advice.
const EXPECTED_FORM: &str = "https://ПОРТАЛ.bitrix24.ru/rest/ID_ПОЛЬЗОВАТЕЛЯ/СЕКРЕТ/";

/// At most one quick retry, because the installer is waiting at the terminal.
const CHECK_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    base_delay: Duration::from_millis(300),
    max_delay: Duration::from_secs(1),
};

/// Checks the webhook URL's form and builds a client for it. Prints the
/// portal host and user id only, never the secret.
pub fn webhook(config: &LkConfig, report: &mut Report) -> Option<Client> {
    let Some(url) = &config.bitrix24.webhook_url else {
        report.fail(
            Exit::Config,
            "Адрес входящего вебхука не задан",
            "укажите bitrix24.webhook_url в файле настроек или переменную LK_B24_WEBHOOK_URL \
             (Битрикс24: Разработчикам → Другое → Входящий вебхук, права CRM)",
        );
        return None;
    };

    let raw = url.expose_secret();
    let webhook = match WebhookUrl::parse(raw) {
        Ok(webhook) => webhook,
        Err(error) => {
            let (problem, advice) = malformed(raw, &error);
            report.fail(Exit::Config, problem, advice);
            return None;
        }
    };

    let scheme_note = if webhook.portal_url().scheme() == "http" {
        ", по http:// (допустимо только для локального портала или эмулятора)"
    } else {
        ""
    };
    report.pass(format!(
        "Адрес вебхука: портал {}, пользователь {}, секрет скрыт{scheme_note}",
        webhook.host(),
        webhook.user_id()
    ));

    match check_client(config, raw) {
        Ok(client) => Some(client),
        Err(error) => {
            report.fail(
                Exit::Config,
                format!("Клиент Битрикс24 не создан: {error}"),
                "проверьте раздел [bitrix24] файла настроек",
            );
            None
        }
    }
}

/// Builds a client like `LkCrm::from_config` does, but with [`CHECK_RETRY`],
/// so that an unreachable portal is reported in seconds.
fn check_client(config: &LkConfig, url: &str) -> bitrix24_client::Result<Client> {
    let settings = &config.bitrix24;
    Client::builder(url)
        .rate_limit(RateLimit {
            per_second: f64::from(settings.requests_per_second),
            burst: settings.burst,
        })
        .timeout(settings.timeout())
        .retry(CHECK_RETRY)
        .build()
}

/// Explains a URL that [`WebhookUrl::parse`] rejected, without repeating it.
fn malformed(raw: &str, error: &Error) -> (String, String) {
    let reason = match error {
        Error::InvalidWebhookUrl { reason } => reason.as_str(),
        _ => "",
    };
    match url::Url::parse(raw.trim()) {
        Err(_) => (
            "Адрес вебхука не является URL".to_owned(),
            format!("нужен адрес вида {EXPECTED_FORM}; скопируйте его из настроек вебхука целиком"),
        ),
        Ok(url) if url.scheme() == "http" => (
            "Адрес вебхука начинается с http://".to_owned(),
            "Битрикс24 принимает вызовы вебхука только по https://; замените http:// на https://"
                .to_owned(),
        ),
        Ok(_) => (
            format!("Адрес вебхука неверного вида (причина: {reason})"),
            format!("нужен адрес вида {EXPECTED_FORM}; скопируйте его из настроек вебхука целиком"),
        ),
    }
}

/// Makes one cheap read (`crm.deal.fields`) to see that the portal responds,
/// accepts the webhook and grants it the CRM scope.
pub async fn reachable(client: &Client, report: &mut Report) -> bool {
    let host = client.webhook().host().to_owned();
    match client.deals().fields().await {
        Ok(_) => {
            report.pass(format!(
                "Битрикс24 {host} отвечает, вебхук принят, доступ к CRM есть"
            ));
            true
        }
        Err(error) => {
            let (problem, advice) = diagnose(&error, &host);
            report.fail(Exit::Bitrix24, problem, advice);
            false
        }
    }
}

/// Turns a failed call into the problem and the advice an installer can act on.
pub fn diagnose(error: &Error, host: &str) -> (String, String) {
    match error {
        Error::Auth { error, .. } => rejected(error),
        Error::Api { error, .. } if is_https_required(error) => https_required(),
        Error::Api { error, .. } => (
            format!("Битрикс24 вернул ошибку: {error}"),
            "проверьте права пользователя вебхука в CRM".to_owned(),
        ),
        Error::Transport { .. } => (
            format!("Портал {host} недоступен: соединение не установлено"),
            "проверьте имя портала в адресе вебхука, DNS, доступ в интернет и прокси с этого сервера"
                .to_owned(),
        ),
        Error::Timeout { .. } => (
            format!("Портал {host} не ответил вовремя"),
            "проверьте сеть; на медленном канале увеличьте bitrix24.timeout_seconds".to_owned(),
        ),
        Error::Redirect { status, .. } => (
            format!("Портал ответил перенаправлением (HTTP {status})"),
            "укажите адрес портала точно как в адресной строке Битрикс24, с https://".to_owned(),
        ),
        Error::NotJson {
            status,
            content_type,
            ..
        } => (
            format!("Вместо ответа Битрикс24 пришла страница: HTTP {status}, {content_type}"),
            "адрес указывает не на REST API Битрикс24, или между сервером и порталом стоит прокси"
                .to_owned(),
        ),
        Error::MethodNotFound { method } => (
            format!("Портал отвечает, но метода {method} у него нет"),
            "проверьте, что адрес вебхука ведёт на портал Битрикс24 с CRM".to_owned(),
        ),
        Error::RateLimited { .. } | Error::OperationTimeLimit { .. } => (
            "Портал временно ограничил запросы".to_owned(),
            "повторите проверку через минуту".to_owned(),
        ),
        other => (
            format!("Запрос к Битрикс24 не удался: {other}"),
            "повторите проверку; подробности в журнале с RUST_LOG=debug".to_owned(),
        ),
    }
}

fn rejected(error: &ApiError) -> (String, String) {
    let code = error.code.to_ascii_lowercase();
    match code.as_str() {
        "insufficient_scope" => (
            "У вебхука нет права CRM (insufficient_scope)".to_owned(),
            "откройте входящий вебхук в Битрикс24, отметьте право «CRM (crm)» и сохраните".to_owned(),
        ),
        "access_denied" => (
            "Битрикс24 запретил доступ (ACCESS_DENIED)".to_owned(),
            "REST API работает только на платных тарифах; проверьте тариф и права пользователя вебхука"
                .to_owned(),
        ),
        "invalid_request" if is_https_required(error) => https_required(),
        _ => (
            format!(
                "Битрикс24 отклонил вебхук ({}): неверный секрет или пользователь, либо вебхук удалён",
                if error.code.is_empty() { "без кода" } else { &error.code }
            ),
            "скопируйте адрес вебхука заново: Битрикс24 → Разработчикам → Другое → Входящий вебхук"
                .to_owned(),
        ),
    }
}

fn is_https_required(error: &ApiError) -> bool {
    error.code.eq_ignore_ascii_case("INVALID_REQUEST")
        && error.description.to_ascii_lowercase().contains("https")
}

fn https_required() -> (String, String) {
    (
        "Портал принимает вебхук только по HTTPS".to_owned(),
        "замените http:// на https:// в адресе вебхука".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: &str, description: &str) -> ApiError {
        ApiError {
            status: Some(401),
            code: code.to_owned(),
            description: description.to_owned(),
        }
    }

    #[test]
    fn wrong_secret_asks_to_copy_the_webhook_again() {
        let (problem, advice) =
            rejected(&api("INVALID_CREDENTIALS", "Invalid request credentials"));

        assert!(problem.contains("неверный секрет"), "{problem}");
        assert!(advice.contains("Входящий вебхук"), "{advice}");
    }

    #[test]
    fn missing_scope_asks_for_crm() {
        let (problem, advice) = rejected(&api("insufficient_scope", ""));

        assert!(problem.contains("нет права CRM"), "{problem}");
        assert!(advice.contains("CRM (crm)"), "{advice}");
    }

    #[test]
    fn https_required_is_recognised() {
        let (problem, _) = rejected(&api("INVALID_REQUEST", "Https required."));

        assert!(problem.contains("HTTPS"), "{problem}");
    }

    #[test]
    fn http_url_of_a_remote_portal_is_named() {
        let raw = "http://example.bitrix24.ru/rest/1/abc/";
        let error = WebhookUrl::parse(raw).unwrap_err();

        let (problem, advice) = malformed(raw, &error);

        assert!(problem.contains("http://"), "{problem}");
        assert!(advice.contains("https://"), "{advice}");
        assert!(!problem.contains("abc"), "{problem}");
        assert!(!advice.contains("abc/"), "{advice}");
    }

    #[test]
    fn wrong_path_does_not_show_the_secret() {
        let raw = "https://example.bitrix24.ru/api/1/s3cr3t/";
        let error = WebhookUrl::parse(raw).unwrap_err();

        let (problem, advice) = malformed(raw, &error);

        assert!(problem.contains("неверного вида"), "{problem}");
        assert!(!problem.contains("s3cr3t"), "{problem}");
        assert!(!advice.contains("s3cr3t"), "{advice}");
    }
}
