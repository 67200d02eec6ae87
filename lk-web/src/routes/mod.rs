//! The cabinet's routes.

mod auth;
mod case;
pub use case::debtor_page;
mod documents;
mod events;
mod health;
mod password;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::error::WebError;
use crate::state::AppState;

/// The largest body of a form or event; uploads have their own limit.
const FORM_BODY_LIMIT: usize = 64 * 1024;

/// Multipart overhead allowed on top of the upload size limit.
const MULTIPART_OVERHEAD: usize = 64 * 1024;

/// Builds the router of every route, without state-independent layers.
pub fn routes(state: &AppState) -> Router<AppState> {
    let upload_limit = state
        .config()
        .web
        .max_upload_bytes()
        .saturating_add(MULTIPART_OVERHEAD);

    Router::new()
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/", get(case::home))
        .route("/payments", get(case::payments))
        .route("/statuses", get(case::statuses))
        .route("/debtor", get(case::debtor))
        .route("/password", get(password::form).post(password::change))
        .route("/documents", get(documents::page))
        .route(
            "/documents/{code}",
            post(documents::upload).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/b24/events", post(events::receive))
        .route("/healthz", get(health::healthz))
        .route("/static/style.css", get(stylesheet))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
}

async fn not_found() -> WebError {
    WebError::NotFound
}
