//! Tolerant deserializers for the values Bitrix24 sends.
//!
//! Legacy methods send every scalar as a string (`"ID": "410"`), the
//! universal `crm.item.*` methods send numbers, and an unset value may be
//! `null`, `""`, `false` or `[]`. PHP also writes an empty map as `[]`. Each
//! function here accepts every one of these forms for one target type and is
//! meant for `#[serde(deserialize_with = "...")]`.

use std::collections::BTreeMap;
use std::str::FromStr;

use jiff::Timestamp;
use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Returns whether a value is one of the ways Bitrix24 writes "unset".
pub(crate) fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(text) => text.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Reads an unsigned integer from a number or a decimal string.
pub(crate) fn u64_from_value(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a signed integer from a number or a decimal string.
pub(crate) fn i64_from_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// Reads an exact decimal from a number or a string; `None` for unset values.
pub(crate) fn decimal_from_value(value: &Value) -> Option<Decimal> {
    match value {
        Value::Number(number) => parse_decimal(&number.to_string()),
        Value::String(text) => parse_decimal(text),
        _ => None,
    }
}

fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        .ok()
}

/// Reads a yes/no flag from `Y`/`N`, `1`/`0`, `true`/`false` in any JSON form.
pub(crate) fn bool_from_value(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => match number.as_i64() {
            Some(0) => Some(false),
            Some(1) => Some(true),
            _ => None,
        },
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "y" | "1" | "true" => Some(true),
            "n" | "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Reads a text value from a string or a number; `None` for unset values.
pub(crate) fn text_from_value(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Reads an instant from an ISO-8601 datetime with an offset; `None` for unset values.
pub(crate) fn timestamp_from_value(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(text) if !text.trim().is_empty() => Timestamp::from_str(text.trim()).ok(),
        _ => None,
    }
}

/// Deserializes an optional unsigned integer: number, string, or an unset value.
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if is_unset(&value) {
        return Ok(None);
    }
    u64_from_value(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected an unsigned integer, got {value}")))
}

/// Deserializes an id that is a number or a string and must be present.
pub(crate) fn u64_required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let value = Value::deserialize(deserializer)?;
    u64_from_value(&value)
        .ok_or_else(|| D::Error::custom(format!("expected an unsigned integer, got {value}")))
}

/// Deserializes an optional signed integer (for `SORT` values that may be strings).
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if is_unset(&value) {
        return Ok(None);
    }
    i64_from_value(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected an integer, got {value}")))
}

/// Deserializes an optional id into a newtype built from `u64`, treating `0` as unset.
pub(crate) fn opt_id<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<u64>,
{
    Ok(opt_u64(deserializer)?.filter(|id| *id != 0).map(T::from))
}

/// Deserializes an optional id into a newtype built from `u64`, keeping `0`
/// (the default pipeline is category 0).
pub(crate) fn opt_id_keep_zero<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: From<u64>,
{
    Ok(opt_u64(deserializer)?.map(T::from))
}

/// Deserializes an optional float (the `time` block of a response) from a number or a string.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    match &value {
        Value::Number(number) => Ok(number.as_f64()),
        Value::String(text) if !text.trim().is_empty() => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected a number, got {value}"))),
        _ if is_unset(&value) => Ok(None),
        _ => Err(D::Error::custom(format!("expected a number, got {value}"))),
    }
}

/// Deserializes an optional decimal from a number or a string.
pub(crate) fn opt_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Decimal>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if is_unset(&value) {
        return Ok(None);
    }
    decimal_from_value(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected a decimal number, got {value}")))
}

/// Deserializes an optional yes/no flag.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<bool>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if matches!(&value, Value::Null) || matches!(&value, Value::String(s) if s.is_empty()) {
        return Ok(None);
    }
    bool_from_value(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected Y/N, 1/0 or true/false, got {value}")))
}

/// Deserializes a yes/no flag that defaults to false when unset.
pub(crate) fn bool_or_false<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(opt_bool(deserializer)?.unwrap_or(false))
}

/// Deserializes optional text from a string or a number; `null` and `""` are unset.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if is_unset(&value) {
        return Ok(None);
    }
    text_from_value(&value)
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected text, got {value}")))
}

