//! Decoded values of deal user fields.
//!
//! The Bitrix24 adapter turns the raw JSON of each configured field into a
//! [`FieldValue`], using the field's metadata (type, enumeration items). The
//! business rules read these values and never see Bitrix24's JSON.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::FileId;
use crate::money::Money;

/// One user-field value, typed by the field's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// The field is unset: missing, `null`, `""`, `false` for a multiple field, or `[]`.
    Empty,
    /// A string or URL field, as stored.
    Text(String),
    /// A yes/no field.
    Bool(bool),
    /// An item of a list (enumeration) field: the stored id and, when the
    /// field metadata contains it, the item's label.
    Enum {
        /// The enumeration item id stored in the deal.
        id: String,
        /// The item's label (`VALUE` in `crm.deal.userfield.list`), if known.
        label: Option<String>,
    },
    /// A money field (`"150000|RUB"`).
    Money(Money),
    /// An integer or double field.
    Number(Decimal),
    /// A date field (Bitrix24 sends it as a datetime; only the date part counts).
    Date(Date),
    /// A datetime field, as an absolute instant.
    DateTime(Timestamp),
    /// A file field: every file currently attached.
    Files(Vec<FileRef>),
    /// A multiple field of any non-file type.
    List(Vec<FieldValue>),
}

impl FieldValue {
    /// Returns whether the value counts as unset for display rules.
    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Empty => true,
            FieldValue::Text(text) => text.trim().is_empty(),
            FieldValue::Files(files) => files.is_empty(),
            FieldValue::List(items) => items.iter().all(FieldValue::is_empty),
            _ => false,
        }
    }

    /// Returns the value as display text: text as it is, an enumeration's
    /// label (or its id when the label is unknown), and `None` for types that
    /// have no natural text form.
    pub fn as_text(&self) -> Option<String> {
        match self {
            FieldValue::Text(text) if !text.trim().is_empty() => Some(text.trim().to_owned()),
            FieldValue::Enum { id, label } => Some(label.clone().unwrap_or_else(|| id.clone())),
            FieldValue::Number(n) => Some(n.normalize().to_string()),
            FieldValue::List(items) => {
                let parts: Vec<String> = items.iter().filter_map(FieldValue::as_text).collect();
                (!parts.is_empty()).then(|| parts.join(", "))
            }
            _ => None,
        }
    }
}

/// A file attached to a CRM file field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// The file's id in the field (a CRM file id, not a Drive id).
    pub id: FileId,
    /// The file name, when Bitrix24 reports it.
    pub name: Option<String>,
}

/// The value type of a deal user field, from its metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// `string`.
    String,
    /// `url`.
    Url,
    /// `boolean`.
    Boolean,
    /// `enumeration` (a list field).
    Enumeration,
    /// `money`.
    Money,
    /// `integer`.
    Integer,
    /// `double`.
    Double,
    /// `date`.
    Date,
    /// `datetime`.
    DateTime,
    /// `file`.
    File,
    /// Any other type (`crm`, `employee`, `crm_status`, ...).
    Other,
}

/// Metadata of one deal user field, as the adapter reads it from Bitrix24.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMeta {
    /// The field code in the legacy spelling (`UF_CRM_...`).
    pub code: crate::ids::FieldCode,
    /// The value type.
    pub kind: FieldKind,
    /// The raw `USER_TYPE_ID`, kept for messages about unusable types.
    pub type_name: String,
    /// Whether the field contains several values.
    pub multiple: bool,
    /// Items of an enumeration field: `(id, label)` in display order.
    pub items: Vec<(String, String)>,
    /// The label staff see in Bitrix24, when known.
    pub label: Option<String>,
}
