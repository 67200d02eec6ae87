//! `lk-web`: the client cabinet server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator. glibc spreads allocations over
/// up to eight arenas per core and keeps freed memory in them, so a start-up
/// resync or a burst of logins (Argon2 takes 19 MiB per hash) left lk-web
/// holding over 100 MiB it no longer used. BENCHMARKS.md has the figures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Личный кабинет клиента: веб-сервер, который показывает клиенту его дело из Битрикс24.
#[derive(Debug, Parser)]
#[command(
    name = "lk-web",
    version,
    disable_help_flag = true,
    disable_version_flag = true,
    override_usage = "lk-web --config lk.toml [ПАРАМЕТРЫ]\n       lk-web --demo [ПАРАМЕТРЫ]",
    help_template = "{about}\n\nЗапуск:\n       {usage}\n\nПараметры:\n{options}\n\nСекреты можно задать переменными окружения LK_B24_WEBHOOK_URL и LK_B24_APPLICATION_TOKENS.\n"
)]
struct Args {
    /// Файл настроек lk.toml.
    #[arg(long, env = "LK_CONFIG", value_name = "ФАЙЛ", conflicts_with = "demo")]
    config: Option<PathBuf>,

    /// Адрес, на котором принимать запросы (по умолчанию из настроек, иначе 127.0.0.1:8080).
    #[arg(long, value_name = "АДРЕС")]
    listen: Option<SocketAddr>,

    /// Запустить демонстрацию: встроенный эмулятор Битрикс24 с примерами клиентов.
    #[arg(long)]
    demo: bool,

    /// Каталог данных демонстрации (по умолчанию временный, удаляется при выходе).
    #[arg(long, value_name = "КАТАЛОГ", requires = "demo")]
    data: Option<PathBuf>,

    /// Показать эту справку.
    #[arg(short, long, action = clap::ArgAction::Help)]
    help: Option<bool>,

    /// Показать версию.
    #[arg(short = 'V', long, action = clap::ArgAction::Version)]
    version: Option<bool>,
}

/// Parses the command line; a usage error gets a Russian line before clap's details.
fn parse_args() -> Args {
    match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            if error.use_stderr() {
                eprintln!("lk-web: неверные параметры запуска; справка: lk-web --help");
            }
            error.exit()
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = parse_args();
    // The demo keeps its banner readable: only warnings unless RUST_LOG sets another level.
    lk_web::server::init_tracing(if args.demo { "warn" } else { "info" });

    let result = if args.demo {
        lk_web::demo::run(lk_web::demo::DemoOptions {
            listen: args.listen,
            data: args.data,
        })
        .await
    } else {
        match args.config {
            Some(path) => lk_web::server::run_with_config_file(&path, args.listen).await,
            None => Err(anyhow::anyhow!(
                "не указан файл настроек: передайте --config lk.toml (или LK_CONFIG), либо запустите демонстрацию: lk-web --demo"
            )),
        }
    };

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lk-web: ошибка: {error:#}");
            ExitCode::FAILURE
        }
    }
}
