//! `GET /healthz`: liveness and queue sizes for monitoring.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::state::AppState;

/// The health report.
#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    inbox_pending: u64,
    outbox_pending: u64,
    outbox_parked: u64,
    spooled_files: u64,
}

/// Answers 200 with queue sizes when the store answers, 503 otherwise.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store().queue_stats().await {
        Ok(stats) => Json(Health {
            status: "ok",
            inbox_pending: stats.inbox_pending,
            outbox_pending: stats.outbox_pending,
            outbox_parked: stats.outbox_parked,
            spooled_files: stats.spooled_files,
        })
        .into_response(),
        Err(error) => {
            tracing::error!(error = %error, "health check: store failed");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable").into_response()
        }
    }
}
