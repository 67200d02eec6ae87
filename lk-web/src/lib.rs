//! The client cabinet: an axum server that shows each client their
//! bankruptcy case from the firm's Bitrix24, and takes Bitrix24's events.
//!
//! - [`app`] builds the router from an [`AppState`]; tests drive it with
//!   `tower::ServiceExt::oneshot`, without a socket.
//! - [`server::run`] loads the configuration, opens the store, starts the
//!   core's sync engine in the background and serves.
//! - [`listen::serve`] is the accept loop, with a deadline for request headers.
//! - [`demo`] starts the Bitrix24 emulator with demo data and points the
//!   cabinet at it (`lk-web --demo`).
//!
//! Pages read only the local store; no page view calls Bitrix24.

mod branding;
mod error;
mod pages;
mod routes;
mod security;
mod session;
mod state;
mod throttle;
mod trace;
mod upload;
mod video;
mod view;

pub mod demo;
pub mod listen;
pub mod server;

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

pub use error::WebError;
pub use state::AppState;

/// How long a request body may send nothing before the request fails with
/// 400. A slow phone upload keeps sending, but a client that holds the
/// connection open with a stalled body does not.
pub const BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The maximum time a whole request may take before it fails with 408. It
/// leaves room for the largest upload over a slow mobile link (25 MB at about
/// 350 kbit/s).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// Builds the cabinet's router with its state, security headers, timeouts
/// and request tracing.
/// Serve it with [`listen::serve`], which bounds how long request headers
/// may take.
pub fn app(state: AppState) -> Router {
    let video = state
        .config()
        .statuses
        .video_url
        .as_ref()
        .and_then(|url| video::VideoEmbed::from_url(url.as_str()));
    let router = routes::routes(&state)
        .layer(RequestBodyTimeoutLayer::new(BODY_IDLE_TIMEOUT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ));
    let router = router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        branding::brand_errors,
    ));
    let router = security::with_headers(router, video.as_ref());
    trace::with_tracing(router).with_state(state)
}
