//! Login throttling that slows an attacker without locking the client out.
//!
//! Failed logins are counted in the store per login and per client address
//! over a sliding window. Under the limits a login is checked at once. Over
//! either limit, attempts for that login (or from that address) are taken one
//! at a time, each after a fixed pause, and then checked as usual: a guesser
//! gets one try per pause per login instead of thousands a second, while
//! the real client with the right password still gets in after the pause.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitrix_lk_core::WebConfig;
use jiff::Timestamp;
use tokio::sync::OwnedMutexGuard;

use crate::error::WebError;
use crate::state::AppState;

/// The pause before each attempt over the limits.
const SLOW_PAUSE: Duration = Duration::from_secs(2);

/// Counts and paces login attempts.
#[derive(Debug)]
pub struct LoginThrottle {
    login_limit: u32,
    address_limit: u32,
    window: Duration,
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds the per-key gates of an attempt over the limits until it ends.
#[derive(Debug, Default)]
pub struct AttemptPermit {
    _gates: Vec<OwnedMutexGuard<()>>,
}

impl LoginThrottle {
    /// Builds a throttle with the limits of the `[web]` section.
    pub fn new(config: &WebConfig) -> Self {
        Self {
            login_limit: config.login_max_failures,
            address_limit: config.address_max_failures,
            window: config.login_window(),
            gates: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until an attempt for `login` from `address` may be checked.
    pub async fn admit(
        &self,
        state: &AppState,
        login: &str,
        address: &str,
    ) -> Result<AttemptPermit, WebError> {
        let now = Timestamp::now();
        let login_key = login_key(login);
        let address_key = address_key(address);
        let store = state.store();

        let login_failures = store
            .throttle_failures(&login_key, now, self.window)
            .await?;
        let address_failures = store
            .throttle_failures(&address_key, now, self.window)
            .await?;
        let mut permit = AttemptPermit::default();
        if login_failures < self.login_limit && address_failures < self.address_limit {
            return Ok(permit);
        }

        tracing::warn!(
            login_failures,
            address_failures,
            "login attempts over the limit; slowing down"
        );
        for key in [login_key, address_key] {
            let gate = self.gate(&key);
            permit._gates.push(gate.lock_owned().await);
        }
        tokio::time::sleep(SLOW_PAUSE).await;
        Ok(permit)
    }

    /// Records a failed attempt for both keys.
    pub async fn failed(
        &self,
        state: &AppState,
        login: &str,
        address: &str,
    ) -> Result<(), WebError> {
        let now = Timestamp::now();
        let store = state.store();
        store
            .throttle_record_failure(&login_key(login), now, self.window)
            .await?;
        store
            .throttle_record_failure(&address_key(address), now, self.window)
            .await?;
        Ok(())
    }

    /// Forgets the failures of a login after it succeeded. The address keeps
    /// its count, so one right password does not open the door to guessing others.
    pub async fn succeeded(&self, state: &AppState, login: &str) -> Result<(), WebError> {
        state.store().throttle_clear(&login_key(login)).await?;
        Ok(())
    }

    fn gate(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut gates = self
            .gates
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        gates.retain(|_, gate| Arc::strong_count(gate) > 1);
        gates.entry(key.to_owned()).or_default().clone()
    }
}

fn login_key(login: &str) -> String {
    format!("login:{}", login.trim().to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}
