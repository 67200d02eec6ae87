//! A typed Bitrix24 REST client for incoming webhooks, with outgoing-webhook
//! event parsing and the adapter that serves the cabinet's core.
//!
//! # Calling the portal
//!
//! A [`Client`] is built from the incoming-webhook URL
//! (`https://PORTAL/rest/USER_ID/SECRET/`). It sends every call as a JSON
//! POST and keeps the secret out of logs, errors and `Debug`. It stays under
//! the portal's limits with a leaky bucket shared by all clones (2 requests
//! per second, burst 50, or [`RateLimit::ENTERPRISE`]) and a per-method model
//! of the server-time budget that slows down before `OPERATION_TIME_LIMIT`.
//! Reads are retried with backoff; writes only when repeating is harmless.
//!
//! ```no_run
//! # async fn run() -> bitrix24_client::Result<()> {
//! use bitrix24_client::Client;
//! use bitrix_lk_core::DealId;
//!
//! let client = Client::new("https://example.bitrix24.ru/rest/1/secret/")?;
//! let deal = client.deals().get(DealId(410)).await?;
//! println!("{:?} is in stage {:?}", deal.title, deal.stage_id);
//! # Ok(()) }
//! ```
//!
//! Any other method goes through [`Client::call`], decoding `result` into any
//! type. Failures are one [`Error`] enum that keeps apart the portal's refusal
//! ([`Error::Api`], with [`Error::is_not_found`] for both spellings of "not
//! found"), rate and time limits, webhook problems, transport errors, non-JSON
//! responses and decode errors that name the JSON path.
//!
//! ```no_run
//! # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
//! use bitrix24_client::Error;
//! use serde_json::{json, Value};
//!
//! match client.call::<Value>("crm.deal.get", &json!({"id": 999})).await {
//!     Ok(deal) => println!("{deal}"),
//!     Err(error) if error.is_not_found() => println!("no such deal"),
//!     Err(error @ Error::RateLimited { .. }) => println!("later: {error}"),
//!     Err(error) => return Err(error),
//! }
//! # Ok(()) }
//! ```
//!
//! # Typed methods
//!
//! [`methods`] has one handler per CRM area: [`Client::deals`],
//! [`Client::deal_userfields`], [`Client::categories`], [`Client::statuses`],
//! [`Client::items`] (deals, smart invoices, smart processes; see
//! [`EntityType`]) and [`Client::legacy_invoices`]. List methods share one
//! builder, [`ListRequest`].
//!
//! ```no_run
//! # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
//! use bitrix24_client::EntityType;
//!
//! let invoices = client
//!     .items()
//!     .list(EntityType::SmartInvoice)
//!     .filter("parentId2", 410)
//!     .select(["id", "title", "stageId", "opportunity"])
//!     .all()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Batches and paging
//!
//! [`Batch`] sends up to 50 commands per request, encoding each as PHP's
//! `http_build_query` would ([`php_query`]), and reports every command on its
//! own. [`paging`] walks listings by `next`, by the fast `start=-1` cursor, or
//! 50 pages per batch, and fails instead of returning a truncated list.
//!
//! ```no_run
//! # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
//! use futures::TryStreamExt;
//! use serde_json::json;
//!
//! let mut batch = client.batch();
//! batch.add("deal", "crm.deal.get", &json!({"id": 410}))?;
//! batch.add("clear", "crm.deal.update", &json!({"id": 410, "fields": {"COMMENTS": null}}))?;
//! let results = batch.send().await?;
//! let deal: serde_json::Value = results.get("deal")?;
//!
//! let all_ids: Vec<u64> = client
//!     .deals()
//!     .list()
//!     .select(["ID"])
//!     .stream_fast()
//!     .map_ok(|deal| deal.id.get())
//!     .try_collect()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # User-field values
//!
//! [`values`] types raw user-field JSON by the field's metadata: money,
//! enumeration labels (with an explicit unknown id), yes/no in every spelling,
//! dates, datetimes with any offset, and files with their browser and program
//! URLs kept apart. [`UfWrite`] encodes values for fields and for filters,
//! which differ for booleans.
//!
//! ```no_run
//! # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
//! use bitrix24_client::values::{decode, FieldSpec};
//! use bitrix_lk_core::DealId;
//!
//! let fields = client.deal_userfields().all().await?;
//! let deal = client.deals().get(DealId(410)).await?;
//! for field in &fields {
//!     let value = decode(&FieldSpec::from(field), deal.field(&field.field_name))?;
//!     println!("{} = {value:?}", field.field_name);
//! }
//! # Ok(()) }
//! ```
//!
//! # Events
//!
//! [`event::parse_event`] reads an outgoing-webhook POST (form-encoded with
//! literal or encoded brackets, or JSON) into an [`event::Event`], and
//! [`event::EventVerifier`] checks its application token in constant time.
//!
//! ```no_run
//! # fn run(content_type: Option<&str>, body: &[u8]) -> bitrix24_client::Result<()> {
//! use bitrix24_client::event::{EventKind, EventVerifier};
//!
//! let verifier = EventVerifier::new(["token-of-the-deal-webhook", "token-of-the-invoice-webhook"]);
//! let event = verifier.parse_verified(content_type, body)?;
//! if let EventKind::Deal { id, .. } = event.kind {
//!     println!("deal {id} changed");
//! }
//! # Ok(()) }
//! ```
//!
//! # The cabinet's adapter
//!
//! [`lk::LkCrm`] implements [`bitrix_lk_core::Crm`] with the firm's field
//! codes from [`bitrix_lk_core::LkConfig`].
//!
//! ```no_run
//! # async fn run(config: std::sync::Arc<bitrix_lk_core::LkConfig>) -> bitrix_lk_core::Result<()> {
//! use bitrix_lk_core::{Crm, DealFilter};
//! use bitrix24_client::lk::LkCrm;
//!
//! let crm = LkCrm::from_config(config)?;
//! let page = crm.list_deals(&DealFilter::default(), None).await?;
//! println!("{} deals, more after {:?}", page.deals.len(), page.next_after);
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod batch;
mod builder;
mod client;
mod de;
mod entity;
mod envelope;
mod error;
mod limiter;
mod response;
mod retry;
mod webhook;

pub mod event;
pub mod lk;
pub mod methods;
pub mod paging;
pub mod php_query;
pub mod values;

/// An in-process fake Bitrix24 portal for tests, demos and integrators.
#[cfg(feature = "emulator")]
pub mod emulator;

pub use batch::{Batch, BatchCommand, BatchResults, MAX_COMMANDS};
pub use builder::ClientBuilder;
pub use client::Client;
pub use entity::{EntityType, uf_from_item_name, uf_to_item_name};
pub use envelope::{Envelope, ResponseTime};
pub use error::{ApiError, Error, Result};
pub use limiter::{OperatingBudget, RateLimit};
pub use methods::statuses::Semantics;
pub use methods::{ListRequest, Order};
pub use retry::{Idempotency, RetryPolicy};
pub use values::{UfValue, UfWrite};
pub use webhook::WebhookUrl;
