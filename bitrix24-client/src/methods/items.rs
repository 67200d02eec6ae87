//! Any CRM object through the universal `crm.item.*` methods.
//!
//! These methods use camelCase names (`stageId`, `ufCrm_1742556744977`),
//! send numbers as numbers, and wrap results in `result.item` or
//! `result.items`. Deals are entity type 2, smart invoices 31.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bitrix_lk_core::FileId;
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::de;
use crate::entity::{EntityType, uf_to_item_name};
use crate::error::{Error, Result};
use crate::methods::ListRequest;
use crate::paging::Rows;
use crate::retry::Idempotency;
use crate::values::{FieldSpec, UfValue, UserFieldType, decode};

/// The `crm.item.*` methods; get it with [`Client::items`].
#[derive(Clone, Copy, Debug)]
pub struct Items<'a> {
    client: &'a Client,
}

impl<'a> Items<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Reads one item with every field (`crm.item.get`).
    ///
    /// A missing item fails with an [`Error::Api`] whose code is `NOT_FOUND` (HTTP 400).
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix24_client::EntityType;
    ///
    /// let invoice = client.items().get(EntityType::SmartInvoice, 17).await?;
    /// println!("invoice {} of deal {:?}", invoice.id, invoice.parent_id(EntityType::Deal));
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, entity_type: EntityType, id: u64) -> Result<Item> {
        let params = json!({ "entityTypeId": entity_type.id(), "id": id });
        let wrapper: ItemWrapper = self.client.call("crm.item.get", &params).await?;
        Ok(wrapper.item)
    }

    /// Starts a `crm.item.list` request. `select` returns only the named keys,
    /// so include `id`; `UF_*` selects every user field.
    pub fn list(&self, entity_type: EntityType) -> ListRequest<'a, Item> {
        ListRequest::new(self.client, "crm.item.list", Rows::Field("items"), "id")
            .param("entityTypeId", entity_type.id())
    }

    /// Starts a `crm.item.update` of one item.
    pub fn update(&self, entity_type: EntityType, id: u64) -> ItemUpdate<'a> {
        ItemUpdate {
            client: self.client,
            entity_type,
            id,
            fields: Map::new(),
            idempotency: Idempotency::IdempotentWrite,
            error: None,
        }
    }

    /// Clears a user field, then reads the item back to check that it is empty.
    ///
    /// `crm.item.update` accepts `[]` for a multiple enumeration, echoes
    /// `null`, and keeps the old value. So for types that still have a legacy
    /// update method (leads, deals, contacts, companies) the clear goes through
    /// it as `""`, which does clear. Other types get `""` through
    /// `crm.item.update`. A value still there fails with [`Error::WriteNotApplied`].
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix24_client::EntityType;
    ///
    /// client.items().clear_user_field(EntityType::Deal, 10, "UF_CRM_1700000000").await?;
    /// # Ok(()) }
    /// ```
    pub async fn clear_user_field(
        &self,
        entity_type: EntityType,
        id: u64,
        legacy_code: &str,
    ) -> Result<()> {
        match legacy_update_method(entity_type) {
            Some(method) => {
                let body = json!({ "id": id, "fields": { legacy_code: "" } });
                let envelope = self
                    .client
                    .call_with::<Value>(method, &body, Idempotency::IdempotentWrite)
                    .await?;
                if envelope.result != Value::Bool(true) {
                    return Err(Error::WriteNotApplied {
                        method: method.to_owned(),
                        detail: format!(
                            "clearing {legacy_code} of {id} returned {} instead of true",
                            envelope.result
                        ),
                    });
                }
            }
            None => {
                self.update(entity_type, id)
                    .user_field(legacy_code, "")
                    .send()
                    .await?;
            }
        }

        let item = self.get(entity_type, id).await?;
        match item.user_field(legacy_code) {
            Some((_, value)) if !de::is_unset(value) => Err(Error::WriteNotApplied {
                method: legacy_update_method(entity_type)
                    .unwrap_or("crm.item.update")
                    .to_owned(),
                detail: format!("{legacy_code} of item {id} still holds a value after clearing"),
            }),
            _ => Ok(()),
        }
    }

    /// Starts adding a file to a file field, keeping the files already there.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client, scan: Vec<u8>) -> bitrix24_client::Result<()> {
    /// use bitrix24_client::EntityType;
    ///
    /// let outcome = client
    ///     .items()
    ///     .attach_file(EntityType::Deal, 410, "UF_CRM_1708509490009")
    ///     .send("passport.pdf", &scan)
    ///     .await?;
    /// assert_eq!(outcome.after.len(), outcome.before.len() + 1);
    /// # Ok(()) }
    /// ```
    pub fn attach_file(&self, entity_type: EntityType, id: u64, field: &str) -> AttachFile<'a> {
        AttachFile {
            client: self.client,
            entity_type,
            id,
            field: field.to_owned(),
            multiple: true,
        }
    }
}

