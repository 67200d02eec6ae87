//! Deals through the legacy `crm.deal.*` methods.
//!
//! These methods are deprecated in favour of `crm.item.*` with entity type 2
//! but still work, and they send UPPER_CASE field names, every scalar as a
//! string, and errors with an empty `error` code.

use std::collections::BTreeMap;

use bitrix_lk_core::{CategoryId, ContactId, DealId, StageId};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::de;
use crate::error::{Error, Result};
use crate::methods::ListRequest;
use crate::methods::userfields::EnumItem;
use crate::paging::Rows;
use crate::retry::Idempotency;
use crate::values::UfWrite;

/// The `crm.deal.*` methods; get it with [`Client::deals`].
#[derive(Clone, Copy, Debug)]
pub struct Deals<'a> {
    client: &'a Client,
}

impl<'a> Deals<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Reads one deal with every field (`crm.deal.get`).
    ///
    /// A missing deal fails with an [`Error::Api`] whose
    /// [`Error::is_not_found`] is true (HTTP 400, empty code, "Not found").
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix_lk_core::DealId;
    ///
    /// let deal = client.deals().get(DealId(410)).await?;
    /// println!("{:?} is in stage {:?}", deal.title, deal.stage_id);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, id: DealId) -> Result<DealRecord> {
        self.client
            .call("crm.deal.get", &json!({ "id": id.get() }))
            .await
    }

    /// Starts a `crm.deal.list` request.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix24_client::Order;
    /// use futures::TryStreamExt;
    ///
    /// let deals = client
    ///     .deals()
    ///     .list()
    ///     .filter("CATEGORY_ID", 5)
    ///     .select(["ID", "TITLE", "STAGE_ID", "UF_CRM_1708511654449"])
    ///     .order("ID", Order::Asc)
    ///     .stream_fast()
    ///     .try_collect::<Vec<_>>()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListRequest<'a, DealRecord> {
        ListRequest::new(self.client, "crm.deal.list", Rows::Result, "ID")
    }

    /// Starts a `crm.deal.update` of one deal.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix_lk_core::DealId;
    /// use bitrix24_client::UfWrite;
    ///
    /// client
    ///     .deals()
    ///     .update(DealId(410))
    ///     .field("UF_CRM_1708511589360", "client-410")
    ///     .set("UF_CRM_1715524078722", &UfWrite::Clear)?
    ///     .register_sonet_event(false)
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, id: DealId) -> DealUpdate<'a> {
        DealUpdate {
            client: self.client,
            id,
            fields: Map::new(),
            params: Map::new(),
            idempotency: Idempotency::IdempotentWrite,
            error: None,
        }
    }

    /// Reads the description of every deal field (`crm.deal.fields`).
    pub async fn fields(&self) -> Result<BTreeMap<String, FieldDescription>> {
        self.client.call("crm.deal.fields", &()).await
    }
}

/// A deal as `crm.deal.get` and `crm.deal.list` return it.
///
/// The common fields are typed; every other key, including all `UF_CRM_*`
/// user fields, stays raw in [`DealRecord::fields`] for
/// [`crate::values::decode`]. A field left out of `select` is `None`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct DealRecord {
    /// `ID`.
    #[serde(rename = "ID")]
    pub id: DealId,
    /// `TITLE`.
    #[serde(rename = "TITLE", default, deserialize_with = "de::opt_text")]
    pub title: Option<String>,
    /// `STAGE_ID`, such as `C5:NEW`.
    #[serde(rename = "STAGE_ID", default, deserialize_with = "opt_stage")]
    pub stage_id: Option<StageId>,
    /// `CATEGORY_ID`: the pipeline; 0 is the default pipeline.
    #[serde(
        rename = "CATEGORY_ID",
        default,
        deserialize_with = "de::opt_id_keep_zero"
    )]
    pub category_id: Option<CategoryId>,
    /// `STAGE_SEMANTIC_ID`: `P` in progress, `S` success, `F` failure.
    #[serde(
        rename = "STAGE_SEMANTIC_ID",
        default,
        deserialize_with = "de::opt_text"
    )]
    pub stage_semantic_id: Option<String>,
    /// `CONTACT_ID`, the primary contact (`None` when unset or 0).
    #[serde(rename = "CONTACT_ID", default, deserialize_with = "de::opt_id")]
    pub contact_id: Option<ContactId>,
    /// `COMPANY_ID` (`None` when unset or 0).
    #[serde(rename = "COMPANY_ID", default, deserialize_with = "de::opt_id")]
    pub company_id: Option<u64>,
    /// `ASSIGNED_BY_ID`, the responsible employee.
    #[serde(rename = "ASSIGNED_BY_ID", default, deserialize_with = "de::opt_id")]
    pub assigned_by_id: Option<u64>,
    /// `OPPORTUNITY`, the deal amount.
    #[serde(rename = "OPPORTUNITY", default, deserialize_with = "de::opt_decimal")]
    pub opportunity: Option<Decimal>,
    /// `CURRENCY_ID`.
    #[serde(rename = "CURRENCY_ID", default, deserialize_with = "de::opt_text")]
    pub currency_id: Option<String>,
    /// `CLOSED`.
    #[serde(rename = "CLOSED", default, deserialize_with = "de::opt_bool")]
    pub closed: Option<bool>,
    /// `DATE_CREATE`.
    #[serde(
        rename = "DATE_CREATE",
        default,
        deserialize_with = "de::opt_timestamp"
    )]
    pub date_create: Option<Timestamp>,
    /// `DATE_MODIFY`.
    #[serde(
        rename = "DATE_MODIFY",
        default,
        deserialize_with = "de::opt_timestamp"
    )]
    pub date_modify: Option<Timestamp>,
    /// Every other field as sent, by its UPPER_CASE name.
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
}

