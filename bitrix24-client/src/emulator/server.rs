//! The HTTP side: the webhook path, the pages a browser would get for
//! browser-only URLs, the staff panel, and the accept loop that can close
//! its socket to emulate a portal that refuses connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::envelope::{ApiError, Success};
use super::faults::{self, Fault, MAX_HANG, Outage, OutageState};
use super::log::Entry;
use super::methods::{self, CallResult, Ctx, FileAnswer, Outcome};
use super::options::WebhookCredentials;
use super::params::{self, KeyOrder, Params};
use super::php_form;
use super::staff;
use super::state::{Shared, lock};

/// Builds the router of the whole emulator.
pub(crate) fn router(shared: Arc<Shared>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/staff") }))
        .route("/rest/{user}/{secret}/{method}", any(rest))
        .route("/rest/{method}", any(rest_without_credentials))
        .route(
            "/bitrix/components/bitrix/crm.deal.show/show_file.php",
            any(login_page),
        )
        .route("/bitrix/services/main/ajax.php", any(login_page))
        .merge(staff::router())
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(shared)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn html_response(status: StatusCode, page: &'static str) -> Response {
    (status, Html(page)).into_response()
}

/// A REST call without `/{user}/{secret}/` in the path.
async fn rest_without_credentials(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.log).counters.requests += 1;
    json_response(StatusCode::UNAUTHORIZED, &ApiError::no_auth().body())
}

/// The page a browser-only URL shows a program: the portal's login form, not the file.
async fn login_page() -> Response {
    html_response(StatusCode::OK, LOGIN_PAGE)
}

const LOGIN_PAGE: &str = "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Авторизация</title></head><body><form method=\"post\" action=\"/auth/\"><h1>Авторизация</h1><p>Войдите, чтобы продолжить.</p><input name=\"USER_LOGIN\"><input name=\"USER_PASSWORD\" type=\"password\"><button>Войти</button></form></body></html>";

/// One request to `/rest/{user}/{secret}/{method}`.
async fn rest(
    State(shared): State<Arc<Shared>>,
    Path((user, secret, raw_method)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let method = methods::normalize_name(&raw_method);
    let arrived = Timestamp::now();
    lock(&shared.log).counters.requests += 1;

    if shared.outage.borrow().active(Instant::now()) == Some(Outage::ServiceUnavailable) {
        lock(&shared.log).counters.faults += 1;
        return html_response(StatusCode::SERVICE_UNAVAILABLE, faults::UNAVAILABLE_HTML);
    }
    if !lock(&shared.limiter).admit(Instant::now()) {
        lock(&shared.log).counters.rate_limited += 1;
        let error = ApiError::query_limit();
        record(&shared, &method, &Map::new(), &error, arrived, None);
        return json_response(error.status, &error.body());
    }
    let Some(webhook) = shared.webhook(&user, &secret) else {
        let error = ApiError::invalid_credentials();
        record(&shared, &method, &Map::new(), &error, arrived, None);
        return json_response(error.status, &error.body());
    };

    let fault = lock(&shared.faults).take(&method);
    match fault {
        Some(Fault::ServerError) => {
            lock(&shared.log).counters.faults += 1;
            return json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &ApiError::core_error().body(),
            );
        }
        Some(Fault::BadGateway) => {
            lock(&shared.log).counters.faults += 1;
            return html_response(StatusCode::BAD_GATEWAY, faults::BAD_GATEWAY_HTML);
        }
        Some(Fault::Hang(delay)) => {
            lock(&shared.log).counters.faults += 1;
            tokio::time::sleep(delay.min(MAX_HANG)).await;
        }
        Some(Fault::ServerErrorAfterExecution) => {
            lock(&shared.log).counters.faults += 1;
        }
        None => {}
    }

    let params = match read_params(request, shared.max_body_bytes).await {
        Ok(params) => params,
        Err(error) => {
            record(
                &shared,
                &method,
                &Map::new(),
                &error,
                arrived,
                Some(webhook.user_id()),
            );
            return json_response(error.status, &error.body());
        }
    };

    let result = execute(&shared, &webhook, &method, &params);
    if fault == Some(Fault::ServerErrorAfterExecution) {
        return json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &ApiError::core_error().body(),
        );
    }
    respond(
        &shared,
        &method,
        &params,
        result,
        arrived,
        webhook.user_id(),
    )
}

fn execute(
    shared: &Shared,
    webhook: &WebhookCredentials,
    method: &str,
    params: &Params,
) -> CallResult {
    shared.mutate(|data| {
        let mut ctx = Ctx {
            data,
            shared,
            webhook,
        };
        methods::call(&mut ctx, method, params, false)
    })
}

fn respond(
    shared: &Shared,
    method: &str,
    params: &Params,
    result: CallResult,
    arrived: Timestamp,
    user: u64,
) -> Response {
    match result.outcome {
        Ok(Outcome::Json(success)) => {
            log_ok(shared, method, params, arrived, user);
            let operating = result.operating.unwrap_or_default();
            let time = result.timing.render(shared.offset, Some(operating));
            json_response(StatusCode::OK, &Success::into_body(success, time))
        }
        Ok(Outcome::File(file)) => {
            log_ok(shared, method, params, arrived, user);
            file_response(file)
        }
        Err(error) => {
            record(shared, method, &params.map, &error, arrived, Some(user));
            json_response(error.status, &error.body())
        }
    }
}

