//! CRM entity types (`entityTypeId`) and user-field names across API generations.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A CRM object type as `crm.item.*` numbers it.
///
/// Invoices exist twice: [`EntityType::SmartInvoice`] (31) is the current
/// kind; [`EntityType::LegacyInvoice`] (5) is the old `crm.invoice.*` kind,
/// which `crm.item.*` rejects with `ENTITY_TYPE_NOT_SUPPORTED`. Smart
/// processes get ids at run time (from `crm.type.list`) and are [`EntityType::Dynamic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    /// Leads (1).
    Lead,
    /// Deals (2).
    Deal,
    /// Contacts (3).
    Contact,
    /// Companies (4).
    Company,
    /// Old invoices (5), served only by the deprecated `crm.invoice.*` methods.
    LegacyInvoice,
    /// Quotes (7).
    Quote,
    /// Smart invoices (31), the invoices of current portals.
    SmartInvoice,
    /// Smart documents (36).
    SmartDocument,
    /// Any other type, such as a smart process (1036, 177, ...).
    Dynamic(u32),
}

impl EntityType {
    /// Returns the numeric `entityTypeId`.
    pub fn id(self) -> u32 {
        match self {
            EntityType::Lead => 1,
            EntityType::Deal => 2,
            EntityType::Contact => 3,
            EntityType::Company => 4,
            EntityType::LegacyInvoice => 5,
            EntityType::Quote => 7,
            EntityType::SmartInvoice => 31,
            EntityType::SmartDocument => 36,
            EntityType::Dynamic(id) => id,
        }
    }

    /// Returns the type with this numeric id.
    pub fn from_id(id: u32) -> Self {
        match id {
            1 => EntityType::Lead,
            2 => EntityType::Deal,
            3 => EntityType::Contact,
            4 => EntityType::Company,
            5 => EntityType::LegacyInvoice,
            7 => EntityType::Quote,
            31 => EntityType::SmartInvoice,
            36 => EntityType::SmartDocument,
            other => EntityType::Dynamic(other),
        }
    }
}

impl fmt::Display for EntityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id())
    }
}

impl From<u32> for EntityType {
    fn from(id: u32) -> Self {
        Self::from_id(id)
    }
}

impl Serialize for EntityType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.id())
    }
}

impl<'de> Deserialize<'de> for EntityType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = crate::de::u64_required(deserializer)?;
        u32::try_from(id)
            .map(EntityType::from_id)
            .map_err(|_| serde::de::Error::custom(format!("entity type id {id} is too large")))
    }
}

/// Converts a user-field name from the legacy spelling (`UF_CRM_1742556744977`)
/// to the `crm.item.*` spelling (`ufCrm_1742556744977`).
///
/// Follows the portal's own converter: names of letters and `_` only, and
/// smart-process names `UF_CRM_<1-4 digits>_<digits or letters>`, are
/// camel-cased with the underscore between two digits kept
/// (`UF_CRM_10_5186744711` → `ufCrm10_5186744711`). Other `UF_CRM_` names
/// keep their tail as it is after `ufCrm_`.
pub fn uf_to_item_name(legacy: &str) -> String {
    if !legacy
        .get(..3)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("UF_"))
    {
        return camel_case(legacy);
    }
    if camel_cases_plainly(legacy) {
        return camel_case(legacy);
    }
    if legacy
        .get(..7)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("UF_CRM_"))
    {
        return format!("ufCrm_{}", &legacy[7..]);
    }
    if legacy
        .get(..6)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("UF_CRM"))
    {
        return format!("ufCrm{}", &legacy[6..]);
    }
    format!("uf{}", &legacy[3..])
}

/// Converts a user-field name from the `crm.item.*` spelling back to the
/// legacy one: `ufCrm_1742556744977` → `UF_CRM_1742556744977`,
/// `ufCrm10_5186744711` → `UF_CRM_10_5186744711`.
pub fn uf_from_item_name(item: &str) -> String {
    if let Some(rest) = strip_prefix_ignore_case(item, "ufCrm_")
        && !rest.is_empty()
        && !plain_letters(item)
    {
        return format!("UF_CRM_{rest}");
    }
    snake_upper(item)
}

