//! `emulator --listen ADDR`: the fake Bitrix24 portal for integrators' own tests.

use anyhow::Context;
use bitrix24_client::emulator::{Emulator, EmulatorOptions, Seed};

use crate::cli::{EmulatorArgs, SeedArg};
use crate::exit::Exit;

/// Starts the emulator, prints its addresses and serves until Ctrl+C or SIGTERM.
///
/// The webhook URL printed here contains the emulator's own random secret;
/// it is printed because integrators need it, and it opens no real portal.
pub async fn run(args: EmulatorArgs) -> anyhow::Result<Exit> {
    let seed = match args.seed {
        SeedArg::Demo => Seed::Demo,
        SeedArg::Empty => Seed::Empty,
    };
    let options = EmulatorOptions::default().listen(args.listen).seed(seed);
    let emulator = Emulator::start(options)
        .await
        .with_context(|| format!("не удалось запустить эмулятор на {}", args.listen))?;

    println!("Эмулятор Битрикс24 запущен на {}.", emulator.addr());
    println!("Входящий вебхук: {}", emulator.webhook_url());
    println!("Панель сотрудника: {}", emulator.staff_panel_url());
    println!("Остановить: Ctrl+C.");

    shutdown_signal().await;
    emulator.shutdown().await;
    println!("Эмулятор остановлен.");
    Ok(Exit::Success)
}

/// Completes on Ctrl+C, or on SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl+C; stop the emulator with SIGTERM");
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
                tracing::error!(%error, "cannot listen for SIGTERM");
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