fn log_ok(shared: &Shared, method: &str, params: &Params, arrived: Timestamp, user: u64) {
    lock(&shared.log).record(Entry {
        method,
        params: &params.map,
        status: 200,
        error: None,
        at: arrived,
        in_batch: false,
        webhook_user: Some(user),
    });
}

fn record(
    shared: &Shared,
    method: &str,
    params: &Map<String, Value>,
    error: &ApiError,
    arrived: Timestamp,
    user: Option<u64>,
) {
    lock(&shared.log).record(Entry {
        method,
        params,
        status: error.status.as_u16(),
        error: Some(&error.code),
        at: arrived,
        in_batch: false,
        webhook_user: user,
    });
}

fn file_response(file: FileAnswer) -> Response {
    let content_type = content_type(&file.name);
    let ascii_name: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{}",
        php_form::php_urlencode(&file.name).replace('+', "%20")
    );
    let mut response = Response::new(Body::from(file.bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Guesses a content type from a file name.
pub(crate) fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "heic" => "image/heic",
        "txt" => "text/plain; charset=utf-8",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

/// Reads the parameters: the query string, then the body (JSON, form or multipart) on top.
async fn read_params(request: Request, max_body_bytes: usize) -> Result<Params, ApiError> {
    let (mut params, mut order) = request
        .uri()
        .query()
        .map(php_form::decode_ordered)
        .unwrap_or_default();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();

    let body = if content_type.starts_with("multipart/form-data") {
        read_multipart(request).await?
    } else {
        let bytes = to_bytes(request.into_body(), max_body_bytes)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "INVALID_REQUEST",
                    "Request body is too large",
                )
            })?;
        parse_body(&content_type, &bytes)?
    };
    params.extend(body.0);
    order.extend(body.1);
    Ok(Params::new(params, order))
}

fn parse_body(
    content_type: &str,
    bytes: &[u8],
) -> Result<(Map<String, Value>, KeyOrder), ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Default::default());
    }
    if content_type.starts_with("application/json") {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|err| ApiError::invalid_request(format!("Invalid JSON body: {err}")))?;
        return match php_form::normalize_json(value) {
            Value::Object(map) => Ok((map, params::json_key_order(bytes))),
            _ => Err(ApiError::invalid_request("The JSON body must be an object")),
        };
    }
    let text = String::from_utf8_lossy(bytes);
    Ok(php_form::decode_ordered(&text))
}

async fn read_multipart(request: Request) -> Result<(Map<String, Value>, KeyOrder), ApiError> {
    let invalid = |text: String| ApiError::invalid_request(text);
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|err| invalid(format!("Invalid multipart body: {err}")))?;
    let mut pairs = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|err| invalid(format!("Invalid multipart body: {err}")))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let value = field
            .text()
            .await
            .map_err(|err| invalid(format!("Invalid multipart field: {err}")))?;
        pairs.push((name, value));
    }
    Ok(php_form::decode_pairs(
        pairs.iter().map(|(k, v)| (k.as_str(), v.clone())),
    ))
}

/// Serves until `shutdown` turns true, closing the socket while a
/// [`Outage::Refused`] is in force and binding the same address again after it.
pub(crate) async fn serve_loop(
    mut listener: Option<TcpListener>,
    router: Router,
    shared: Arc<Shared>,
    addr: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut outage = shared.outage.subscribe();
    loop {
        let current = match listener.take() {
            Some(listener) => listener,
            None => match TcpListener::bind(addr).await {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::error!(%addr, error = %err, "emulator failed to listen again after an outage");
                    return;
                }
            },
        };

        shared.serving.send_replace(true);
        let stop_shutdown = shutdown.clone();
        let stop_outage = outage.clone();
        let stop = async move { wait_for_stop(stop_shutdown, stop_outage).await };
        if let Err(err) = axum::serve(current, router.clone())
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(%addr, error = %err, "emulator server failed");
            return;
        }
        shared.serving.send_replace(false);
        if *shutdown.borrow() {
            return;
        }

        tracing::info!(%addr, "emulator refuses connections until the outage ends");
        wait_until_up(&mut shutdown, &mut outage).await;
        if *shutdown.borrow() {
            return;
        }
    }
}

async fn wait_for_stop(
    mut shutdown: watch::Receiver<bool>,
    mut outage: watch::Receiver<OutageState>,
) {
    loop {
        if *shutdown.borrow() || outage.borrow().active(Instant::now()) == Some(Outage::Refused) {
            return;
        }
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() { return },
            changed = outage.changed() => if changed.is_err() { return },
        }
    }
}

async fn wait_until_up(
    shutdown: &mut watch::Receiver<bool>,
    outage: &mut watch::Receiver<OutageState>,
) {
    loop {
        let state = *outage.borrow();
        if *shutdown.borrow() || state.active(Instant::now()) != Some(Outage::Refused) {
            return;
        }
        let deadline = state.until.map(tokio::time::Instant::from_std);
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() { return },
            changed = outage.changed() => if changed.is_err() { return },
            () = sleep_until(deadline) => {}
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
