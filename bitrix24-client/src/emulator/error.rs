//! The emulator's error type.

use std::net::SocketAddr;

/// An error from the emulator's Rust API or its server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The server could not bind its listening socket.
    #[error("failed to bind the emulator to {addr}")]
    Bind {
        /// The address the emulator tried to listen on.
        addr: SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },

    /// The HTTP client used for outgoing webhooks could not be built.
    #[error("failed to build the HTTP client for outgoing webhooks")]
    HttpClient(#[source] reqwest::Error),

    /// A deal, invoice, contact, pipeline or file with this id does not exist.
    #[error("{entity} {id} not found in the emulator")]
    NotFound {
        /// The kind of record, e.g. "deal" or "smart invoice".
        entity: &'static str,
        /// The id that was looked up.
        id: u64,
    },

    /// A user field with this code is not defined on the portal.
    #[error("user field {0} is not defined; add it with Portal::add_user_field first")]
    UnknownField(String),

    /// A user field with this code already exists.
    #[error("user field {0} already exists")]
    DuplicateField(String),

    /// A stage id does not exist, or belongs to another pipeline than the one requested.
    #[error("stage {stage} does not exist in pipeline {category}")]
    UnknownStage {
        /// The stage id that was requested.
        stage: String,
        /// The pipeline (category) id it was looked up in.
        category: u64,
    },

    /// A value does not fit the type of the field it was written to.
    #[error("invalid value for field {field}: {reason}")]
    InvalidValue {
        /// The field code.
        field: String,
        /// What is wrong with the value.
        reason: String,
    },

    /// An enumeration field has no item with this label.
    #[error("enumeration field {field} has no item labelled {label:?}")]
    UnknownEnumItem {
        /// The field code.
        field: String,
        /// The label that was requested.
        label: String,
    },

    /// Outgoing webhooks cannot subscribe to this event in Bitrix24.
    #[error(
        "event {0} cannot be bound to an outgoing webhook (only applications receive it through event.bind)"
    )]
    EventNotOffered(String),

    /// A handler URL could not be parsed.
    #[error("invalid handler URL {url:?}")]
    InvalidHandlerUrl {
        /// The URL as given.
        url: String,
    },

    /// An option has a value the emulator cannot work with.
    #[error("invalid emulator option {option}: {reason}")]
    InvalidOption {
        /// The option name.
        option: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

/// The result type of the emulator's API.
pub type Result<T, E = EmulatorError> = std::result::Result<T, E>;
