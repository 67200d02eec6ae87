//! Deal user-field metadata through `crm.deal.userfield.list`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::client::Client;
use crate::de;
use crate::error::Result;
use crate::methods::ListRequest;
use crate::paging::Rows;

/// The `crm.deal.userfield.*` methods; get it with [`Client::deal_userfields`].
#[derive(Clone, Copy, Debug)]
pub struct DealUserFields<'a> {
    client: &'a Client,
}

impl<'a> DealUserFields<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Starts a `crm.deal.userfield.list` request.
    pub fn list(&self) -> ListRequest<'a, UserField> {
        ListRequest::new(self.client, "crm.deal.userfield.list", Rows::Result, "ID")
    }

    /// Reads the metadata of every deal user field, following `next` if the portal pages it.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// for field in client.deal_userfields().all().await? {
    ///     println!("{} is a {} field with {} items", field.field_name, field.user_type_id, field.list.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn all(&self) -> Result<Vec<UserField>> {
        self.list().all().await
    }
}

/// One user field as `crm.deal.userfield.list` describes it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct UserField {
    /// `ID` of the field definition.
    #[serde(rename = "ID", deserialize_with = "de::u64_required")]
    pub id: u64,
    /// `ENTITY_ID`, such as `CRM_DEAL`.
    #[serde(rename = "ENTITY_ID", default, deserialize_with = "de::opt_text")]
    pub entity_id: Option<String>,
    /// `FIELD_NAME`, the code in the legacy spelling (`UF_CRM_...`).
    #[serde(rename = "FIELD_NAME")]
    pub field_name: String,
    /// `USER_TYPE_ID`, such as `string`, `enumeration`, `file`.
    #[serde(rename = "USER_TYPE_ID")]
    pub user_type_id: String,
    /// `MULTIPLE`.
    #[serde(rename = "MULTIPLE", default, deserialize_with = "de::bool_or_false")]
    pub multiple: bool,
    /// `MANDATORY`.
    #[serde(rename = "MANDATORY", default, deserialize_with = "de::bool_or_false")]
    pub mandatory: bool,
    /// `SORT`.
    #[serde(rename = "SORT", default, deserialize_with = "de::opt_i64")]
    pub sort: Option<i64>,
    /// `XML_ID`.
    #[serde(rename = "XML_ID", default, deserialize_with = "de::opt_text")]
    pub xml_id: Option<String>,
    /// `SETTINGS`, type-specific, as sent.
    #[serde(rename = "SETTINGS", default)]
    pub settings: Value,
    /// `LIST`: the items of an enumeration field; the deal stores an item's `ID`.
    #[serde(rename = "LIST", default, deserialize_with = "de::php_list")]
    pub list: Vec<EnumItem>,
    /// `EDIT_FORM_LABEL`, the label staff see; from a per-language map the
    /// Russian label is taken, then the English one, then any.
    #[serde(rename = "EDIT_FORM_LABEL", default, deserialize_with = "opt_label")]
    pub edit_form_label: Option<String>,
    /// `LIST_COLUMN_LABEL`, taken like `edit_form_label`.
    #[serde(rename = "LIST_COLUMN_LABEL", default, deserialize_with = "opt_label")]
    pub list_column_label: Option<String>,
}

impl UserField {
    /// Returns the best label for people: the form label, else the column label.
    pub fn label(&self) -> Option<&str> {
        self.edit_form_label
            .as_deref()
            .or(self.list_column_label.as_deref())
    }
}

/// An item of an enumeration field.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EnumItem {
    /// `ID`, the value stored in the deal.
    #[serde(rename = "ID", deserialize_with = "text_required")]
    pub id: String,
    /// `VALUE`, the label.
    #[serde(rename = "VALUE", default, deserialize_with = "text_or_empty")]
    pub value: String,
    /// `SORT`.
    #[serde(rename = "SORT", default, deserialize_with = "de::opt_i64")]
    pub sort: Option<i64>,
    /// `DEF`: whether the item is the default.
    #[serde(rename = "DEF", default, deserialize_with = "de::bool_or_false")]
    pub default: bool,
    /// `XML_ID`.
    #[serde(rename = "XML_ID", default, deserialize_with = "de::opt_text")]
    pub xml_id: Option<String>,
}

fn text_required<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<String, D::Error> {
    de::opt_text(deserializer)?.ok_or_else(|| serde::de::Error::custom("expected a non-empty id"))
}

fn text_or_empty<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<String, D::Error> {
    Ok(de::opt_text(deserializer)?.unwrap_or_default())
}

/// Reads a label that is either a string or a map of language code to string.
fn opt_label<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Option<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let label = match value {
        Value::String(text) => Some(text),
        Value::Object(map) => ["ru", "en"]
            .iter()
            .find_map(|lang| {
                map.get(*lang)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
            .or_else(|| {
                map.values()
                    .find_map(|v| v.as_str().filter(|s| !s.is_empty()))
            })
            .map(str::to_owned),
        _ => None,
    };
    Ok(label.filter(|text| !text.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn labels_come_from_language_maps() {
        let field: UserField = serde_json::from_value(json!({
            "ID": "1",
            "FIELD_NAME": "UF_CRM_1",
            "USER_TYPE_ID": "string",
            "EDIT_FORM_LABEL": {"en": "Login", "ru": "Логин ЛК клиента"},
            "LIST_COLUMN_LABEL": ""
        }))
        .unwrap();

        assert_eq!(field.label(), Some("Логин ЛК клиента"));
        assert_eq!(field.list_column_label, None);
    }
}