/// Deserializes an optional instant from an ISO-8601 datetime with an offset.
pub(crate) fn opt_timestamp<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Timestamp>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    if is_unset(&value) {
        return Ok(None);
    }
    timestamp_from_value(&value).map(Some).ok_or_else(|| {
        D::Error::custom(format!(
            "expected an ISO-8601 datetime with an offset, got {value}"
        ))
    })
}

/// Deserializes a PHP array that is a map keyed by string: `{...}`, or `[]`
/// when empty, or a JSON list when its keys happen to be `0..n-1`.
pub(crate) fn php_map<'de, D, V>(deserializer: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    let entries: Vec<(String, Value)> = match value {
        Value::Null => Vec::new(),
        Value::Object(map) => map.into_iter().collect(),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, item)| (index.to_string(), item))
            .collect(),
        other => {
            return Err(D::Error::custom(format!(
                "expected a map or [], got {other}"
            )));
        }
    };

    let mut map = BTreeMap::new();
    for (key, item) in entries {
        let decoded = serde_json::from_value(item)
            .map_err(|error| D::Error::custom(format!("entry `{key}`: {error}")))?;
        map.insert(key, decoded);
    }
    Ok(map)
}

/// Deserializes a list that PHP may also send as `false`, `null` or a map with numeric keys.
pub(crate) fn php_list<'de, D, V>(deserializer: D) -> Result<Vec<V>, D::Error>
where
    D: Deserializer<'de>,
    V: DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    let items: Vec<Value> = match value {
        Value::Null | Value::Bool(false) => Vec::new(),
        Value::String(text) if text.is_empty() => Vec::new(),
        Value::Array(items) => items,
        Value::Object(map) => map.into_iter().map(|(_, item)| item).collect(),
        other => return Err(D::Error::custom(format!("expected a list, got {other}"))),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            serde_json::from_value(item)
                .map_err(|error| D::Error::custom(format!("item {index}: {error}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Row {
        #[serde(default, deserialize_with = "opt_u64")]
        id: Option<u64>,
        #[serde(default, deserialize_with = "opt_decimal")]
        amount: Option<Decimal>,
        #[serde(default, deserialize_with = "opt_bool")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "php_map")]
        map: BTreeMap<String, u64>,
    }

    #[rstest]
    #[case(json!({"id": 410}), Some(410))]
    #[case(json!({"id": "410"}), Some(410))]
    #[case(json!({"id": " 410 "}), Some(410))]
    #[case(json!({"id": null}), None)]
    #[case(json!({"id": ""}), None)]
    #[case(json!({"id": false}), None)]
    #[case(json!({}), None)]
    fn ids_read_numbers_strings_and_empties(#[case] input: Value, #[case] expected: Option<u64>) {
        let row: Row = serde_json::from_value(input).unwrap();
        assert_eq!(row.id, expected);
    }

    #[rstest]
    #[case(json!("1000000.00"), "1000000.00")]
    #[case(json!(999.9), "999.9")]
    #[case(json!(150000), "150000")]
    fn decimals_read_numbers_and_strings(#[case] amount: Value, #[case] expected: &str) {
        let row: Row = serde_json::from_value(json!({ "amount": amount })).unwrap();
        assert_eq!(row.amount, Some(Decimal::from_str(expected).unwrap()));
    }

    #[rstest]
    #[case(json!("Y"), Some(true))]
    #[case(json!("N"), Some(false))]
    #[case(json!("1"), Some(true))]
    #[case(json!(0), Some(false))]
    #[case(json!(true), Some(true))]
    #[case(json!("false"), Some(false))]
    #[case(json!(null), None)]
    fn flags_read_every_spelling(#[case] flag: Value, #[case] expected: Option<bool>) {
        let row: Row = serde_json::from_value(json!({ "flag": flag })).unwrap();
        assert_eq!(row.flag, expected);
    }

    #[test]
    fn garbage_flag_is_an_error() {
        assert!(serde_json::from_value::<Row>(json!({"flag": "maybe"})).is_err());
    }

    #[rstest]
    #[case(json!([]), 0)]
    #[case(json!({}), 0)]
    #[case(json!({"a": 1, "b": 2}), 2)]
    #[case(json!([5, 6]), 2)]
    fn php_maps_accept_lists_and_objects(#[case] map: Value, #[case] expected_len: usize) {
        let row: Row = serde_json::from_value(json!({ "map": map })).unwrap();
        assert_eq!(row.map.len(), expected_len);
    }
}
