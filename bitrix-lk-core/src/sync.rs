//! Durable records of the sync machinery: the event inbox, the write-back
//! outbox and the upload spool.

use std::fmt;

use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::account::{Login, ReferralCode};
use crate::ids::{DealId, FieldCode, InboxId, InvoiceId, OutboxId, SpoolId};

/// What an incoming Bitrix24 event says changed. Events carry ids only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeNotice {
    /// A deal was added or updated (`ONCRMDEALADD`, `ONCRMDEALUPDATE`).
    DealChanged {
        /// The deal.
        deal_id: DealId,
    },
    /// A deal was deleted (`ONCRMDEALDELETE`).
    DealDeleted {
        /// The deal.
        deal_id: DealId,
    },
    /// An invoice was added, updated or changed status.
    InvoiceChanged {
        /// The invoice.
        invoice_id: InvoiceId,
    },
    /// An invoice was deleted.
    InvoiceDeleted {
        /// The invoice.
        invoice_id: InvoiceId,
    },
}

/// An event stored in the inbox, waiting for the sync engine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxEvent {
    /// The inbox record id.
    pub id: InboxId,
    /// What changed.
    pub notice: ChangeNotice,
    /// The Bitrix24 event name, for logs and `lk-cli events list`.
    pub event_name: String,
    /// The `ts` of the event (Unix seconds when the portal's queue sent it), if present.
    pub sent_at: Option<Timestamp>,
    /// When the cabinet stored the event.
    pub received_at: Timestamp,
    /// How many times processing was tried.
    pub attempts: u32,
    /// The last processing error, if any.
    pub last_error: Option<String>,
}

/// A write to Bitrix24 the cabinet owes, kept until Bitrix24 confirms it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WriteBack {
    /// Write the login and password into the deal fields staff read.
    Credentials {
        /// The deal.
        deal_id: DealId,
        /// The login.
        login: Login,
        /// The plain password; kept only until the write succeeds.
        password: Password,
    },
    /// Write the time of the client's last login (Moscow time).
    LastLogin {
        /// The deal.
        deal_id: DealId,
        /// When the client logged in.
        at: Timestamp,
    },
    /// Write the client's referral code into the configured deal field.
    ReferralCode {
        /// The deal.
        deal_id: DealId,
        /// The code.
        code: ReferralCode,
    },
    /// Attach an uploaded document to a file field, keeping the files already there.
    Document {
        /// The deal.
        deal_id: DealId,
        /// The file field.
        field: FieldCode,
        /// The spooled file.
        spool_id: SpoolId,
    },
}

impl WriteBack {
    /// Returns the deal the write goes to.
    pub fn deal_id(&self) -> DealId {
        match self {
            WriteBack::Credentials { deal_id, .. }
            | WriteBack::LastLogin { deal_id, .. }
            | WriteBack::ReferralCode { deal_id, .. }
            | WriteBack::Document { deal_id, .. } => *deal_id,
        }
    }

    /// Returns a short name of the write kind, for logs and listings.
    pub fn kind_name(&self) -> &'static str {
        match self {
            WriteBack::Credentials { .. } => "credentials",
            WriteBack::LastLogin { .. } => "last_login",
            WriteBack::ReferralCode { .. } => "referral_code",
            WriteBack::Document { .. } => "document",
        }
    }
}

/// A plain password on its way to the client. `Debug` hides it; it serializes
/// as the plain string because the outbox must survive a restart.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a plain password.
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// Returns the plain password, for hashing and for the write to Bitrix24 only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Serialize for Password {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Password::new)
    }
}

/// The state of an outbox record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its next attempt.
    Pending,
    /// Bitrix24 confirmed the write.
    Done,
    /// Failed too often or permanently; kept with its error for an administrator.
    Parked,
}

/// An outbox record: a write-back with its delivery bookkeeping.
#[derive(Clone, Debug)]
pub struct OutboxItem {
    /// The record id.
    pub id: OutboxId,
    /// The write to perform.
    pub write: WriteBack,
    /// The record state.
    pub state: OutboxState,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// The last error, if any attempt failed.
    pub last_error: Option<String>,
    /// When the record was created.
    pub created_at: Timestamp,
}

/// An uploaded file held until Bitrix24 has it.
#[derive(Clone)]
pub struct SpooledFile {
    /// The spool id.
    pub id: SpoolId,
    /// The deal the file goes to.
    pub deal_id: DealId,
    /// The file field it goes into.
    pub field: FieldCode,
    /// The file name to give Bitrix24 (already sanitised).
    pub file_name: String,
    /// The detected content type.
    pub content_type: String,
    /// The file contents.
    pub bytes: Vec<u8>,
    /// When the client uploaded it.
    pub uploaded_at: Timestamp,
}

impl fmt::Debug for SpooledFile {
    // Document contents are personal data: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpooledFile")
            .field("id", &self.id)
            .field("deal_id", &self.deal_id)
            .field("field", &self.field)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish_non_exhaustive()
    }
}
