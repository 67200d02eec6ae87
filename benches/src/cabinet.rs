//! The cabinet in this process: lk-web's router and its background sync
//! engine (`lk_web::server::serve`) on a loopback port, over a fresh store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bitrix_lk_core::{LkConfig, Store};
use bitrix24_client::emulator::{Counters, Portal};
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::fixture;

/// A cabinet served in this process, stopped by [`InProcessCabinet::stop`].
pub struct InProcessCabinet {
    /// The listening address.
    pub address: SocketAddr,
    /// Its store.
    pub store: Arc<dyn Store>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl std::fmt::Debug for InProcessCabinet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessCabinet")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl InProcessCabinet {
    /// Binds a loopback port, for handler URLs needed before the configuration.
    pub async fn bind() -> anyhow::Result<TcpListener> {
        Ok(TcpListener::bind("127.0.0.1:0").await?)
    }

    /// Serves the cabinet on `listener`, waits for the sync engine's start-up
    /// full resync and until everything it caused is done; returns the
    /// portal's counters then.
    pub async fn start(
        config: LkConfig,
        listener: TcpListener,
        portal: &Portal,
    ) -> anyhow::Result<(InProcessCabinet, Counters)> {
        let address = listener.local_addr()?;
        let cabinet =
            lk_web::server::assemble(Arc::new(config)).context("failed to assemble the cabinet")?;
        let store = cabinet.store.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let started_at = Timestamp::now();
        let server = tokio::spawn(lk_web::server::serve(cabinet, listener, async {
            let _ = stopped.await;
        }));

        fixture::wait_for_resync(store.as_ref(), started_at, Duration::from_secs(120)).await?;
        let counters = fixture::wait_until_quiet(
            portal,
            store.as_ref(),
            Duration::from_secs(2),
            Duration::from_secs(120),
        )
        .await?;
        Ok((
            InProcessCabinet {
                address,
                store,
                stop,
                server,
            },
            counters,
        ))
    }

    /// Stops the server and the engine and waits for both.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.server.await.context("the cabinet server panicked")?
    }
}
