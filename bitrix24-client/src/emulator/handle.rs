//! [`Emulator`]: starting, addressing and stopping the fake portal.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::data::PortalData;
use super::error::{EmulatorError, Result};
use super::events::{self, EventAuth, EventHub};
use super::limits::{LeakyBucket, OperatingMeter};
use super::log::RequestLog;
use super::options::EmulatorOptions;
use super::portal::Portal;
use super::seed;
use super::server;
use super::state::{Shared, SharedParts};

/// A running fake Bitrix24 portal on a loopback port.
///
/// ```no_run
/// # async fn demo() -> Result<(), bitrix24_client::emulator::EmulatorError> {
/// use bitrix24_client::emulator::{Emulator, EmulatorOptions, Seed};
///
/// let emulator = Emulator::start(EmulatorOptions::default().seed(Seed::Demo)).await?;
/// println!("REST: {}", emulator.webhook_url());
/// println!("staff panel: {}", emulator.staff_panel_url());
/// emulator.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Binds the listening socket, seeds the data and starts serving.
    ///
    /// Must be called inside a Tokio runtime. Returns once the socket is
    /// bound, so requests can be sent right away.
    pub async fn start(options: EmulatorOptions) -> Result<Emulator> {
        if options.webhooks.is_empty() {
            return Err(EmulatorError::InvalidOption {
                option: "webhooks",
                reason: "at least one incoming webhook is needed".to_owned(),
            });
        }
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| EmulatorError::Bind {
                    addr: options.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: options.listen,
                source,
            })?;
        let base_url = format!("http://{addr}");

        let (hub, queue) = EventHub::new(EventAuth {
            domain: options.domain.clone().unwrap_or_else(|| addr.to_string()),
            client_endpoint: format!("{base_url}/rest/"),
            server_endpoint: "https://oauth.bitrix.info/rest/".to_owned(),
            member_id: options.member_id.clone(),
        });
        let mut data = PortalData::fresh(options.offset);
        seed::apply(&mut data, options.seed)?;
        // Seeded records exist before any handler does, so they send no events.
        data.take_events();

        let shared = Arc::new(Shared::new(SharedParts {
            data,
            events: hub.clone(),
            limiter: LeakyBucket::new(options.rate_limit),
            operating: OperatingMeter::new(options.operating_limit),
            log: RequestLog::new(options.request_log_capacity),
            webhooks: options.webhooks.clone(),
            base_url,
            offset: options.offset,
            staff_fields: options.staff_fields.clone(),
            max_body_bytes: options.max_body_bytes,
        }));
        let worker = events::spawn_worker(hub, queue, options.delivery_timeout)?;

        let (shutdown, shutdown_rx) = watch::channel(false);
        let router = server::router(shared.clone(), options.max_body_bytes);
        let server = tokio::spawn(server::serve_loop(
            Some(listener),
            router,
            shared.clone(),
            addr,
            shutdown_rx,
        ));
        tracing::info!(%addr, "Bitrix24 emulator started");

        Ok(Emulator {
            shared,
            addr,
            shutdown,
            server,
            worker,
        })
    }

    /// Returns the address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Returns the first incoming webhook's URL, `http://127.0.0.1:PORT/rest/1/SECRET/`.
    ///
    /// The URL contains the webhook secret: treat it like one.
    pub fn webhook_url(&self) -> String {
        match self.shared.first_webhook() {
            Some(webhook) => format!(
                "{}/rest/{}/{}/",
                self.shared.base_url,
                webhook.user_id(),
                webhook.secret()
            ),
            None => format!("{}/rest/", self.shared.base_url),
        }
    }

    /// Returns the staff panel's URL (`/staff`).
    pub fn staff_panel_url(&self) -> String {
        format!("{}/staff", self.shared.base_url)
    }

    /// Returns the `auth[domain]` value events carry.
    pub fn domain(&self) -> String {
        self.shared.events.auth.domain.clone()
    }

    /// Returns the `auth[member_id]` value events carry.
    pub fn member_id(&self) -> String {
        self.shared.events.auth.member_id.clone()
    }

    /// Returns a handle to the portal's data, faults, limits, events and logs.
    pub fn portal(&self) -> Portal {
        Portal::new(self.shared.clone())
    }

    /// Waits until the server stops by itself (it only does when it fails to listen again after an outage).
    pub async fn wait(&mut self) {
        let _ = (&mut self.server).await;
    }

    /// Stops serving and stops delivering events; queued deliveries are abandoned.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        self.worker.abort();
        self.shared.events.abandon();
        tracing::info!(addr = %self.addr, "Bitrix24 emulator stopped");
    }
}
