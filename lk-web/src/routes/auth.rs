//! Login and logout.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Form, FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use bitrix_lk_core::{Login, WriteBack};
use jiff::Timestamp;
use serde::Deserialize;
use tracing::{info, warn};

use crate::error::WebError;
use crate::pages::{self, LoginPage, Nav};
use crate::session::{self, CurrentClient, random_token, tokens_match};
use crate::state::AppState;

/// The cookie holding the login form's CSRF token (double submit: the form
/// must carry the same value, which another site cannot read).
const LOGIN_CSRF_COOKIE: &str = "lk_login_csrf";

/// The one message for every failed login, so it tells nothing about which part was wrong.
const LOGIN_FAILED: &str = "Неверный логин или пароль.";

/// The login form's fields.
#[derive(Debug, Default, Deserialize)]
// A missing field reads as empty, so a form without `csrf` gets the 403 page
// and one without a login the usual message, not axum's plain-text 422.
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    login: String,
    password: String,
}

/// `GET /login`.
pub async fn login_form(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<Response, WebError> {
    let token = random_token();
    let page = LoginPage {
        nav: Nav::anonymous(&state.config().branding),
        csrf: token.clone(),
        login: String::new(),
        error: None,
    };
    let jar = jar.add(login_csrf_cookie(&state, token));
    Ok((jar, pages::render(&page)?).into_response())
}

/// `POST /login`: checks the password, starts a session and records the login time.
pub async fn login(
    State(state): State<AppState>,
    address: ClientAddress,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let expected = jar
        .get(LOGIN_CSRF_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .unwrap_or_default();
    if !tokens_match(&expected, &form.csrf) {
        return Err(WebError::Csrf);
    }

    let login = Login::new(&form.login);
    let _permit = state
        .throttle()
        .admit(&state, login.as_str(), &address.0)
        .await?;
    let account = state.store().account_by_login(&login).await?;
    let hash = account.as_ref().map(|account| &account.password_hash);
    let verified = state
        .provisioner()
        .hasher()
        .verify_or_dummy(hash, &form.password)
        .await?;

    let Some(account) = account.filter(|_| verified) else {
        warn!(address = %address.0, "login failed");
        state
            .throttle()
            .failed(&state, login.as_str(), &address.0)
            .await?;
        let page = LoginPage {
            nav: Nav::anonymous(&state.config().branding),
            csrf: expected,
            login: form.login.chars().take(100).collect(),
            error: Some(LOGIN_FAILED),
        };
        return Ok(pages::render(&page)?.into_response());
    };

    state.throttle().succeeded(&state, login.as_str()).await?;
    let cookie = session::start(&state, account.deal_id).await?;
    let now = Timestamp::now();
    let write = WriteBack::LastLogin {
        deal_id: account.deal_id,
        at: now,
    };
    state
        .store()
        .record_login(account.deal_id, now, &[write])
        .await?;
    state.wake_engine();
    info!(deal.id = %account.deal_id, "client logged in");

    let jar = jar.remove(Cookie::from(LOGIN_CSRF_COOKIE)).add(cookie);
    Ok((jar, Redirect::to("/")).into_response())
}

/// The logout form's fields.
#[derive(Debug, Default, Deserialize)]
// A missing field reads as empty, so a form without `csrf` gets the 403 page
// and one without a login the usual message, not axum's plain-text 422.
#[serde(default)]
pub struct LogoutForm {
    csrf: String,
}

/// `POST /logout`: ends the session.
pub async fn logout(
    State(state): State<AppState>,
    client: CurrentClient,
    jar: CookieJar,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    client.check_csrf(&form.csrf)?;
    state.store().delete_session(&client.session_id).await?;
    info!(deal.id = %client.deal_id, "client logged out");
    Ok((jar.add(session::removal(&state)), Redirect::to("/login")).into_response())
}

fn login_csrf_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, token))
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config().web.secure_cookies())
        .build()
}

/// The client's network address, for login throttling.
///
/// It is the TCP peer address; behind a reverse proxy every client shares the
/// proxy's address, so the per-address limit then acts for the proxy as a whole.
#[derive(Debug)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |info| info.0.ip().to_string());
        Ok(ClientAddress(address))
    }
}
