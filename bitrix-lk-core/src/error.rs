//! The crate's error type.

use std::time::Duration;

/// A boxed error from a lower layer (SQLite, the Bitrix24 client), kept as a source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in the core, its store and its ports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration file is not valid TOML or has an unknown key.
    #[error("invalid configuration: {message}")]
    ConfigSyntax {
        /// The TOML parser's message, with the line and the key.
        message: String,
    },

    /// A configuration value has the wrong form.
    #[error("invalid configuration value for `{key}`: expected {expected}")]
    ConfigValue {
        /// The dotted key, such as `fields.trigger`.
        key: String,
        /// The form the value must have.
        expected: String,
    },

    /// The local store failed.
    #[error("store operation `{operation}` failed")]
    Storage {
        /// The store operation, such as `create_account`.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// A write would break a uniqueness rule (a second account for a deal, a taken login).
    #[error("{what} already exists")]
    Conflict {
        /// The record that already exists.
        what: String,
    },

    /// Bitrix24 could not be reached or asked us to slow down; the call may succeed later.
    #[error("Bitrix24 is unavailable: {message}")]
    CrmUnavailable {
        /// The failure, without secrets.
        message: String,
        /// The wait Bitrix24 requested, when its response contains one.
        retry_after: Option<Duration>,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// Bitrix24 refused the call; repeating it unchanged will fail again.
    #[error("Bitrix24 rejected the request: {message}")]
    CrmRejected {
        /// Bitrix24's error message, without secrets.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },

    /// A record the operation needs does not exist.
    #[error("{what} not found")]
    NotFound {
        /// The missing record, such as `deal 42`.
        what: String,
    },

    /// Hashing or checking a password failed.
    #[error("password hashing failed: {message}")]
    PasswordHash {
        /// The hasher's error message.
        message: String,
    },

    /// Blocking work on the thread pool was cancelled or panicked.
    #[error("background task failed")]
    Task(#[source] BoxError),
}

impl Error {
    /// Returns whether repeating the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::CrmUnavailable { .. } | Error::Storage { .. } | Error::Task(_)
        )
    }

    /// Wraps a store failure of the named operation.
    pub fn storage(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Storage {
            operation,
            source: source.into(),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
