//! The portal's own reading of query strings and form bodies, and PHP's
//! `http_build_query` for the events it sends.
//!
//! This is written independently of the client's encoder on purpose: the
//! emulator must catch the client's encoding mistakes, not share them.
//!
//! Decoding follows PHP's `parse_str`: pairs split on `&`, `+` is a space,
//! keys and values are percent-decoded before brackets are read (so literal
//! and percent-encoded brackets mean the same), `a[]` appends, and a map
//! whose keys are exactly `0..n-1` in order becomes a JSON list, as PHP's
//! `json_encode` would show it.

use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use super::params::KeyOrder;

/// A PHP array under construction: keys in insertion order.
#[derive(Debug, Default)]
struct PhpArray {
    entries: Vec<(String, Node)>,
}

#[derive(Debug)]
enum Node {
    Leaf(String),
    Array(PhpArray),
}

impl PhpArray {
    fn next_index(&self) -> String {
        let max = self
            .entries
            .iter()
            .filter_map(|(key, _)| key.parse::<i64>().ok())
            .max();
        match max {
            Some(max) => (max + 1).to_string(),
            None => "0".to_owned(),
        }
    }

    fn slot(&mut self, key: String) -> &mut Node {
        let position = self.entries.iter().position(|(k, _)| *k == key);
        let index = match position {
            Some(index) => index,
            None => {
                self.entries.push((key, Node::Leaf(String::new())));
                self.entries.len() - 1
            }
        };
        &mut self.entries[index].1
    }

    fn insert(&mut self, path: &[String], value: String) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let key = if first.is_empty() {
            self.next_index()
        } else {
            first.clone()
        };

        let slot = self.slot(key);
        if rest.is_empty() {
            *slot = Node::Leaf(value);
            return;
        }

        if !matches!(slot, Node::Array(_)) {
            *slot = Node::Array(PhpArray::default());
        }
        if let Node::Array(child) = slot {
            child.insert(rest, value);
        }
    }

    /// Returns, per top-level entry that is a map, its keys in insertion order.
    fn key_order(&self) -> KeyOrder {
        self.entries
            .iter()
            .filter_map(|(key, node)| match node {
                Node::Array(child) => Some((
                    key.clone(),
                    child.entries.iter().map(|(k, _)| k.clone()).collect(),
                )),
                Node::Leaf(_) => None,
            })
            .collect()
    }

    fn into_value(self) -> Value {
        let is_list = self
            .entries
            .iter()
            .enumerate()
            .all(|(index, (key, _))| *key == index.to_string());
        if is_list && !self.entries.is_empty() {
            return Value::Array(
                self.entries
                    .into_iter()
                    .map(|(_, node)| node.into_value())
                    .collect(),
            );
        }

        let mut map = Map::new();
        for (key, node) in self.entries {
            map.insert(key, node.into_value());
        }
        Value::Object(map)
    }
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Leaf(text) => Value::String(text),
            Node::Array(array) => array.into_value(),
        }
    }
}

/// Decodes a query string or `application/x-www-form-urlencoded` body into a JSON object.
#[cfg(test)]
pub(crate) fn decode(input: &str) -> Map<String, Value> {
    decode_ordered(input).0
}

/// Decodes like [`decode`] and also returns the key order of object-valued parameters.
pub(crate) fn decode_ordered(input: &str) -> (Map<String, Value>, KeyOrder) {
    let mut root = PhpArray::default();
    for pair in input.split('&').filter(|pair| !pair.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = url_decode(raw_key);
        let value = url_decode(raw_value);
        if let Some(path) = key_path(&key) {
            root.insert(&path, value);
        }
    }
    let order = root.key_order();
    (root_map(root), order)
}

/// Decodes already-split names and values (multipart form fields).
pub(crate) fn decode_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) -> (Map<String, Value>, KeyOrder) {
    let mut root = PhpArray::default();
    for (key, value) in pairs {
        if let Some(path) = key_path(key) {
            root.insert(&path, value);
        }
    }
    let order = root.key_order();
    (root_map(root), order)
}

fn root_map(root: PhpArray) -> Map<String, Value> {
    match root.into_value() {
        Value::Object(map) => map,
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(index, value)| (index.to_string(), value))
            .collect(),
        _ => Map::new(),
    }
}

