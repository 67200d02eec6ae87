//! `emulator --listen ADDR [--handler URL]... [--rate-limit PLAN]`: the fake
//! Bitrix24 portal for integrators' own tests.

use anyhow::Context;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, RateLimit, Seed};

use crate::cabinet_events::{HANDLER_PATH, SUBSCRIBED_EVENTS};
use crate::cli::{EmulatorArgs, RateLimitArg, SeedArg};
use crate::exit::Exit;
use crate::output::{stderrln, stdoutln};

/// An outgoing webhook created in the emulator for one `--handler`.
struct Handler {
    url: String,
    application_token: String,
}

/// Starts the emulator, creates an outgoing webhook per `--handler`, prints
/// the addresses, tokens and a `[bitrix24]` section for `lk.toml`, and
/// serves until Ctrl+C or SIGTERM.
///
/// The webhook URL and tokens printed here are the emulator's own random
/// secrets. Integrators need them, and they open no real portal.
pub async fn run(args: EmulatorArgs) -> anyhow::Result<Exit> {
    let seed = match args.seed {
        SeedArg::Demo => Seed::Demo,
        SeedArg::Empty => Seed::Empty,
    };
    let rate_limit = rate_limit(args.rate_limit);
    let options = EmulatorOptions::default()
        .listen(args.listen)
        .seed(seed)
        .rate_limit(rate_limit);
    let emulator = Emulator::start(options)
        .await
        .with_context(|| format!("не удалось запустить эмулятор на {}", args.listen))?;

    let handlers = match subscribe(&emulator, &args) {
        Ok(handlers) => handlers,
        Err(error) => {
            emulator.shutdown().await;
            return Err(error);
        }
    };
    print_started(&emulator, rate_limit, &handlers);

    shutdown_signal().await;
    emulator.shutdown().await;
    stdoutln!("Эмулятор остановлен.");
    Ok(Exit::Success)
}

fn rate_limit(plan: RateLimitArg) -> RateLimit {
    match plan {
        RateLimitArg::Off => RateLimit::Off,
        RateLimitArg::Standard => RateLimit::standard(),
        RateLimitArg::Enterprise => RateLimit::enterprise(),
    }
}

/// Creates one outgoing webhook, with its own application token, per handler URL.
fn subscribe(emulator: &Emulator, args: &EmulatorArgs) -> anyhow::Result<Vec<Handler>> {
    let portal = emulator.portal();
    let mut handlers = Vec::with_capacity(args.handler.len());
    for url in &args.handler {
        let url = url.as_str();
        let webhook = portal
            .add_outgoing_webhook(url, &SUBSCRIBED_EVENTS)
            .with_context(|| format!("не удалось создать исходящий вебхук на {url}"))?;
        handlers.push(Handler {
            url: url.to_owned(),
            application_token: webhook.application_token,
        });
    }
    Ok(handlers)
}

fn print_started(emulator: &Emulator, rate_limit: RateLimit, handlers: &[Handler]) {
    stdoutln!("Эмулятор Битрикс24 запущен на {}.", emulator.addr());
    stdoutln!("Входящий вебхук: {}", emulator.webhook_url());
    stdoutln!("Панель сотрудника: {}", emulator.staff_panel_url());
    stdoutln!("Ограничение частоты запросов: {}.", describe(rate_limit));

    if handlers.is_empty() {
        stdoutln!(
            "Исходящих вебхуков нет: чтобы эмулятор отправлял события кабинету, запустите его \
             с --handler http://127.0.0.1:8080{HANDLER_PATH} (адрес lk-web и путь {HANDLER_PATH})."
        );
    }
    for handler in handlers {
        stdoutln!("Исходящий вебхук: {}", handler.url);
        stdoutln!("  события: {}", SUBSCRIBED_EVENTS.join(", "));
        stdoutln!("  токен приложения: {}", handler.application_token);
    }

    stdoutln!();
    stdoutln!("Настройки кабинета для этого эмулятора (вставьте в lk.toml):");
    for line in settings_snippet(&emulator.webhook_url(), handlers, rate_limit) {
        stdoutln!("{line}");
    }
    stdoutln!();
    stdoutln!("Остановить: Ctrl+C.");
}

/// Returns the `[bitrix24]` section of `lk.toml` for a cabinet that uses the
/// emulator: its webhook, the tokens of its outgoing webhooks and, when the
/// emulator limits requests, the same limit for the cabinet's own limiter.
fn settings_snippet(webhook_url: &str, handlers: &[Handler], rate_limit: RateLimit) -> Vec<String> {
    let mut lines = vec![
        "[bitrix24]".to_owned(),
        format!("webhook_url = {}", toml_string(webhook_url)),
    ];
    if !handlers.is_empty() {
        let tokens: Vec<String> = handlers
            .iter()
            .map(|handler| toml_string(&handler.application_token))
            .collect();
        lines.push(format!("application_tokens = [{}]", tokens.join(", ")));
    }
    if let RateLimit::Bucket { per_second, burst } = rate_limit {
        lines.push(format!("requests_per_second = {per_second}"));
        lines.push(format!("burst = {burst}"));
    }
    lines
}

/// Returns a TOML string literal for `text`, quoted and escaped.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

fn describe(rate_limit: RateLimit) -> String {
    match rate_limit {
        RateLimit::Off => "нет".to_owned(),
        RateLimit::Bucket { per_second, burst } => {
            format!("{per_second} в секунду, пачка до {burst}")
        }
    }
}

/// Completes on Ctrl+C, or on SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            stderrln!(
                "lk-cli: не удалось перехватить Ctrl+C ({error}); остановите эмулятор сигналом SIGTERM"
            );
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                stderrln!(
                    "lk-cli: не удалось перехватить SIGTERM ({error}); остановите эмулятор Ctrl+C"
                );
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_lists_webhook_tokens_and_limit() {
        let handlers = [
            Handler {
                url: "http://127.0.0.1:8080/b24/events".to_owned(),
                application_token: "token1".to_owned(),
            },
            Handler {
                url: "http://127.0.0.1:8081/b24/events".to_owned(),
                application_token: "token2".to_owned(),
            },
        ];

        let lines = settings_snippet(
            "http://127.0.0.1:1/rest/1/secret/",
            &handlers,
            RateLimit::enterprise(),
        );

        assert_eq!(
            lines,
            [
                "[bitrix24]",
                "webhook_url = \"http://127.0.0.1:1/rest/1/secret/\"",
                "application_tokens = [\"token1\", \"token2\"]",
                "requests_per_second = 5",
                "burst = 250",
            ]
        );
    }

    #[test]
    fn snippet_is_valid_toml_without_handlers() {
        let lines = settings_snippet("http://127.0.0.1:1/rest/1/a\"b/", &[], RateLimit::Off);

        let parsed: toml::Table = lines.join("\n").parse().unwrap();

        assert_eq!(
            parsed["bitrix24"]["webhook_url"].as_str(),
            Some("http://127.0.0.1:1/rest/1/a\"b/")
        );
        assert_eq!(parsed["bitrix24"].as_table().unwrap().len(), 1);
    }
}