/// The legacy update method of the entity types that have one.
fn legacy_update_method(entity_type: EntityType) -> Option<&'static str> {
    match entity_type {
        EntityType::Lead => Some("crm.lead.update"),
        EntityType::Deal => Some("crm.deal.update"),
        EntityType::Contact => Some("crm.contact.update"),
        EntityType::Company => Some("crm.company.update"),
        _ => None,
    }
}

#[derive(Deserialize)]
struct ItemWrapper {
    item: Item,
}

/// An item as `crm.item.get`, `crm.item.list` and `crm.item.update` return it.
///
/// Common fields are typed; every other key stays raw in [`Item::fields`].
/// A field left out of `select` is `None`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    /// `id`.
    #[serde(deserialize_with = "de::u64_required")]
    pub id: u64,
    /// `entityTypeId`.
    #[serde(default)]
    pub entity_type_id: Option<EntityType>,
    /// `title`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub title: Option<String>,
    /// `stageId`, such as `DT31_1:P`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub stage_id: Option<String>,
    /// `categoryId`.
    #[serde(default, deserialize_with = "de::opt_u64")]
    pub category_id: Option<u64>,
    /// `opportunity`, the amount.
    #[serde(default, deserialize_with = "de::opt_decimal")]
    pub opportunity: Option<Decimal>,
    /// `currencyId`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub currency_id: Option<String>,
    /// `contactId` (`None` when unset or 0).
    #[serde(default, deserialize_with = "de::opt_id")]
    pub contact_id: Option<u64>,
    /// `companyId` (`None` when unset or 0).
    #[serde(default, deserialize_with = "de::opt_id")]
    pub company_id: Option<u64>,
    /// `accountNumber` (smart invoices).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub account_number: Option<String>,
    /// `createdTime`.
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub created_time: Option<Timestamp>,
    /// `updatedTime`.
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub updated_time: Option<Timestamp>,
    /// `movedTime`: when the item last changed stage.
    #[serde(default, deserialize_with = "de::opt_timestamp")]
    pub moved_time: Option<Timestamp>,
    /// Every other field as sent, by its camelCase name.
    #[serde(flatten)]
    pub fields: BTreeMap<String, Value>,
}

impl Item {
    /// Returns the id of the parent of a type (`parentId2` is the deal), `None` when unset or 0.
    pub fn parent_id(&self, parent: EntityType) -> Option<u64> {
        self.fields
            .get(&format!("parentId{}", parent.id()))
            .and_then(de::u64_from_value)
            .filter(|id| *id != 0)
    }

    /// Returns a user field by its legacy code (`UF_CRM_...`), with the key it
    /// was found under.
    ///
    /// Tries the portal's camelCase spelling, then `ufCrm_` plus the tail (an
    /// older spelling of smart-process fields), then the legacy code itself.
    pub fn user_field(&self, legacy_code: &str) -> Option<(&str, &Value)> {
        item_name_candidates(legacy_code)
            .into_iter()
            .find_map(|name| self.fields.get_key_value(&name))
            .map(|(key, value)| (key.as_str(), value))
    }
}

/// Returns the spellings a user field may have in a `crm.item.*` response, most likely first.
fn item_name_candidates(legacy_code: &str) -> Vec<String> {
    let mut names = vec![uf_to_item_name(legacy_code)];
    if let Some(tail) = legacy_code.strip_prefix("UF_CRM_") {
        names.push(format!("ufCrm_{tail}"));
    }
    names.push(legacy_code.to_owned());
    names.dedup();
    names
}

/// A `crm.item.update` under construction.
#[derive(Debug)]
#[must_use = "an update does nothing until it is sent"]
pub struct ItemUpdate<'a> {
    client: &'a Client,
    entity_type: EntityType,
    id: u64,
    fields: Map<String, Value>,
    idempotency: Idempotency,
    error: Option<Error>,
}

