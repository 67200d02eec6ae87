//! The HTTP/1.1 accept loop, with a deadline for request headers.
//!
//! `axum::serve` gives hyper no timer, so a client could open many
//! connections and send a header line every few minutes (slowloris), holding
//! a task and a socket each for as long as it likes. This loop runs hyper
//! with a timer and a header read deadline: a connection that has not sent a
//! complete request head in time is closed, whether it is new or an idle
//! keep-alive connection waiting for its next request.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use tracing::{debug, warn};

/// How long a client may take to send a complete request head, and how long
/// an idle keep-alive connection stays open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to pause accepting after the process ran out of file descriptors
/// or another resource, so the loop does not spin while the shortage lasts.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Serves `router` on `listener` until `shutdown` completes, then waits for
/// the open connections to finish their current requests.
///
/// Handlers can read the peer address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let router = router.clone();
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    router.clone().oneshot(request.map(Body::new))
                });
                let io = TokioIo::new(stream_with_nodelay(stream));
                let connection = graceful.watch(http.serve_connection(io, service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        debug!(%peer, %error, "connection ended with an error");
                    }
                });
            }
            Err(error) if is_per_connection(&error) => {
                debug!(%error, "a connection failed before it was accepted");
            }
            Err(error) => {
                warn!(%error, "failed to accept a connection, pausing");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
            }
        }
    }

    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Turns off Nagle's algorithm: pages are written in one piece, and waiting
/// for an acknowledgement before the last segment only adds latency.
fn stream_with_nodelay(stream: TcpStream) -> TcpStream {
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "failed to set TCP_NODELAY");
    }
    stream
}

/// Returns whether an accept error concerns one connection only (the peer
/// gave up during the handshake), so the next accept can follow at once.
fn is_per_connection(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}
