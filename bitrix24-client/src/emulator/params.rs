//! Method parameters as the portal reads them, with PHP's loose conversions.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The key order of object-valued top-level parameters, as the caller sent them.
///
/// `serde_json` keeps object keys sorted, but the order of `cmd` (batch
/// commands run in order) and of `order` (sort priority) matters.
pub(crate) type KeyOrder = HashMap<String, Vec<String>>;

/// The parameters of one method call, merged from the query string and the body.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params {
    pub(crate) map: Map<String, Value>,
    pub(crate) order: KeyOrder,
}

impl Params {
    pub(crate) fn new(map: Map<String, Value>, order: KeyOrder) -> Self {
        Self { map, order }
    }

    /// Returns a parameter by its exact name (the universal `crm.item.*` style).
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Returns a parameter the way legacy CRM methods resolve it: the name in
    /// lower case, then in upper case (`id` or `ID`, not `Id`).
    pub(crate) fn get_legacy(&self, name: &str) -> Option<&Value> {
        self.legacy_key(name).and_then(|key| self.map.get(key))
    }

    fn legacy_key(&self, name: &str) -> Option<&str> {
        let lower = name.to_ascii_lowercase();
        let upper = name.to_ascii_uppercase();
        self.map
            .keys()
            .find(|key| **key == lower)
            .or_else(|| self.map.keys().find(|key| **key == upper))
            .map(String::as_str)
    }

    /// Returns the entries of an object parameter in the order the caller sent them.
    pub(crate) fn entries(&self, name: &str, legacy: bool) -> Vec<(String, Value)> {
        let key = if legacy {
            self.legacy_key(name)
        } else {
            self.map.contains_key(name).then_some(name)
        };
        let Some(key) = key else {
            return Vec::new();
        };
        match self.map.get(key) {
            Some(Value::Object(object)) => ordered_entries(object, self.order.get(key)),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, value)| (index.to_string(), value.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn ordered_entries(
    object: &Map<String, Value>,
    order: Option<&Vec<String>>,
) -> Vec<(String, Value)> {
    let mut entries: Vec<(String, Value)> = Vec::new();
    for key in order.into_iter().flatten() {
        if let Some(value) = object.get(key)
            && !entries.iter().any(|(k, _)| k == key)
        {
            entries.push((key.clone(), value.clone()));
        }
    }
    for (key, value) in object {
        if !entries.iter().any(|(k, _)| k == key) {
            entries.push((key.clone(), value.clone()));
        }
    }
    entries
}

/// Reads the key order of each object-valued top-level member of a JSON body.
pub(crate) fn json_key_order(body: &[u8]) -> KeyOrder {
    serde_json::from_slice::<TopLevel>(body)
        .map(|top| top.0)
        .unwrap_or_default()
}

struct TopLevel(KeyOrder);

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = TopLevel;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TopLevel, A::Error> {
                let mut order = KeyOrder::new();
                while let Some(key) = map.next_key::<String>()? {
                    if let Keys(Some(keys)) = map.next_value::<Keys>()? {
                        order.insert(key, keys);
                    }
                }
                Ok(TopLevel(order))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

/// The keys of a JSON object in document order; `None` for any other value.
struct Keys(Option<Vec<String>>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Keys;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(Keys(Some(keys)))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Keys, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Keys(None))
            }

            fn visit_bool<E>(self, _: bool) -> Result<Keys, E> {
                Ok(Keys(None))
            }

            fn visit_i64<E>(self, _: i64) -> Result<Keys, E> {
                Ok(Keys(None))
            }

            fn visit_u64<E>(self, _: u64) -> Result<Keys, E> {
                Ok(Keys(None))
            }

            fn visit_f64<E>(self, _: f64) -> Result<Keys, E> {
                Ok(Keys(None))
            }

            fn visit_str<E>(self, _: &str) -> Result<Keys, E> {
                Ok(Keys(None))
            }

            fn visit_unit<E>(self) -> Result<Keys, E> {
                Ok(Keys(None))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

/// PHP's `intval` of a parameter: leading digits of a string, the integer part of a number.
pub(crate) fn intval(value: &Value) -> i64 {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Value::String(text) => leading_int(text),
        Value::Bool(true) => 1,
        _ => 0,
    }
}

fn leading_int(text: &str) -> i64 {
    let text = text.trim_start();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse::<i64>().map(|n| sign * n).unwrap_or(0)
}

/// Reads a positive record id: a positive integer or a string of digits.
pub(crate) fn positive_id(value: Option<&Value>) -> Option<u64> {
    let id = intval(value?);
    u64::try_from(id).ok().filter(|id| *id > 0)
}

/// PHP's `(bool)` cast: `""`, `"0"`, `0`, `false`, `null` and `[]` are false.
pub(crate) fn php_bool(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|f| f != 0.0),
        Value::String(text) => !(text.is_empty() || text == "0"),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Renders a scalar parameter as PHP would see it as a string.
pub(crate) fn php_string(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(true) => Some("1".to_owned()),
        Value::Bool(false) => Some(String::new()),
        _ => None,
    }
}

/// Returns the values of a PHP array parameter: list items, or the values of a map.
pub(crate) fn array_values(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => map.values().collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn legacy_names_accept_lower_and_upper_case() {
        let Value::Object(map) = json!({"ID": 5, "fields": {}}) else {
            unreachable!()
        };
        let params = Params::new(map, KeyOrder::new());
        assert_eq!(params.get_legacy("id"), Some(&json!(5)));
        assert!(params.get_legacy("FIELDS").is_some());
        assert!(params.get("id").is_none());
    }

    #[test]
    fn json_key_order_follows_the_document() {
        let body =
            br#"{"cmd": {"b": "x", "a": "y"}, "order": {"SORT": "ASC", "ID": "DESC"}, "id": 1}"#;
        let order = json_key_order(body);
        assert_eq!(order["cmd"], ["b", "a"]);
        assert_eq!(order["order"], ["SORT", "ID"]);
        let map: Value = serde_json::from_slice(body).unwrap();
        let params = Params::new(map.as_object().unwrap().clone(), order);
        let keys: Vec<String> = params
            .entries("ORDER", true)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["SORT", "ID"]);
    }

    #[test]
    fn intval_reads_leading_digits() {
        assert_eq!(intval(&json!("12abc")), 12);
        assert_eq!(intval(&json!("-1")), -1);
        assert_eq!(intval(&json!("abc")), 0);
        assert_eq!(intval(&json!(7.9)), 7);
    }

    #[test]
    fn php_bool_treats_string_false_as_true() {
        assert!(php_bool(&json!("false")));
        assert!(!php_bool(&json!("0")));
        assert!(!php_bool(&json!(0)));
        assert!(php_bool(&json!(1)));
    }
}