impl<'a> ItemUpdate<'a> {
    /// Sets a field by its camelCase name (`title`, `stageId`, `ufCrm_...`).
    pub fn field(mut self, name: impl Into<String>, value: impl Serialize) -> Self {
        let name = name.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.fields.insert(name, value);
            }
            Err(error) => {
                self.error.get_or_insert(Error::invalid_request(
                    "crm.item.update",
                    format!("cannot serialize field `{name}`: {error}"),
                ));
            }
        }
        self
    }

    /// Sets a user field by its legacy code, converting it to the name
    /// `crm.item.update` expects (a legacy name sent here is silently ignored).
    pub fn user_field(self, legacy_code: &str, value: impl Serialize) -> Self {
        self.field(uf_to_item_name(legacy_code), value)
    }

    /// Sets a file field to exactly these files: listed ids are kept, new
    /// files are uploaded, and every other file of the field is deleted.
    ///
    /// Uploading makes the update unsafe to repeat, so it is then not retried.
    pub fn files(mut self, field_name: impl Into<String>, files: &[FileUpload]) -> Self {
        if files
            .iter()
            .any(|file| matches!(file, FileUpload::New { .. }))
        {
            self.idempotency = Idempotency::Write;
        }
        let value = Value::Array(files.iter().map(FileUpload::to_json).collect());
        self.field(field_name, value)
    }

    /// Marks the update as unsafe to repeat. Default: safe to repeat, unless
    /// [`ItemUpdate::files`] uploads a file.
    pub fn not_idempotent(mut self) -> Self {
        self.idempotency = Idempotency::Write;
        self
    }

    /// Sends the update and returns the item as the portal echoes it.
    ///
    /// The echo is not proof: the portal may echo a value it did not store
    /// (clearing a multiple enumeration with `[]` echoes `null` and changes
    /// nothing). Read the item back when it matters.
    pub async fn send(self) -> Result<Item> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.fields.is_empty() {
            return Err(Error::invalid_request(
                "crm.item.update",
                "no field to update",
            ));
        }

        let body = json!({
            "entityTypeId": self.entity_type.id(),
            "id": self.id,
            "fields": self.fields,
        });
        let envelope = self
            .client
            .call_with::<ItemWrapper>("crm.item.update", &body, self.idempotency)
            .await?;
        Ok(envelope.result.item)
    }
}

/// One entry of a file field written through `crm.item.update`.
#[derive(Clone, PartialEq, Eq)]
pub enum FileUpload {
    /// Keeps a file already in the field (`{"id": N}`). An id that is not in
    /// the field is dropped by the portal without an error.
    Keep(FileId),
    /// Uploads a new file, sent as `[name, base64]`; the object form
    /// `{"fileData": [...]}` is accepted by the portal and stores nothing.
    New {
        /// The file name shown in Bitrix24.
        name: String,
        /// The content.
        bytes: Vec<u8>,
    },
}

impl FileUpload {
    /// Returns the JSON the portal expects for this entry.
    pub fn to_json(&self) -> Value {
        match self {
            FileUpload::Keep(id) => json!({ "id": id.get() }),
            FileUpload::New { name, bytes } => json!([name, BASE64.encode(bytes)]),
        }
    }
}

impl std::fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileUpload::Keep(id) => f.debug_tuple("Keep").field(id).finish(),
            FileUpload::New { name, bytes } => f
                .debug_struct("New")
                .field("name", name)
                .field("bytes", &format_args!("{} bytes", bytes.len()))
                .finish(),
        }
    }
}

/// Adds one file to a file field without dropping the files already there.
///
/// Steps: read the field's current file ids with `crm.item.get`, write them
/// back with the new file through `crm.item.update`, read the item again and
/// check that every old id is still there and exactly one file was added.
#[derive(Debug)]
#[must_use = "nothing is uploaded until `send` is called"]
pub struct AttachFile<'a> {
    client: &'a Client,
    entity_type: EntityType,
    id: u64,
    field: String,
    multiple: bool,
}

/// The field's files before and after [`AttachFile::send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachOutcome {
    /// File ids before the upload.
    pub before: Vec<FileId>,
    /// File ids after the upload, read back from the portal.
    pub after: Vec<FileId>,
    /// The id of the new file, when it can be identified.
    pub added: Option<FileId>,
}

