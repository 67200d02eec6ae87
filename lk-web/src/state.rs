//! The state every handler shares.

use std::sync::Arc;

use bitrix_lk_core::{LkConfig, Provisioner, Store};
use bitrix24_client::event::EventVerifier;
use bitrix24_client::lk::event_verifier;
use tokio::sync::Notify;

use crate::throttle::LoginThrottle;

/// Shared state of the cabinet's handlers. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Arc<LkConfig>,
    store: Arc<dyn Store>,
    provisioner: Provisioner,
    events: EventVerifier,
    token_count: usize,
    wake_engine: Arc<Notify>,
    throttle: LoginThrottle,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("tokens", &self.inner.token_count)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state. Events are accepted with the application tokens (and
    /// the portal domain, when set) of `config`; with no token configured every
    /// event is rejected. `wake_engine` is notified when an event is stored.
    pub fn new(
        config: Arc<LkConfig>,
        store: Arc<dyn Store>,
        provisioner: Provisioner,
        wake_engine: Arc<Notify>,
    ) -> Self {
        let throttle = LoginThrottle::new(&config.web);
        let events =
            event_verifier(&config).unwrap_or_else(|_| EventVerifier::new(Vec::<String>::new()));
        let token_count = config.bitrix24.application_tokens.len();
        let inner = Inner {
            config,
            store,
            provisioner,
            events,
            token_count,
            wake_engine,
            throttle,
        };
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &LkConfig {
        &self.inner.config
    }

    /// Returns the store.
    pub fn store(&self) -> &dyn Store {
        self.inner.store.as_ref()
    }

    /// Returns the provisioning service (password checks and changes).
    pub fn provisioner(&self) -> &Provisioner {
        &self.inner.provisioner
    }

    /// Returns the verifier of incoming events (application tokens, portal domain).
    pub fn events(&self) -> &EventVerifier {
        &self.inner.events
    }

    /// Tells the sync engine there is work in the inbox or outbox.
    pub fn wake_engine(&self) {
        self.inner.wake_engine.notify_one();
    }

    /// Returns the login throttle.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.inner.throttle
    }
}
