//! The real `lk-web` binary as a child process: its configuration file,
//! start-up, readiness and memory.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use bitrix_lk_core::LkConfig;
use secrecy::ExposeSecret;
use tokio::process::{Child, Command};

use crate::http::Browser;
use crate::machine::{kib_value, proc_value};

/// How long `lk-web` may take after it starts before `/healthz` returns 200.
const START_LIMIT: Duration = Duration::from_secs(30);

/// How long `lk-web` may take to exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// Locates the `lk-web` binary next to this one, building it first with
/// `cargo build --release -p lk-web` when `build` is set.
pub fn locate_lk_web(build: bool) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the lk-bench executable")?;
    let dir = exe
        .parent()
        .context("the lk-bench executable has no parent directory")?;
    let binary = dir.join("lk-web");

    if build {
        // `cargo run` sets CARGO to the cargo that built this binary.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let profile_flag = if dir.ends_with("release") {
            "--release"
        } else {
            "--profile=dev"
        };
        eprintln!("lk-bench: building lk-web ({profile_flag})");
        let status = std::process::Command::new(cargo)
            .args(["build", profile_flag, "-p", "lk-web", "--bin", "lk-web"])
            .status()
            .context("failed to run cargo to build lk-web")?;
        anyhow::ensure!(status.success(), "cargo build -p lk-web failed: {status}");
    }
    anyhow::ensure!(
        binary.is_file(),
        "{} not found; run `cargo build --release -p lk-web` or pass --lk-web PATH",
        binary.display()
    );
    Ok(binary)
}

/// Returns a loopback address with a port that was free a moment ago.
pub fn free_loopback_address() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?)
}

/// Writes the parts of `config` the benchmarks change as an `lk.toml`; every
/// other key keeps its default.
pub fn write_config(config: &LkConfig, listen: SocketAddr, path: &Path) -> anyhow::Result<()> {
    let webhook = config
        .bitrix24
        .webhook_url
        .as_ref()
        .map(|url| url.expose_secret().to_owned())
        .context("the configuration has no webhook URL")?;
    let tokens: Vec<toml::Value> = config
        .bitrix24
        .application_tokens
        .iter()
        .map(|token| toml::Value::String(token.expose_secret().to_owned()))
        .collect();

    let mut bitrix24 = toml::Table::new();
    bitrix24.insert("webhook_url".into(), toml::Value::String(webhook));
    bitrix24.insert("application_tokens".into(), toml::Value::Array(tokens));
    let mut web = toml::Table::new();
    web.insert("listen".into(), toml::Value::String(listen.to_string()));
    let mut store = toml::Table::new();
    store.insert(
        "path".into(),
        toml::Value::String(config.store.path.to_string_lossy().into_owned()),
    );
    let mut sync = toml::Table::new();
    sync.insert(
        "incremental_interval_seconds".into(),
        toml::Value::Integer(i64::try_from(config.sync.incremental_interval_seconds)?),
    );

    let mut root = toml::Table::new();
    root.insert("bitrix24".into(), toml::Value::Table(bitrix24));
    root.insert("web".into(), toml::Value::Table(web));
    root.insert("store".into(), toml::Value::Table(store));
    root.insert("sync".into(), toml::Value::Table(sync));
    std::fs::write(path, toml::to_string(&root)?)
        .with_context(|| format!("failed to write {}", path.display()))
}

/// A running `lk-web`, killed when dropped.
#[derive(Debug)]
pub struct LkWeb {
    child: Child,
    pid: u32,
    /// The listening address.
    pub address: SocketAddr,
}

impl LkWeb {
    /// Starts `binary --config config` with its log in `log`, and waits until
    /// `/healthz` returns 200.
    pub async fn start(
        binary: &Path,
        config: &Path,
        address: SocketAddr,
        log: &Path,
    ) -> anyhow::Result<LkWeb> {
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("failed to create {}", log.display()))?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("failed to start {}", binary.display()))?;
        let pid = child.id().context("lk-web exited at once")?;
        let mut process = LkWeb {
            child,
            pid,
            address,
        };
        process.wait_ready(log).await?;
        Ok(process)
    }

    async fn wait_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("lk-web exited with {status}; see {}", log.display());
            }
            if let Ok(mut browser) = Browser::connect(self.address).await
                && let Ok(reply) = browser.get("/healthz").await
                && reply.status.is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < START_LIMIT,
                "lk-web did not answer /healthz within {} s; see {}",
                START_LIMIT.as_secs(),
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Returns the peak resident set size so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.status_value("VmHWM")
    }

    /// Returns the current resident set size (`VmRSS`), in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        self.status_value("VmRSS")
    }

    fn status_value(&self, key: &str) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("failed to read {path}"))?;
        proc_value(&text, key)
            .as_deref()
            .and_then(kib_value)
            .with_context(|| format!("{path} has no {key}"))
    }

    /// Stops the process with SIGTERM (lk-web shuts down gracefully on it),
    /// or with SIGKILL when it has not exited within [`STOP_LIMIT`].
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        if signalled.is_ok_and(|status| status.success())
            && tokio::time::timeout(STOP_LIMIT, self.child.wait())
                .await
                .is_ok()
        {
            return Ok(());
        }
        self.child.kill().await?;
        Ok(())
    }
}