impl<'a> AttachFile<'a> {
    /// Sets whether the field contains several files. Default: `true`. A
    /// single file field contains one file only, so the upload replaces it.
    pub fn multiple(mut self, multiple: bool) -> Self {
        self.multiple = multiple;
        self
    }

    /// Uploads the file and verifies the result.
    ///
    /// Fails with [`Error::WriteNotApplied`] when the read-back shows a lost
    /// file or no new file. The upload is never repeated automatically:
    /// a timeout or HTTP 500 gives [`Error::UnknownOutcome`].
    pub async fn send(self, file_name: &str, bytes: &[u8]) -> Result<AttachOutcome> {
        let items = Items::new(self.client);
        let current = items.get(self.entity_type, self.id).await?;
        let (key, before) = self.current_files(&current)?;

        let new_file = FileUpload::New {
            name: file_name.to_owned(),
            bytes: bytes.to_vec(),
        };
        let value = if self.multiple {
            let mut entries: Vec<Value> = before
                .iter()
                .map(|id| FileUpload::Keep(*id).to_json())
                .collect();
            entries.push(new_file.to_json());
            Value::Array(entries)
        } else {
            new_file.to_json()
        };
        items
            .update(self.entity_type, self.id)
            .field(key.clone(), value)
            .not_idempotent()
            .send()
            .await?;

        let reread = items.get(self.entity_type, self.id).await?;
        let (_, after) = self.current_files(&reread)?;
        self.verify(before, after)
    }

    /// Returns the key the field uses in `crm.item.*` responses and its file ids.
    fn current_files(&self, item: &Item) -> Result<(String, Vec<FileId>)> {
        let spec = FieldSpec {
            name: self.field.clone(),
            kind: UserFieldType::File,
            multiple: self.multiple,
            items: Vec::new(),
        };
        let Some((key, raw)) = item.user_field(&self.field) else {
            // The portal leaves an empty file field out of the response.
            return Ok((uf_to_item_name(&self.field), Vec::new()));
        };
        let ids = match decode(&spec, Some(raw))? {
            UfValue::Files(files) => files.into_iter().map(|file| file.id).collect(),
            _ => Vec::new(),
        };
        Ok((key.to_owned(), ids))
    }

    fn verify(&self, before: Vec<FileId>, after: Vec<FileId>) -> Result<AttachOutcome> {
        let added: Vec<FileId> = after
            .iter()
            .filter(|id| !before.contains(id))
            .copied()
            .collect();
        let lost: Vec<FileId> = before
            .iter()
            .filter(|id| !after.contains(id))
            .copied()
            .collect();

        let problem = if self.multiple && !lost.is_empty() {
            Some(format!("files {lost:?} disappeared from {}", self.field))
        } else if added.len() != 1 {
            Some(format!(
                "expected one new file in {}, found {} (before {before:?}, after {after:?})",
                self.field,
                added.len()
            ))
        } else {
            None
        };
        if let Some(detail) = problem {
            return Err(Error::WriteNotApplied {
                method: "crm.item.update".to_owned(),
                detail,
            });
        }

        Ok(AttachOutcome {
            added: added.first().copied(),
            before,
            after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_encode_as_pairs() {
        let keep = FileUpload::Keep(FileId(30577));
        let new = FileUpload::New {
            name: "myNewFile.pdf".into(),
            bytes: b"%PDF".to_vec(),
        };

        assert_eq!(keep.to_json(), json!({"id": 30577}));
        assert_eq!(new.to_json(), json!(["myNewFile.pdf", "JVBERg=="]));
        assert_eq!(
            format!("{new:?}"),
            "New { name: \"myNewFile.pdf\", bytes: 4 bytes }"
        );
    }

    #[test]
    fn user_field_found_under_either_spelling() {
        let item: Item = serde_json::from_value(json!({
            "id": 29,
            "ufCrm_7_1739432938": [{"id": 30577}],
            "ufCrm_1742556744977": "x",
            "parentId2": 410
        }))
        .unwrap();

        assert_eq!(
            item.user_field("UF_CRM_7_1739432938").map(|(key, _)| key),
            Some("ufCrm_7_1739432938")
        );
        assert_eq!(
            item.user_field("UF_CRM_1742556744977").map(|(key, _)| key),
            Some("ufCrm_1742556744977")
        );
        assert_eq!(item.user_field("UF_CRM_404"), None);
        assert_eq!(item.parent_id(EntityType::Deal), Some(410));
    }
}
