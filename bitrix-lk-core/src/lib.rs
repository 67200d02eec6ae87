//! The domain of a client cabinet for a bankruptcy law firm whose cases live
//! in Bitrix24 deals.
//!
//! This crate holds every business rule and no network code:
//!
//! - [`LkConfig`] is everything firm-specific (field codes, the documents,
//!   the pipeline, texts), loaded from TOML with the firm's defaults built in.
//! - [`Deal`], [`Pipeline`], [`Invoice`] and [`Account`] are the snapshots the
//!   cabinet keeps; [`FieldValue`] is a decoded user-field value.
//! - [`CabinetView`] is a pure function of those snapshots giving everything a
//!   page shows: stage icons and progress, documents, payments, blocking.
//! - [`Crm`] and [`Store`] are the ports to Bitrix24 and to the cabinet's own
//!   storage; [`store::sqlite::SqliteStore`] is the SQLite store and [`fakes`]
//!   has in-memory versions of both for tests.
//! - [`Provisioner`] creates exactly one account per deal and queues the
//!   credentials for Bitrix24 through the outbox.

#![deny(missing_docs)]

mod account;
mod config;
mod credentials;
mod crm;
mod deal;
mod error;
mod field;
mod ids;
mod invoice;
mod money;
mod pipeline;
mod provisioning;
mod session;
mod sync;
mod view;

pub mod engine;
pub mod fakes;
pub mod store;

pub use account::{Account, Login, PasswordHash, ReferralCode};
pub use config::{
    AccountsConfig, Bitrix24Config, BrandingConfig, DocumentConfig, ENV_APPLICATION_TOKENS,
    ENV_WEBHOOK_URL, FieldsConfig, InvoiceLinkage, InvoiceSource, InvoicesConfig, LkConfig,
    PipelineConfig, StatusesConfig, StoreConfig, SyncConfig, TriggerConfig, WebConfig,
};
pub use credentials::{Argon2Hasher, CredentialGenerator, HashParams};
pub use crm::{Crm, DealFilter, DealPage, FieldWrite, InvoicePage};
pub use deal::Deal;
pub use error::{BoxError, Error, Result};
pub use field::{FieldKind, FieldMeta, FieldValue, FileRef};
pub use ids::{
    CategoryId, ContactId, DealId, FieldCode, FileId, InboxId, InvoiceId, InvoiceKind, OutboxId,
    SpoolId, StageId,
};
pub use invoice::{Invoice, InvoiceStatus};
pub use money::{Currency, Money};
pub use pipeline::{IconState, Pipeline, Stage, StageSemantics};
pub use provisioning::{
    MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, PasswordChange, PasswordRule, ProvisionOutcome,
    Provisioner,
};
pub use session::{Session, SessionId};
pub use store::{CreateAccount, NewSpooledFile, QueueStats, Store};
pub use sync::{
    ChangeNotice, InboxEvent, OutboxItem, OutboxState, Password, SpooledFile, WriteBack,
};
pub use view::{
    CabinetView, DebtorNotice, DocumentChecklist, DocumentRow, DocumentState, HttpUrl,
    NO_STATUS_TEXT, PaidInvoice, PaymentSummary, StageStep,
};
