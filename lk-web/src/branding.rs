//! Error pages with the firm's name and contacts.
//!
//! Handlers fail with [`crate::WebError`], and axum's own extractors reject
//! bad requests with short plain-text bodies. This middleware gives every
//! such page of the cabinet one look: the firm's header and footer, a
//! Russian message, and for a too-large upload the actual size limit.
//! Bitrix24's event endpoint and the health check keep their bare responses.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ErrorNotice;
use crate::pages::ErrorPage;
use crate::state::AppState;

/// Renders branded pages for error responses.
pub async fn brand_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let machine_route =
        request.uri().path().starts_with("/b24/") || request.uri().path() == "/healthz";
    let mut response = next.run(request).await;
    let notice = response.extensions_mut().remove::<ErrorNotice>();
    let status = response.status();
    if machine_route || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if notice.is_none() && !is_plain_text(&response) {
        return response;
    }

    let text = message_for(&state, status, notice);
    let html = ErrorPage::render_html(&state.config().branding, status, &text);
    let mut branded = (status, html).into_response();
    for name in [header::ALLOW, header::SET_COOKIE] {
        for value in response.headers().get_all(&name) {
            branded.headers_mut().append(&name, value.clone());
        }
    }
    branded
}

/// Returns whether a response body is plain text (axum's rejections) or empty.
fn is_plain_text(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_none_or(|value: &HeaderValue| value.as_bytes().starts_with(b"text/plain"))
}

fn message_for(state: &AppState, status: StatusCode, notice: Option<ErrorNotice>) -> String {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let limit = state.config().web.max_upload_megabytes;
        return format!(
            "Файл слишком большой: можно загрузить до {limit} МБ. Сожмите фотографию или загрузите документ по страницам."
        );
    }
    if let Some(ErrorNotice(text)) = notice {
        return text.to_owned();
    }
    match status {
        StatusCode::NOT_FOUND => "Такой страницы нет.",
        StatusCode::METHOD_NOT_ALLOWED => {
            "Эта страница открывается по-другому. Вернитесь на главную."
        }
        status if status.is_client_error() => {
            "Запрос не распознан. Обновите страницу и попробуйте ещё раз."
        }
        _ => "Что-то пошло не так. Попробуйте позже или позвоните нам.",
    }
    .to_owned()
}
