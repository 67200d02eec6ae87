//! Client accounts: logins, password hashes and referral codes.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::ids::DealId;

/// A client's cabinet account; exactly one per deal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The deal the account belongs to; the account sees this deal only.
    pub deal_id: DealId,
    /// The login staff hand to the client.
    pub login: Login,
    /// The argon2id hash of the current password, in PHC string form.
    pub password_hash: PasswordHash,
    /// The client's own referral code (код рекомендателя).
    pub referral_code: ReferralCode,
    /// When the account was created.
    pub created_at: Timestamp,
    /// When the password was last set (by creation, reset or the client).
    pub password_changed_at: Timestamp,
    /// When the client last logged in.
    pub last_login_at: Option<Timestamp>,
}

/// A cabinet login, stored and compared in lower case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Login(String);

impl Login {
    /// Builds a login from user input: trimmed and lower-cased.
    pub fn new(raw: &str) -> Self {
        Self(raw.trim().to_lowercase())
    }

    /// Returns the login as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An argon2id password hash in PHC string form. Its `Debug` hides the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(pub String);

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

/// A client's referral code (код рекомендателя), unique across accounts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReferralCode(pub String);

impl ReferralCode {
    /// Returns the code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