/// Percent-decodes one component, reading `+` as a space like PHP's `urldecode`.
pub(crate) fn url_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Splits `base[a][b][]` into `["base", "a", "b", ""]`.
///
/// Like PHP, a `.` or space in the base name becomes `_`, text after the last
/// well-formed bracket pair is ignored, and an empty base name drops the pair.
fn key_path(key: &str) -> Option<Vec<String>> {
    let (base, mut rest) = match key.find('[') {
        Some(open) if key[open..].contains(']') => (&key[..open], &key[open..]),
        _ => (key, ""),
    };
    if base.is_empty() {
        return None;
    }

    let mut path = vec![base.replace(['.', ' '], "_")];
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(close) = inner.find(']') else {
            break;
        };
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    Some(path)
}

/// Canonicalises a decoded JSON body the way PHP's `json_decode(.., true)`
/// sees it: an object whose keys are exactly `"0".."n-1"` becomes a list.
pub(crate) fn normalize_json(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let is_list = !map.is_empty()
                && map
                    .keys()
                    .enumerate()
                    .all(|(index, key)| *key == index.to_string());
            if is_list {
                let mut entries: Vec<(usize, Value)> = map
                    .into_iter()
                    .filter_map(|(key, value)| Some((key.parse().ok()?, normalize_json(value))))
                    .collect();
                entries.sort_by_key(|(index, _)| *index);
                Value::Array(entries.into_iter().map(|(_, value)| value).collect())
            } else {
                Value::Object(
                    map.into_iter()
                        .map(|(key, value)| (key, normalize_json(value)))
                        .collect(),
                )
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_json).collect()),
        other => other,
    }
}

/// Encodes pairs as PHP's `http_build_query` does: every byte but
/// `A-Z a-z 0-9 - _ .` percent-encoded (brackets in keys too), spaces as `+`.
pub(crate) fn build_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", php_urlencode(key), php_urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// PHP's `urlencode`.
pub(crate) fn php_urlencode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(byte as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn literal_and_encoded_brackets_decode_alike() {
        let literal = decode("fields[TITLE]=My%20company&fields[PHONE][0][VALUE]=112233");
        let encoded =
            decode("fields%5BTITLE%5D=My%20company&fields%5BPHONE%5D%5B0%5D%5BVALUE%5D=112233");
        assert_eq!(literal, encoded);
        assert_eq!(
            Value::Object(literal),
            json!({"fields": {"TITLE": "My company", "PHONE": [{"VALUE": "112233"}]}})
        );
    }

    #[test]
    fn empty_brackets_append() {
        let map = decode("select[]=ID&select[]=TITLE&select[]=UF_*");
        assert_eq!(
            Value::Object(map),
            json!({"select": ["ID", "TITLE", "UF_*"]})
        );
    }

    #[test]
    fn sparse_numeric_keys_stay_a_map() {
        let map = decode("a[0]=x&a[2]=y");
        assert_eq!(Value::Object(map), json!({"a": {"0": "x", "2": "y"}}));
    }

    #[test]
    fn plus_is_space_and_operators_survive() {
        let map = decode("filter[%3E%3DDATE_MODIFY]=2025-01-01+10:00:00&filter[!@ID][]=5");
        assert_eq!(
            Value::Object(map),
            json!({"filter": {">=DATE_MODIFY": "2025-01-01 10:00:00", "!@ID": ["5"]}})
        );
    }

    #[test]
    fn batch_command_is_decoded_once() {
        let map = decode("cmd[0]=crm.lead.add%3Ffields%5BTITLE%5D%3DIvan%2526Martin");
        assert_eq!(
            Value::Object(map),
            json!({"cmd": ["crm.lead.add?fields[TITLE]=Ivan%26Martin"]})
        );
    }

    #[test]
    fn dots_in_base_name_become_underscores() {
        let map = decode("a.b=1&cmd[crm.deal.get]=x");
        assert_eq!(
            Value::Object(map),
            json!({"a_b": "1", "cmd": {"crm.deal.get": "x"}})
        );
    }

    #[test]
    fn build_query_matches_php() {
        let body = build_query(&[
            ("data[FIELDS][ID]".to_owned(), "759".to_owned()),
            (
                "auth[client_endpoint]".to_owned(),
                "https://some-domain.bitrix24.com/rest/".to_owned(),
            ),
        ]);
        assert_eq!(
            body,
            "data%5BFIELDS%5D%5BID%5D=759&auth%5Bclient_endpoint%5D=https%3A%2F%2Fsome-domain.bitrix24.com%2Frest%2F"
        );
    }

    #[test]
    fn json_numeric_object_becomes_list() {
        let value = normalize_json(json!({"select": {"0": "ID", "1": "TITLE"}, "id": 5}));
        assert_eq!(value, json!({"select": ["ID", "TITLE"], "id": 5}));
    }
}
