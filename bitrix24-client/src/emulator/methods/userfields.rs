//! Reading user-field values sent by callers, per field type.

use jiff::tz::Offset;
use rust_decimal::Decimal;
use serde_json::Value;

use super::files;
use crate::emulator::clock;
use crate::emulator::data::PortalData;
use crate::emulator::data::fields::{UserField, UserFieldType};
use crate::emulator::data::values::Scalar;
use crate::emulator::params::php_string;
use crate::emulator::query::filter::FilterKind;

/// What a write does to a user field.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum UfWrite {
    Set(Vec<Scalar>),
    Unchanged,
    /// Left unchanged, but `crm.item.update` shows the field as `null` in its response.
    UnchangedShownNull,
}

/// Returns how filter values are read for a user field.
pub(crate) fn filter_kind(kind: UserFieldType) -> FilterKind {
    match kind {
        UserFieldType::String | UserFieldType::Url | UserFieldType::Money => FilterKind::Text,
        UserFieldType::Double => FilterKind::Decimal,
        UserFieldType::Integer
        | UserFieldType::Employee
        | UserFieldType::Enumeration
        | UserFieldType::File => FilterKind::Int,
        UserFieldType::Boolean => FilterKind::Bool,
        UserFieldType::Date => FilterKind::Date,
        UserFieldType::DateTime => FilterKind::DateTime,
    }
}

fn is_clear(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Reads a legacy (`crm.deal.update`) value.
pub(crate) fn legacy_write(
    data: &mut PortalData,
    field: &UserField,
    current: &[Scalar],
    value: &Value,
) -> UfWrite {
    if field.kind == UserFieldType::File {
        return files::legacy_write(data, field, current, value);
    }
    plain_write(field, value, data.offset)
}

/// Reads a `crm.item.update` value.
///
/// An empty list sent to a multiple enumeration field does not clear it; the
/// portal returns `null` for that field and keeps the stored items.
pub(crate) fn item_write(
    data: &mut PortalData,
    field: &UserField,
    current: &[Scalar],
    value: &Value,
) -> UfWrite {
    if field.kind == UserFieldType::File {
        return UfWrite::Set(files::item_write(data, field, current, value));
    }
    if field.multiple
        && field.kind == UserFieldType::Enumeration
        && matches!(value, Value::Array(items) if items.is_empty())
    {
        return UfWrite::UnchangedShownNull;
    }
    plain_write(field, value, data.offset)
}

fn plain_write(field: &UserField, value: &Value, offset: Offset) -> UfWrite {
    if is_clear(value) {
        return UfWrite::Set(Vec::new());
    }

    if field.multiple {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(map) => map.values().collect(),
            other => vec![other],
        };
        let values = items
            .into_iter()
            .filter_map(|item| scalar(field, item, offset))
            .collect();
        return UfWrite::Set(values);
    }

    if matches!(value, Value::Array(_) | Value::Object(_)) {
        return UfWrite::Unchanged;
    }
    match scalar(field, value, offset) {
        Some(scalar) => UfWrite::Set(vec![scalar]),
        None => {
            tracing::debug!(field = %field.name, "emulator ignored an invalid user-field value");
            UfWrite::Unchanged
        }
    }
}

/// Reads one non-file value for a field type; `None` when it is invalid for the type.
pub(crate) fn scalar(field: &UserField, value: &Value, offset: Offset) -> Option<Scalar> {
    let text = php_string(value)?;
    let trimmed = text.trim();
    match field.kind {
        UserFieldType::String | UserFieldType::Url => Some(Scalar::Str(text)),
        UserFieldType::Money => Some(Scalar::Str(money(trimmed)?)),
        UserFieldType::Double => trimmed.parse::<Decimal>().ok().map(Scalar::Decimal),
        UserFieldType::Integer | UserFieldType::Employee => trimmed.parse().ok().map(Scalar::Int),
        UserFieldType::Boolean => boolean(value, trimmed).map(Scalar::Bool),
        UserFieldType::Enumeration => {
            let id: u64 = trimmed.parse().ok()?;
            field
                .items
                .iter()
                .any(|item| item.id == id)
                .then_some(Scalar::Int(id as i64))
        }
        UserFieldType::Date => clock::parse_date(trimmed).map(Scalar::Date),
        UserFieldType::DateTime => clock::parse_datetime(trimmed, offset).map(Scalar::DateTime),
        UserFieldType::File => None,
    }
}

/// Money is `amount|CUR`; a bare amount gets the portal's base currency.
fn money(text: &str) -> Option<String> {
    match text.split_once('|') {
        Some((amount, currency)) => {
            amount.trim().parse::<Decimal>().ok()?;
            Some(format!("{}|{}", amount.trim(), currency.trim()))
        }
        None => {
            text.parse::<Decimal>().ok()?;
            Some(format!("{text}|RUB"))
        }
    }
}

fn boolean(value: &Value, text: &str) -> Option<bool> {
    if let Value::Bool(flag) = value {
        return Some(*flag);
    }
    match text.to_ascii_lowercase().as_str() {
        "1" | "y" | "true" => Some(true),
        "0" | "n" | "false" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::emulator::data::fields::EnumItem;

    fn field(kind: UserFieldType, multiple: bool) -> UserField {
        UserField {
            id: 1,
            name: "UF_CRM_1".to_owned(),
            kind,
            multiple,
            mandatory: false,
            label: String::new(),
            sort: 100,
            items: vec![EnumItem {
                id: 45,
                value: "Создать".to_owned(),
                sort: 10,
                default: false,
                xml_id: String::new(),
            }],
        }
    }

    #[test]
    fn money_without_currency_gets_rub() {
        assert_eq!(money("150000"), Some("150000|RUB".to_owned()));
        assert_eq!(money("150000.50|EUR"), Some("150000.50|EUR".to_owned()));
        assert_eq!(money("abc"), None);
    }

    #[test]
    fn enumeration_accepts_only_item_ids() {
        let enumeration = field(UserFieldType::Enumeration, false);
        let offset = Offset::constant(3);
        assert_eq!(
            scalar(&enumeration, &json!("45"), offset),
            Some(Scalar::Int(45))
        );
        assert_eq!(scalar(&enumeration, &json!(46), offset), None);
    }

    #[test]
    fn single_field_ignores_arrays() {
        let text = field(UserFieldType::String, false);
        assert_eq!(
            plain_write(&text, &json!(["a"]), Offset::constant(3)),
            UfWrite::Unchanged
        );
        assert_eq!(
            plain_write(&text, &json!(""), Offset::constant(3)),
            UfWrite::Set(Vec::new())
        );
    }

    #[test]
    fn multiple_field_takes_scalars_as_one_item() {
        let multi = field(UserFieldType::Enumeration, true);
        assert_eq!(
            plain_write(&multi, &json!("45"), Offset::constant(3)),
            UfWrite::Set(vec![Scalar::Int(45)])
        );
    }
}
