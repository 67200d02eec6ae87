//! Shared set-up of the CLI tests: an emulated portal in the test process,
//! a configuration and a store in a temporary directory, and runs of the
//! real binary.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bitrix24_client::emulator::{Emulator, EmulatorOptions, RateLimit, Seed, WebhookCredentials};

/// The webhook secret of the emulated portal; tests check it never shows up.
pub const SECRET: &str = "cli0test0secret42";

/// The application token written into every test configuration.
pub const TOKEN: &str = "test-application-token";

/// Starts an emulated portal on a free loopback port, without a rate limit,
/// with the webhook of user 1 and [`SECRET`] and the `crm` scope.
pub async fn emulator(seed: Seed) -> Emulator {
    emulator_with(seed, WebhookCredentials::new(1, SECRET)).await
}

/// Starts an emulated portal like [`emulator`] with another incoming webhook.
pub async fn emulator_with(seed: Seed, webhook: WebhookCredentials) -> Emulator {
    let options = EmulatorOptions::default()
        .seed(seed)
        .rate_limit(RateLimit::Off)
        .webhooks(vec![webhook]);
    Emulator::start(options).await.expect("emulator starts")
}

/// A temporary directory with `lk.toml` and the SQLite file of one test.
pub struct Workspace {
    dir: tempfile::TempDir,
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    fn from_output(output: Output) -> Self {
        Self {
            code: output.status.code().expect("the binary exits with a code"),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Returns stdout and stderr together, for messages that may go to either.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Returns the value after `label` on its own line, such as the password after `Пароль: `.
    pub fn value_of(&self, label: &str) -> Option<String> {
        self.stdout
            .lines()
            .find_map(|line| line.strip_prefix(label))
            .map(|value| value.trim().to_owned())
    }
}

impl Workspace {
    /// Creates the directory and writes a configuration for `webhook_url`
    /// with one application token, the store inside the directory, and `extra` TOML appended.
    pub fn new(webhook_url: &str, extra: &str) -> Self {
        let workspace = Self::empty();
        let store = workspace.store_path();
        let text = format!(
            "[bitrix24]\nwebhook_url = \"{webhook_url}\"\napplication_tokens = [\"{TOKEN}\"]\n\n\
             [store]\npath = \"{}\"\n\n{extra}\n",
            store.display()
        );
        std::fs::write(workspace.config_path(), text).expect("config written");
        workspace
    }

    /// Creates the directory without a configuration file.
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// Returns the directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Returns the path of `lk.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("lk.toml")
    }

    /// Returns the path of the SQLite file.
    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("lk.sqlite3")
    }

    /// Runs `lk-cli --config lk.toml ARGS` in the directory, with no `LK_*`
    /// variables inherited from the environment, and waits for it.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("the lk-cli binary runs");
        Run::from_output(output)
    }

    /// Builds the command [`Workspace::run`] runs.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lk-cli"));
        command
            .arg("--config")
            .arg(self.config_path())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("LK_CONFIG")
            .env_remove("LK_B24_WEBHOOK_URL")
            .env_remove("LK_B24_APPLICATION_TOKENS")
            .env_remove("RUST_LOG");
        command
    }
}
