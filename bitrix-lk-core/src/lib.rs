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
//! - [`engine::SyncEngine`] keeps the store in step with Bitrix24: it drains
//!   the event inbox and the write-back outbox and runs the periodic resync.
//!
//! # Building a client's cabinet
//!
//! A page is a pure function of the snapshots, so the rules can be tried
//! without Bitrix24 or a database:
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use bitrix_lk_core::{
//!     Account, CabinetView, CategoryId, Deal, DealId, FieldCode, FieldValue, LkConfig, Login,
//!     PasswordHash, Pipeline, ReferralCode, Stage, StageId, StageSemantics,
//! };
//!
//! let config = LkConfig::from_toml_str("[pipeline]\ncategory_id = 7")?;
//! let stage = |id: &str, name: &str, sort, semantics| Stage {
//!     id: StageId::from(id),
//!     name: name.to_owned(),
//!     sort,
//!     semantics,
//! };
//! let pipeline = Pipeline {
//!     id: CategoryId(7),
//!     name: "Исполнение Юр. отдел".to_owned(),
//!     stages: vec![
//!         stage("C7:NEW", "Сбор документов", 10, StageSemantics::Process),
//!         stage("C7:COURT", "Подача в суд", 20, StageSemantics::Process),
//!         stage("C7:WON", "Завершение процедуры", 30, StageSemantics::Success),
//!     ],
//! };
//!
//! let mut fields = BTreeMap::new();
//! fields.insert(FieldCode::from("UF_CRM_1725026451112"), FieldValue::Text("150000|RUB".into()));
//! let deal = Deal {
//!     id: DealId(42),
//!     title: "Банкротство: Иванов Иван".to_owned(),
//!     category_id: CategoryId(7),
//!     stage_id: StageId::from("C7:COURT"),
//!     contact_id: None,
//!     modified_at: None,
//!     fields,
//! };
//! let now = jiff::Timestamp::now();
//! let account = Account {
//!     deal_id: DealId(42),
//!     login: Login::new("lk7h3kq9"),
//!     password_hash: PasswordHash(String::new()),
//!     referral_code: ReferralCode("K7M2X9QA".to_owned()),
//!     created_at: now,
//!     password_changed_at: now,
//!     last_login_at: None,
//! };
//!
//! let view = CabinetView::build(&deal, Some(&pipeline), &[], &account, &config);
//! assert_eq!(view.stage_text(), "Подача в суд");
//! assert_eq!(view.progress, 33);
//! assert_eq!(view.payments.contract.as_ref().map(|sum| sum.format_ru()).as_deref(), Some("150 000,00 ₽"));
//! assert!(!view.is_blocked());
//! # Ok::<(), bitrix_lk_core::Error>(())
//! ```

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
pub use store::{ClientCase, CreateAccount, NewSpooledFile, QueueStats, Store};
pub use sync::{
    ChangeNotice, InboxEvent, OutboxItem, OutboxState, Password, SpooledFile, WriteBack,
};
pub use view::{
    CabinetView, DebtorNotice, DocumentChecklist, DocumentRow, DocumentState, HttpUrl,
    NO_STATUS_TEXT, PaidInvoice, PaymentSummary, StageStep,
};
