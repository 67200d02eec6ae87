//! `lk-web`: the client cabinet server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Личный кабинет клиента: веб-сервер, который показывает клиенту его дело из Битрикс24.
#[derive(Debug, Parser)]
#[command(name = "lk-web", version, about)]
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
}

#[tokio::main]
async fn main() -> ExitCode {
    lk_web::server::init_tracing();
    let args = Args::parse();

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
