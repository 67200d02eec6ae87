//! The web layer's error type and how each error becomes a response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing::error;

/// A failed request, by HTTP outcome.
///
/// Internal details stay in the log; the client sees a short Russian page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The request is malformed (400).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The form's CSRF token is missing or wrong (403).
    #[error("CSRF token missing or invalid")]
    Csrf,
    /// The addressed thing does not exist for this client (404).
    #[error("not found")]
    NotFound,
    /// The upload is larger than allowed (413).
    #[error("upload too large")]
    TooLarge,
    /// Something inside failed (500); the source is logged, never shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<bitrix_lk_core::Error> for WebError {
    fn from(error: bitrix_lk_core::Error) -> Self {
        WebError::Internal(error.into())
    }
}

impl From<askama::Error> for WebError {
    fn from(error: askama::Error) -> Self {
        WebError::Internal(error.into())
    }
}

/// The client-facing text of an error response, left in the response's
/// extensions for [`crate::branding::brand_errors`] to render with the firm's
/// name and contacts.
#[derive(Clone, Debug)]
pub struct ErrorNotice(pub &'static str);

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, text) = match &self {
            WebError::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "Запрос не распознан. Обновите страницу и попробуйте ещё раз.",
            ),
            WebError::Csrf => (
                StatusCode::FORBIDDEN,
                "Форма устарела. Обновите страницу и отправьте её ещё раз.",
            ),
            WebError::NotFound => (StatusCode::NOT_FOUND, "Такой страницы нет."),
            WebError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Файл слишком большой."),
            WebError::Internal(source) => {
                error!(error = format!("{source:#}"), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Что-то пошло не так. Попробуйте позже или позвоните нам.",
                )
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorNotice(text));
        response
    }
}
