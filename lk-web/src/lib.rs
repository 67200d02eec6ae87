//! The client cabinet: an axum server that shows each client their
//! bankruptcy case from the firm's Bitrix24, and takes Bitrix24's events.
//!
//! - [`app`] builds the router from an [`AppState`]; tests drive it with
//!   `tower::ServiceExt::oneshot`, without a socket.
//! - [`server::run`] loads the configuration, opens the store, starts the
//!   core's sync engine in the background and serves.
//! - [`demo`] starts the Bitrix24 emulator with demo data and points the
//!   cabinet at it (`lk-web --demo`).
//!
//! Pages read only the local store; no page view calls Bitrix24.

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
pub mod server;

use axum::Router;

pub use error::WebError;
pub use state::AppState;

/// Builds the cabinet's router with its state, security headers and request tracing.
pub fn app(state: AppState) -> Router {
    let video = state
        .config()
        .statuses
        .video_url
        .as_ref()
        .and_then(|url| video::VideoEmbed::from_url(url.as_str()));
    let router = routes::routes(&state);
    let router = security::with_headers(router, video.as_ref());
    trace::with_tracing(router).with_state(state)
}
