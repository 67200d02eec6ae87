//! Typed identifiers of CRM objects and cabinet records.
//!
//! Bitrix24 sends ids as numbers in `crm.item.*` and as strings in the legacy
//! methods and in events, so every numeric id deserializes from either form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// Defines a numeric id newtype that reads from a JSON number or a decimal string.
macro_rules! numeric_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// Returns the raw number.
            pub fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.trim().parse().map(Self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_u64(deserializer).map(Self)
            }
        }
    };
}

numeric_id!(
    /// Id of a deal (`ID` in `crm.deal.*`, `id` in `crm.item.*` with entity type 2).
    DealId
);
numeric_id!(
    /// Id of a contact.
    ContactId
);
numeric_id!(
    /// Id of a deal pipeline (`CATEGORY_ID`); the default pipeline is 0.
    CategoryId
);
numeric_id!(
    /// Id of a file stored in a CRM file field.
    FileId
);
numeric_id!(
    /// Id of a record in the cabinet's event inbox.
    InboxId
);
numeric_id!(
    /// Id of a pending write to Bitrix24 in the cabinet's outbox.
    OutboxId
);
numeric_id!(
    /// Id of an uploaded file held in the spool until Bitrix24 has it.
    SpoolId
);

/// Id of an invoice, with its kind: smart and legacy invoices are numbered separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InvoiceId {
    /// Which invoice subsystem the number belongs to.
    pub kind: InvoiceKind,
    /// The number within that subsystem.
    pub number: u64,
}

impl InvoiceId {
    /// Builds the id of a smart invoice (entity type 31).
    pub fn smart(number: u64) -> Self {
        Self {
            kind: InvoiceKind::Smart,
            number,
        }
    }

    /// Builds the id of a legacy invoice (`crm.invoice.*`, entity type 5).
    pub fn legacy(number: u64) -> Self {
        Self {
            kind: InvoiceKind::Legacy,
            number,
        }
    }
}

impl fmt::Display for InvoiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            InvoiceKind::Smart => write!(f, "smart:{}", self.number),
            InvoiceKind::Legacy => write!(f, "legacy:{}", self.number),
        }
    }
}

/// The two invoice subsystems of Bitrix24.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// Smart invoices: `crm.item.*` with entity type 31, paid when in the success stage.
    Smart,
    /// Legacy invoices: `crm.invoice.*`, paid when `STATUS_ID` is `P`.
    Legacy,
}

/// Code of a pipeline stage as it appears in `STAGE_ID`, such as `C5:NEW` or `WON`.
///
/// Unknown codes are kept as they are, so a stage added in Bitrix24 never
/// breaks decoding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StageId(pub String);

impl StageId {
    /// Returns the code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the pipeline the code belongs to, from its `C<n>:` prefix (no prefix means 0).
    pub fn category(&self) -> Option<CategoryId> {
        match self.0.split_once(':') {
            None => Some(CategoryId(0)),
            Some((prefix, _)) => prefix.strip_prefix('C')?.parse().ok().map(CategoryId),
        }
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for StageId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Code of a deal user field, such as `UF_CRM_1708511654449`, always in the legacy spelling.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FieldCode(pub String);

impl FieldCode {
    /// Returns the code as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for FieldCode {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

fn deserialize_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrString {
        Number(u64),
        String(String),
    }

    match NumberOrString::deserialize(deserializer)? {
        NumberOrString::Number(n) => Ok(n),
        NumberOrString::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("invalid id {s:?}: expected digits"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deal_id_reads_number_and_string() {
        let from_number: DealId = serde_json::from_str("410").unwrap();
        let from_string: DealId = serde_json::from_str("\"410\"").unwrap();

        assert_eq!(from_number, DealId(410));
        assert_eq!(from_string, DealId(410));
    }

    #[test]
    fn deal_id_rejects_garbage() {
        assert!(serde_json::from_str::<DealId>("\"41x\"").is_err());
        assert!(serde_json::from_str::<DealId>("null").is_err());
    }

    #[test]
    fn stage_category_from_prefix() {
        assert_eq!(StageId::from("C5:NEW").category(), Some(CategoryId(5)));
        assert_eq!(StageId::from("WON").category(), Some(CategoryId(0)));
        assert_eq!(StageId::from("DT31_5:P").category(), None);
    }
}
