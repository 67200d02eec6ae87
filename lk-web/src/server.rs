//! Running the cabinet: configuration, store, Bitrix24 client, sync engine, server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use bitrix_lk_core::engine::{SyncEngine, SyncSettings};
use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{Crm, LkConfig, Provisioner, Store};
use bitrix24_client::lk::LkCrm;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tracing::info;

use crate::listen::HEADER_READ_TIMEOUT;
use crate::state::AppState;

/// Sets up logging to stderr, filtered by `RUST_LOG` (else `default_level`).
pub fn init_tracing(default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Loads `path`, applies the environment's secrets and runs the cabinet.
pub async fn run_with_config_file(path: &Path, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let mut config =
        LkConfig::load(path).with_context(|| format!("настройки {}", path.display()))?;
    config.apply_env(|name| std::env::var(name).ok())?;
    if let Some(listen) = listen {
        config.web.listen = listen;
    }
    let listener = TcpListener::bind(config.web.listen)
        .await
        .with_context(|| format!("не удалось занять адрес {}", config.web.listen))?;
    run(Arc::new(config), listener).await
}

/// The parts of a running cabinet, for the demo and end-to-end tests.
#[derive(Clone)]
pub struct Cabinet {
    /// The router's state.
    pub state: AppState,
    /// The sync engine.
    pub engine: SyncEngine,
    /// Wakes the engine.
    pub wake: Arc<Notify>,
    /// The store, shared with the state and the engine.
    pub store: Arc<dyn Store>,
    /// The Bitrix24 port the engine uses.
    pub crm: Arc<dyn Crm>,
}

impl std::fmt::Debug for Cabinet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cabinet")
            .field("state", &self.state)
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

/// Builds the store, the Bitrix24 adapter, the engine and the state from a configuration.
///
/// The Bitrix24 settings are checked before the database file is created,
/// so a wrong configuration leaves nothing behind.
pub fn assemble(config: Arc<LkConfig>) -> anyhow::Result<Cabinet> {
    let crm: Arc<dyn Crm> =
        Arc::new(LkCrm::from_config(config.clone()).context("настройки подключения к Битрикс24")?);
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::open(&config.store.path)
            .with_context(|| format!("база данных {}", config.store.path.display()))?,
    );
    Ok(assemble_with(config, store, crm))
}

/// Builds the engine and the state over given ports (tests pass fakes).
pub fn assemble_with(config: Arc<LkConfig>, store: Arc<dyn Store>, crm: Arc<dyn Crm>) -> Cabinet {
    let provisioner = Provisioner::new(store.clone(), config.clone());
    let engine = SyncEngine::new(
        crm.clone(),
        store.clone(),
        provisioner.clone(),
        SyncSettings::from_config(&config),
    );
    let wake = Arc::new(Notify::new());
    let state = AppState::new(config, store.clone(), provisioner, wake.clone());
    Cabinet {
        state,
        engine,
        wake,
        store,
        crm,
    }
}

/// Serves the cabinet on `listener` and runs the sync engine until Ctrl+C.
pub async fn run(config: Arc<LkConfig>, listener: TcpListener) -> anyhow::Result<()> {
    if config.bitrix24.application_tokens.is_empty() {
        anyhow::bail!(
            "не заданы токены исходящих вебхуков: bitrix24.application_tokens в настройках или LK_B24_APPLICATION_TOKENS"
        );
    }
    let cabinet = assemble(config)?;
    serve(cabinet, listener, shutdown_signal()).await
}

/// Serves an assembled cabinet until `shutdown` completes.
pub async fn serve(
    cabinet: Cabinet,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let address = listener.local_addr()?;
    let engine = cabinet.engine.clone();
    let wake = cabinet.wake.clone();
    let (stop_engine, engine_stopped) = tokio::sync::oneshot::channel::<()>();
    let engine_task = tokio::spawn(async move {
        engine
            .run(wake, async {
                let _ = engine_stopped.await;
            })
            .await;
    });

    info!(%address, "cabinet listening");
    let app = crate::app(cabinet.state);
    crate::listen::serve(listener, app, HEADER_READ_TIMEOUT, shutdown).await?;

    let _ = stop_engine.send(());
    let _ = engine_task.await;
    Ok(())
}

/// Serves the pages and the event endpoint without running the sync engine.
///
/// End-to-end tests use it to step the engine themselves
/// ([`SyncEngine::drain_queues`], [`SyncEngine::resync`]) instead of racing
/// its background loops.
pub async fn serve_without_engine(
    state: AppState,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = crate::app(state);
    crate::listen::serve(listener, app, HEADER_READ_TIMEOUT, shutdown).await?;
    Ok(())
}

/// Completes on Ctrl+C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    info!("shutting down");
}
