//! The deal snapshot: what the cabinet knows of a client's deal.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::field::FieldValue;
use crate::ids::{CategoryId, ContactId, DealId, FieldCode, StageId};

/// A typed snapshot of one deal, with its user fields already decoded.
///
/// The snapshot carries every user field the configuration names; the
/// business rules look fields up by the configured codes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deal {
    /// The deal id.
    pub id: DealId,
    /// The deal title (`TITLE`).
    pub title: String,
    /// The pipeline the deal is in (`CATEGORY_ID`).
    pub category_id: CategoryId,
    /// The current stage (`STAGE_ID`).
    pub stage_id: StageId,
    /// The primary contact (`CONTACT_ID`), used to find invoices billed to the contact.
    pub contact_id: Option<ContactId>,
    /// When Bitrix24 last changed the deal (`DATE_MODIFY`).
    pub modified_at: Option<Timestamp>,
    /// Decoded user fields by code (legacy spelling). A field missing here is unset.
    pub fields: BTreeMap<FieldCode, FieldValue>,
}

impl Deal {
    /// Returns the decoded value of a user field, or [`FieldValue::Empty`] when it is unset.
    pub fn field(&self, code: &FieldCode) -> &FieldValue {
        static EMPTY: FieldValue = FieldValue::Empty;
        self.fields.get(code).unwrap_or(&EMPTY)
    }
}
