//! The `[web]`, `[store]` and `[sync]` sections: how the cabinet runs.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{check, de};
use crate::error::Result;
use crate::view::HttpUrl;

/// The web server of the cabinet.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// The address the server listens on.
    #[serde(deserialize_with = "de::socket_addr")]
    pub listen: SocketAddr,
    /// The address clients open, such as `https://lk.example.ru`; with `https`
    /// the session cookie gets the `Secure` flag.
    #[serde(deserialize_with = "de::optional_url")]
    pub public_url: Option<HttpUrl>,
    /// How long a login session lasts, in hours.
    pub session_hours: u32,
    /// The largest document upload accepted, in megabytes (phone photos are large).
    pub max_upload_megabytes: u32,
    /// Failed logins per login within the window before further attempts are slowed down.
    pub login_max_failures: u32,
    /// Failed logins per client address within the window before it is slowed down.
    pub address_max_failures: u32,
    /// The window over which failed logins are counted, in minutes.
    pub login_window_minutes: u32,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            public_url: None,
            session_hours: 720,
            max_upload_megabytes: 25,
            login_max_failures: 5,
            address_max_failures: 30,
            login_window_minutes: 15,
        }
    }
}

impl WebConfig {
    /// Returns how long a session lasts.
    pub fn session_duration(&self) -> Duration {
        Duration::from_secs(u64::from(self.session_hours) * 3600)
    }

    /// Returns the largest accepted upload in bytes.
    pub fn max_upload_bytes(&self) -> usize {
        usize::try_from(u64::from(self.max_upload_megabytes) * 1024 * 1024).unwrap_or(usize::MAX)
    }

    /// Returns the window over which failed logins are counted.
    pub fn login_window(&self) -> Duration {
        Duration::from_secs(u64::from(self.login_window_minutes) * 60)
    }

    /// Returns whether cookies must carry the `Secure` flag (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_ref().is_some_and(HttpUrl::is_https)
    }

    pub(super) fn validate(&self) -> Result<()> {
        check::range("web.session_hours", self.session_hours, 1, 8760)?;
        check::range(
            "web.max_upload_megabytes",
            self.max_upload_megabytes,
            1,
            200,
        )?;
        check::range("web.login_max_failures", self.login_max_failures, 1, 1000)?;
        check::range(
            "web.address_max_failures",
            self.address_max_failures,
            1,
            100_000,
        )?;
        check::range(
            "web.login_window_minutes",
            self.login_window_minutes,
            1,
            1440,
        )?;
        Ok(())
    }
}

/// The location of the cabinet's own state.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file; a relative path is taken from the working directory.
    pub path: PathBuf,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("lk.sqlite3"),
        }
    }
}

impl StoreConfig {
    pub(super) fn validate(&self) -> Result<()> {
        check::not_blank(
            "store.path",
            &self.path.to_string_lossy(),
            "a path to the SQLite file such as lk.sqlite3",
        )
    }
}

/// How often the cabinet re-reads Bitrix24 on its own.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Seconds between incremental resyncs (deals and invoices changed since the watermark).
    pub incremental_interval_seconds: u64,
    /// Seconds subtracted from the watermark, so a change stamped slightly late is not missed.
    pub overlap_seconds: u64,
    /// The hour of the nightly full resync, Moscow time (0 to 23).
    pub nightly_full_hour_msk: u8,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            incremental_interval_seconds: 60,
            overlap_seconds: 300,
            nightly_full_hour_msk: 3,
        }
    }
}

impl SyncConfig {
    /// Returns the time between incremental resyncs.
    pub fn incremental_interval(&self) -> Duration {
        Duration::from_secs(self.incremental_interval_seconds)
    }

    /// Returns the overlap subtracted from the watermark.
    pub fn overlap(&self) -> Duration {
        Duration::from_secs(self.overlap_seconds)
    }

    pub(super) fn validate(&self) -> Result<()> {
        check::range(
            "sync.incremental_interval_seconds",
            self.incremental_interval_seconds,
            5,
            86_400,
        )?;
        check::range("sync.overlap_seconds", self.overlap_seconds, 0, 86_400)?;
        check::range(
            "sync.nightly_full_hour_msk",
            self.nightly_full_hour_msk,
            0,
            23,
        )?;
        Ok(())
    }
}