impl DealRecord {
    /// Returns the raw value of a field that is not typed above, such as a user field.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

fn opt_stage<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<StageId>, D::Error> {
    Ok(de::opt_text(deserializer)?.map(StageId))
}

/// A `crm.deal.update` under construction.
#[derive(Debug)]
#[must_use = "an update does nothing until it is sent"]
pub struct DealUpdate<'a> {
    client: &'a Client,
    id: DealId,
    fields: Map<String, Value>,
    params: Map<String, Value>,
    idempotency: Idempotency,
    error: Option<Error>,
}

impl<'a> DealUpdate<'a> {
    /// Sets a field to a JSON value, by its UPPER_CASE name.
    pub fn field(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let name = name.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.fields.insert(name, value);
            }
            Err(error) => {
                self.error.get_or_insert(Error::invalid_request(
                    "crm.deal.update",
                    format!("cannot serialize field `{name}`: {error}"),
                ));
            }
        }
        self
    }

    /// Sets a field to a typed value, in the form fields need (`Y`/`N` for a
    /// boolean, `""` to clear).
    pub fn set(self, name: impl Into<String>, value: &UfWrite) -> Result<Self> {
        let value = value.to_field_value()?;
        Ok(self.field(name, value))
    }

    /// Writes the change to the activity stream (`REGISTER_SONET_EVENT`). Default: the portal's default (yes).
    pub fn register_sonet_event(mut self, register: bool) -> Self {
        self.params.insert(
            "REGISTER_SONET_EVENT".to_owned(),
            json!(if register { "Y" } else { "N" }),
        );
        self
    }

    /// Writes the change to the deal history (`REGISTER_HISTORY_EVENT`). Default: the portal's default (yes).
    pub fn register_history_event(mut self, register: bool) -> Self {
        self.params.insert(
            "REGISTER_HISTORY_EVENT".to_owned(),
            json!(if register { "Y" } else { "N" }),
        );
        self
    }

    /// Marks the update as unsafe to repeat, for values computed from the
    /// current state. Default: the update sets fixed values, so it is
    /// retried after portal failures and timeouts.
    pub fn not_idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Write;
        self
    }

    /// Sends the update. The portal returns `true`, and anything else fails with
    /// [`Error::WriteNotApplied`].
    pub async fn send(self) -> Result<()> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.fields.is_empty() {
            return Err(Error::invalid_request(
                "crm.deal.update",
                "no field to update",
            ));
        }

        let mut body = json!({ "id": self.id.get(), "fields": self.fields });
        if !self.params.is_empty() {
            body["params"] = Value::Object(self.params);
        }
        let envelope = self
            .client
            .call_with::<Value>("crm.deal.update", &body, self.idempotency)
            .await?;

        match envelope.result {
            Value::Bool(true) => Ok(()),
            other => Err(Error::WriteNotApplied {
                method: "crm.deal.update".to_owned(),
                detail: format!("deal {} returned {other} instead of true", self.id),
            }),
        }
    }
}

/// One field of `crm.deal.fields` (or `crm.item.fields`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescription {
    /// The value type, such as `string`, `crm_status`, `enumeration`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether the field must be filled.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_required: bool,
    /// Whether the field cannot be written.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_read_only: bool,
    /// Whether the field can be set only when creating.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_immutable: bool,
    /// Whether the field contains several values.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_multiple: bool,
    /// Whether the field is a user field.
    #[serde(default, deserialize_with = "de::bool_or_false")]
    pub is_dynamic: bool,
    /// The title.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub title: Option<String>,
    /// The column label of a user field.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub list_label: Option<String>,
    /// The form label of a user field.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub form_label: Option<String>,
    /// The status directory of a `crm_status` field, such as `DEAL_STAGE`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub status_type: Option<String>,
    /// The items of an enumeration field.
    #[serde(default, deserialize_with = "de::php_list")]
    pub items: Vec<EnumItem>,
    /// Type-specific settings, as sent.
    #[serde(default)]
    pub settings: Value,
    /// The legacy name of a `crm.item.fields` entry (`upperName`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub upper_name: Option<String>,
}
