//! The parts the commands share: the configuration, the store, the Bitrix24
//! adapter and the sync engine.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use bitrix_lk_core::engine::{SyncEngine, SyncSettings};
use bitrix_lk_core::store::sqlite::SqliteStore;
use bitrix_lk_core::{Crm, LkConfig, Provisioner, Store};
use bitrix24_client::lk::LkCrm;

use crate::exit::{Exit, failure};
use crate::output::shell_word;

/// Reads the configuration file and applies the secrets from the environment.
pub fn load_config(path: &Path) -> anyhow::Result<LkConfig> {
    if !path.exists() {
        return Err(failure(
            Exit::Config,
            format!(
                "файл настроек {} не найден: {}",
                display_path(path).display(),
                missing_config_advice(path)
            ),
        ));
    }
    let mut config = LkConfig::load(path)
        .with_context(|| format!("не удалось загрузить настройки {}", path.display()))?;
    config
        .apply_env(|name| std::env::var(name).ok())
        .context("неверное значение в переменных окружения")?;
    Ok(config)
}

/// Returns what to do when the configuration file `path` does not exist.
pub fn missing_config_advice(path: &Path) -> String {
    format!(
        "укажите другой файл в --config или LK_CONFIG или создайте этот: \
         lk-cli config init --path {}",
        shell_word(&display_path(path))
    )
}

/// How to open the store when its file does not exist yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file, as lk-web does at its first start.
    CreateIfMissing,
    /// Fail: a listing of a missing database would only show an empty one.
    MustExist,
}

/// Opens the SQLite store named in `[store]`, off the async runtime.
pub async fn open_store(config: &LkConfig, mode: OpenMode) -> anyhow::Result<Arc<SqliteStore>> {
    let path = config.store.path.clone();
    if mode == OpenMode::MustExist && !path.exists() {
        return Err(failure(
            Exit::Store,
            format!(
                "база данных {} не найдена: lk-web ещё не запускался здесь, \
                 или store.path указан относительно другого каталога",
                path.display()
            ),
        ));
    }

    let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await
        .context("открытие базы данных прервано")?;
    let store = opened.with_context(|| {
        format!(
            "не удалось открыть базу данных {}",
            config.store.path.display()
        )
    })?;
    Ok(Arc::new(store))
}

/// The configuration, store, adapter and engine of a command that talks to Bitrix24.
pub struct Services {
    /// The loaded configuration.
    pub config: Arc<LkConfig>,
    /// The cabinet's store.
    pub store: Arc<dyn Store>,
    /// The Bitrix24 adapter the engine uses.
    pub crm: Arc<dyn Crm>,
    /// The provisioning service over the same store.
    pub provisioner: Provisioner,
    /// The sync engine over the Bitrix24 adapter and the store.
    pub engine: SyncEngine,
}

impl Services {
    /// Loads the configuration, opens (or creates) the store and builds the engine.
    pub async fn start(config_path: &Path) -> anyhow::Result<Services> {
        let config = Arc::new(load_config(config_path)?);
        let crm = LkCrm::from_config(config.clone()).context(
            "не задан или неверен адрес входящего вебхука: bitrix24.webhook_url в настройках \
             или LK_B24_WEBHOOK_URL",
        )?;
        let crm: Arc<dyn Crm> = Arc::new(crm);
        let store: Arc<dyn Store> = open_store(&config, OpenMode::CreateIfMissing).await?;

        let provisioner = Provisioner::new(store.clone(), config.clone());
        let settings = SyncSettings::from_config(&config);
        let engine = SyncEngine::new(crm.clone(), store.clone(), provisioner.clone(), settings);
        Ok(Services {
            config,
            store,
            crm,
            provisioner,
            engine,
        })
    }
}

/// Returns the absolute form of a path for messages, or the path itself.
pub fn display_path(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
