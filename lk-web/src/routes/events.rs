//! `POST /b24/events`: Bitrix24's outgoing webhooks.
//!
//! The handler checks the application token, stores the event in the
//! durable inbox and answers 200 at once; the sync engine does the rest.
//! Bitrix24 never resends an event, so the answer must be fast and the
//! event safe on disk before it is given.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use bitrix24_client::Error as ClientError;
use bitrix24_client::lk::change_notice;
use jiff::Timestamp;
use tracing::{info, warn};

use crate::error::WebError;
use crate::state::AppState;

/// Takes one event.
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, WebError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let event = match state.events().parse_verified(content_type, &body) {
        Ok(event) => event,
        Err(ClientError::UntrustedEvent) => {
            warn!(
                size = body.len(),
                "event rejected: unknown application token or portal"
            );
            return Ok(StatusCode::UNAUTHORIZED);
        }
        Err(error) => {
            warn!(size = body.len(), error = %error, "event rejected: malformed body");
            return Ok(StatusCode::BAD_REQUEST);
        }
    };

    let Some(notice) = change_notice(&event) else {
        info!(event = %event.name, "event ignored: not about deals or invoices");
        return Ok(StatusCode::OK);
    };
    let id = state
        .store()
        .inbox_push(notice, &event.name, event.sent_at, Timestamp::now())
        .await?;
    state.wake_engine();
    info!(event = %event.name, inbox.id = %id, ?notice, "event stored");
    Ok(StatusCode::OK)
}
