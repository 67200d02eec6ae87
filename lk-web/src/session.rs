//! Login sessions: the cookie, the extractor that requires one, and CSRF.
//!
//! Sessions live in the store, found by a random id carried in an HttpOnly,
//! SameSite=Lax cookie (Lax so that a link from a messenger lands logged in).
//! Each session has its own CSRF token, put into every form; several tabs
//! share it, so they all keep working.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use bitrix_lk_core::{DealId, Session, SessionId};
use jiff::Timestamp;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::error::WebError;
use crate::state::AppState;

/// The session cookie's name over plain HTTP (tests, loopback demos).
const COOKIE_PLAIN: &str = "lk_session";
/// The session cookie's name behind HTTPS; the `__Host-` prefix makes
/// browsers refuse it unless it is Secure, host-only and for path `/`.
const COOKIE_SECURE: &str = "__Host-lk_session";

/// The logged-in client of a request. Handlers that take it are reachable
/// only with a valid session; others are redirected to the login page.
#[derive(Clone, Debug)]
pub struct CurrentClient {
    /// The client's deal: the only deal this request may show.
    pub deal_id: DealId,
    /// The session's id, for logout.
    pub session_id: SessionId,
    /// The session's CSRF token, for forms.
    pub csrf: SecretString,
}

impl CurrentClient {
    /// Checks a submitted CSRF token against the session's, in constant time.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        let expected = self.csrf.expose_secret().as_bytes();
        if bool::from(expected.ct_eq(submitted.as_bytes())) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }

    /// Returns the CSRF token for a hidden form field.
    pub fn csrf_token(&self) -> &str {
        self.csrf.expose_secret()
    }
}

impl FromRequestParts<AppState> for CurrentClient {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(id) = cookie_session(parts, state) else {
            return Err(to_login());
        };

        let session = state.store().session(&id, Timestamp::now()).await;
        match session {
            Ok(Some(session)) => Ok(CurrentClient::from(session)),
            Ok(None) => Err(to_login()),
            Err(error) => Err(WebError::from(error).into_response()),
        }
    }
}

impl From<Session> for CurrentClient {
    fn from(session: Session) -> Self {
        CurrentClient {
            deal_id: session.deal_id,
            session_id: session.id,
            csrf: session.csrf_token,
        }
    }
}

/// Returns the session id the request's cookie carries, if any.
pub fn cookie_session(parts: &Parts, state: &AppState) -> Option<SessionId> {
    let jar = CookieJar::from_headers(&parts.headers);
    jar.get(cookie_name(state))
        .map(|cookie| SessionId::new(cookie.value().to_owned()))
}

/// Returns the redirect to the login page, for a request without a valid
/// session.
pub fn to_login() -> Response {
    Redirect::to("/login").into_response()
}

/// Creates a fresh session for a deal and returns the cookie that carries it.
///
/// A new random id every time, whatever cookie the request had, so a session
/// id planted before login is never promoted (session fixation).
pub async fn start(state: &AppState, deal_id: DealId) -> Result<Cookie<'static>, WebError> {
    let now = Timestamp::now();
    let lifetime = jiff::SignedDuration::try_from(state.config().web.session_duration())
        .map_err(|error| WebError::Internal(error.into()))?;
    let session = Session {
        id: SessionId::new(random_token()),
        deal_id,
        csrf_token: SecretString::from(random_token()),
        created_at: now,
        expires_at: now
            .saturating_add(lifetime)
            .map_err(|error| WebError::Internal(error.into()))?,
    };
    state.store().create_session(&session).await?;

    let max_age = cookie::time::Duration::seconds(lifetime.as_secs());
    let cookie = Cookie::build((cookie_name(state), session.id.expose().to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config().web.secure_cookies())
        .max_age(max_age)
        .build();
    Ok(cookie)
}

/// Returns a cookie that removes the session cookie.
pub fn removal(state: &AppState) -> Cookie<'static> {
    Cookie::build((cookie_name(state), ""))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config().web.secure_cookies())
        .max_age(cookie::time::Duration::ZERO)
        .build()
}

/// Returns 32 random bytes as hex, from the thread-local CSPRNG (ChaCha,
/// seeded and periodically reseeded from the operating system).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn cookie_name(state: &AppState) -> &'static str {
    if state.config().web.secure_cookies() {
        COOKIE_SECURE
    } else {
        COOKIE_PLAIN
    }
}

/// Compares two tokens in constant time.
pub fn tokens_match(expected: &str, submitted: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(submitted.as_bytes()))
}
