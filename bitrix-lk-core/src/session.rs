//! Server-side login sessions.

use std::fmt;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};

use crate::ids::DealId;

/// A logged-in client's session, kept in the store and found by its id.
#[derive(Clone, Debug)]
pub struct Session {
    /// The random session id carried by the cookie. Secret.
    pub id: SessionId,
    /// The deal of the account that logged in.
    pub deal_id: DealId,
    /// The per-session CSRF token put into every form. Secret.
    pub csrf_token: SecretString,
    /// When the session was created.
    pub created_at: Timestamp,
    /// When the session stops being valid.
    pub expires_at: Timestamp,
}

/// A session id. Its `Debug` and `Display` never show the value.
#[derive(Clone)]
pub struct SessionId(SecretString);

impl SessionId {
    /// Wraps a session id taken from a cookie or freshly generated.
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// Returns the raw id, for the cookie and the store lookup only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}