/// Returns whether the portal camel-cases this name with its general rule.
fn camel_cases_plainly(name: &str) -> bool {
    if plain_letters(name) && name.bytes().all(|b| !b.is_ascii_lowercase()) {
        return true;
    }
    let Some(rest) = name.strip_prefix("UF_CRM_") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if !(1..=4).contains(&digits) || rest.as_bytes().get(digits) != Some(&b'_') {
        return false;
    }
    let tail = &rest[digits + 1..];
    !tail.is_empty()
        && (tail.bytes().all(|b| b.is_ascii_digit() || b == b'_')
            || tail.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
}

fn plain_letters(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
}

/// Camel-cases an UPPER_SNAKE name, keeping an underscore between two digits.
fn camel_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    let mut upper_next = false;

    for (index, &c) in chars.iter().enumerate() {
        if c == '_' {
            let between_digits = index > 0
                && chars[index - 1].is_ascii_digit()
                && chars.get(index + 1).is_some_and(char::is_ascii_digit);
            if between_digits {
                out.push('_');
            } else {
                upper_next = !out.is_empty();
            }
            continue;
        }
        if upper_next {
            out.extend(c.to_uppercase());
            upper_next = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Converts camelCase to UPPER_SNAKE, with an underscore before each capital
/// and before each run of digits (`parentId2` → `PARENT_ID_2`).
fn snake_upper(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let mut previous: Option<char> = None;

    for c in name.chars() {
        let boundary = match previous {
            Some('_') => false,
            Some(p) => {
                (c.is_ascii_uppercase() && (p.is_ascii_lowercase() || p.is_ascii_digit()))
                    || (c.is_ascii_digit() && p.is_ascii_alphabetic())
            }
            None => false,
        };
        if boundary {
            out.push('_');
        }
        out.extend(c.to_uppercase());
        previous = Some(c);
    }
    out
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("UF_CRM_1742556744977", "ufCrm_1742556744977")]
    #[case("UF_CRM_1708511654449", "ufCrm_1708511654449")]
    #[case("UF_CRM_1746431727372", "ufCrm_1746431727372")]
    #[case("UF_CRM_1720019876534", "ufCrm_1720019876534")]
    #[case("UF_CRM_10_5186744711", "ufCrm10_5186744711")]
    #[case("UF_CRM_44_1721812760630", "ufCrm44_1721812760630")]
    #[case("UF_CRM_7_1739432938", "ufCrm7_1739432938")]
    #[case("UF_CRM_10_DIGIT", "ufCrm10Digit")]
    #[case("UF_CRM_MY_STRING", "ufCrmMyString")]
    #[case("UF_CRM_10_DIGIT10", "ufCrm_10_DIGIT10")]
    #[case("ASSIGNED_BY_ID", "assignedById")]
    fn legacy_names_map_to_item_names(#[case] legacy: &str, #[case] item: &str) {
        assert_eq!(uf_to_item_name(legacy), item);
    }

    #[rstest]
    #[case("ufCrm_1742556744977", "UF_CRM_1742556744977")]
    #[case("ufCrm10_5186744711", "UF_CRM_10_5186744711")]
    #[case("ufCrm44_1721812760630", "UF_CRM_44_1721812760630")]
    #[case("ufCrm_7_1739432938", "UF_CRM_7_1739432938")]
    #[case("ufCrm7_1739432938", "UF_CRM_7_1739432938")]
    #[case("ufCrm10Digit", "UF_CRM_10_DIGIT")]
    #[case("ufCrmMyString", "UF_CRM_MY_STRING")]
    #[case("assignedById", "ASSIGNED_BY_ID")]
    #[case("parentId2", "PARENT_ID_2")]
    fn item_names_map_back(#[case] item: &str, #[case] legacy: &str) {
        assert_eq!(uf_from_item_name(item), legacy);
    }

    #[rstest]
    #[case(2, EntityType::Deal)]
    #[case(5, EntityType::LegacyInvoice)]
    #[case(31, EntityType::SmartInvoice)]
    #[case(1220, EntityType::Dynamic(1220))]
    fn entity_types_round_trip(#[case] id: u32, #[case] expected: EntityType) {
        assert_eq!(EntityType::from_id(id), expected);
        assert_eq!(expected.id(), id);
    }
}
