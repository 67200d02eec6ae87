//! PHP-style query strings: `fields[TITLE]=x&rows[0][PRICE]=5&select[0]=ID`.
//!
//! [`encode`] writes nested JSON the way PHP's `http_build_query` does with
//! RFC 3986 escaping, which is what `batch` command strings need.
//! Three choices differ from PHP on purpose:
//!
//! - `null` becomes an explicit empty value (`fields[DESCRIPTION]=`), never the
//!   text `None` and never a dropped key, so a clear reaches the portal.
//! - An empty list or map also becomes `key=`, because PHP would drop the key
//!   and the portal would leave the field unchanged.
//! - `true`/`false` become `1`/`0`, as in PHP. Bitrix24 fields that want `Y`/`N`
//!   must be given the text.
//!
//! [`decode`] reads a query string the way PHP's `parse_str` does. Keys and
//! values are percent-decoded (`+` is a space), so literal and encoded
//! brackets mean the same. `a[b][c]` nests, `a[]` appends, and a map whose
//! keys are exactly `0..n-1` in order becomes a JSON list. Every value is a
//! string. Work is bounded by [`DecodeLimits`].

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Bytes left unescaped, as in PHP's `rawurlencode`: letters, digits and `-_.~`.
const RAW_URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encodes a JSON object as a PHP-style query string.
///
/// Fails when `params` is not an object, or when PHP's `parse_str` would
/// change a key. That is a key with `[` or `]` inside, or a top-level key that
/// is empty or contains a space or a dot (PHP turns those into `_`).
///
/// ```
/// use serde_json::json;
///
/// let query = bitrix24_client::php_query::encode(&json!({
///     "id": 281,
///     "rows": [{"PRODUCT_NAME": "Item A", "PRICE": 5555}],
/// }))?;
/// assert_eq!(query, "id=281&rows[0][PRICE]=5555&rows[0][PRODUCT_NAME]=Item%20A");
/// # Ok::<(), bitrix24_client::Error>(())
/// ```
pub fn encode(params: &Value) -> Result<String> {
    encode_with(params, false)
}

/// Encodes batch command parameters: like [`encode`], but a string that is
/// exactly a batch reference such as `$result[get_user][ID]` is written
/// unescaped, so the portal can substitute the earlier command's result.
pub(crate) fn encode_batch_params(params: &Value) -> Result<String> {
    encode_with(params, true)
}

fn encode_with(params: &Value, pass_references: bool) -> Result<String> {
    let Value::Object(map) = params else {
        return Err(Error::invalid_query("parameters must be a JSON object"));
    };

    let mut pairs = Vec::new();
    for (key, value) in map {
        check_top_level_key(key)?;
        push_pairs(&mut pairs, encode_component(key), value, pass_references)?;
    }
    Ok(pairs.join("&"))
}

fn check_top_level_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid_query("a top-level key is empty"));
    }
    if key.contains([' ', '.']) {
        return Err(Error::invalid_query(format!(
            "top-level key {key:?} contains a space or a dot, which PHP turns into '_'"
        )));
    }
    check_nested_key(key)
}

fn check_nested_key(key: &str) -> Result<()> {
    if key.contains(['[', ']']) {
        return Err(Error::invalid_query(format!(
            "key {key:?} contains a bracket, which PHP reads as nesting"
        )));
    }
    Ok(())
}

fn push_pairs(
    pairs: &mut Vec<String>,
    prefix: String,
    value: &Value,
    pass_references: bool,
) -> Result<()> {
    match value {
        Value::Null => pairs.push(format!("{prefix}=")),
        Value::Bool(flag) => pairs.push(format!("{prefix}={}", u8::from(*flag))),
        Value::Number(number) => pairs.push(format!("{prefix}={number}")),
        Value::String(text) if pass_references && is_batch_reference(text) => {
            pairs.push(format!("{prefix}={text}"));
        }
        Value::String(text) => pairs.push(format!("{prefix}={}", encode_component(text))),
        Value::Array(items) if items.is_empty() => pairs.push(format!("{prefix}=")),
        Value::Object(map) if map.is_empty() => pairs.push(format!("{prefix}=")),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                push_pairs(pairs, format!("{prefix}[{index}]"), item, pass_references)?;
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                check_nested_key(key)?;
                let nested = format!("{prefix}[{}]", encode_component(key));
                push_pairs(pairs, nested, item, pass_references)?;
            }
        }
    }
    Ok(())
}

fn encode_component(text: &str) -> String {
    utf8_percent_encode(text, RAW_URL_ENCODE).to_string()
}

/// Returns whether `text` is a batch reference: `$result[key]` followed by
/// bracketed keys, all of letters, digits and `_`.
pub(crate) fn is_batch_reference(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("$result") else {
        return false;
    };
    let mut rest = rest;
    let mut segments = 0;
    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return false;
        };
        let segment = &inner[..end];
        let valid = !segment.is_empty()
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return false;
        }
        segments += 1;
        rest = &inner[end + 1..];
    }
    rest.is_empty() && segments >= 1
}

/// Bounds on the work [`decode_with`] does on untrusted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The maximum `key=value` pairs read; PHP's `max_input_vars` default is 1000.
    pub max_pairs: usize,
    /// The maximum bracket levels in one key; PHP's `max_input_nesting_level` default is 64.
    pub max_depth: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_pairs: 1000,
            max_depth: 64,
        }
    }
}

/// Decodes a PHP-style query string into nested JSON with the default limits.
///
/// ```
/// use serde_json::json;
///
/// let value = bitrix24_client::php_query::decode("data%5BFIELDS%5D%5BID%5D=662&ts=1")?;
/// assert_eq!(value, json!({"data": {"FIELDS": {"ID": "662"}}, "ts": "1"}));
/// # Ok::<(), bitrix24_client::Error>(())
/// ```
pub fn decode(query: &str) -> Result<Value> {
    decode_with(query, DecodeLimits::default())
}

/// Decodes a PHP-style query string into nested JSON, failing when the input
/// has more pairs or deeper keys than `limits` allow.
pub fn decode_with(query: &str, limits: DecodeLimits) -> Result<Value> {
    let mut root = Node::map();
    let mut pairs = 0;

    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        pairs += 1;
        if pairs > limits.max_pairs {
            return Err(Error::invalid_query(format!(
                "more than {} key=value pairs",
                limits.max_pairs
            )));
        }

        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode_form(raw_key);
        let Some(path) = split_key(&key) else {
            continue;
        };
        if path.len() > limits.max_depth + 1 {
            return Err(Error::invalid_query(format!(
                "a key is nested deeper than {} levels",
                limits.max_depth
            )));
        }
        root.insert(&path, percent_decode_form(raw_value));
    }
    Ok(root.into_value())
}

/// Percent-decodes one form component, reading `+` as a space.
fn percent_decode_form(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Splits a decoded key into its base name and bracket segments the way
/// PHP's `parse_str` does. `None` for an empty base name, which PHP ignores.
fn split_key(key: &str) -> Option<Vec<Segment>> {
    let key = key.trim_start_matches(' ');
    let (base, mut rest) = match key.find('[') {
        Some(open) if key[open..].contains(']') => (&key[..open], &key[open..]),
        _ => (key, ""),
    };
    if base.is_empty() {
        return None;
    }

    let base = base.replace([' ', '.'], "_");
    let base = if rest.is_empty() {
        base.replace('[', "_")
    } else {
        base
    };
    let mut path = vec![Segment::Key(base)];

    while let Some(inner) = rest.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            break;
        };
        let segment = &inner[..end];
        path.push(if segment.is_empty() {
            Segment::Append
        } else {
            Segment::Key(segment.to_owned())
        });
        rest = &inner[end + 1..];
    }
    Some(path)
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Append,
}

/// A PHP array under construction: keys kept in insertion order.
#[derive(Debug)]
enum Node {
    Leaf(String),
    Map {
        entries: Vec<(String, Node)>,
        next_index: u64,
    },
}

impl Node {
    fn map() -> Self {
        Node::Map {
            entries: Vec::new(),
            next_index: 0,
        }
    }

    fn insert(&mut self, path: &[Segment], value: String) {
        let Some((first, rest)) = path.split_first() else {
            *self = Node::Leaf(value);
            return;
        };
        if !matches!(self, Node::Map { .. }) {
            *self = Node::map();
        }
        let Node::Map {
            entries,
            next_index,
        } = self
        else {
            return;
        };

        let key = match first {
            Segment::Key(key) => key.clone(),
            Segment::Append => next_index.to_string(),
        };
        if let Some(index) = php_index(&key) {
            *next_index = (*next_index).max(index.saturating_add(1));
        }

        let position = match entries.iter().position(|(existing, _)| *existing == key) {
            Some(position) => position,
            None => {
                entries.push((key, Node::map()));
                entries.len() - 1
            }
        };
        entries[position].1.insert(rest, value);
    }

    fn into_value(self) -> Value {
        match self {
            Node::Leaf(text) => Value::String(text),
            Node::Map { entries, .. } => {
                let is_list = entries
                    .iter()
                    .enumerate()
                    .all(|(index, (key, _))| *key == index.to_string());
                if is_list && !entries.is_empty() {
                    Value::Array(
                        entries
                            .into_iter()
                            .map(|(_, node)| node.into_value())
                            .collect(),
                    )
                } else {
                    let map: Map<String, Value> = entries
                        .into_iter()
                        .map(|(key, node)| (key, node.into_value()))
                        .collect();
                    Value::Object(map)
                }
            }
        }
    }
}

/// Returns the integer a key stands for in a PHP array (`"7"` but not `"07"`).
fn php_index(key: &str) -> Option<u64> {
    let canonical = !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_digit())
        && (key == "0" || !key.starts_with('0'));
    if canonical { key.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_rows_encode_with_indices() {
        let params = json!({
            "id": 281,
            "rows": [
                {"PRODUCT_NAME": "Item A", "PRICE": 5555, "QUANTITY": 2},
                {"PRODUCT_ID": 2809, "PRICE": 100}
            ]
        });

        let query = encode(&params).unwrap();

        assert_eq!(
            query,
            "id=281&rows[0][PRICE]=5555&rows[0][PRODUCT_NAME]=Item%20A&rows[0][QUANTITY]=2\
             &rows[1][PRICE]=100&rows[1][PRODUCT_ID]=2809"
        );
    }

    #[rstest]
    #[case(json!({"fields": {"DESCRIPTION": null}}), "fields[DESCRIPTION]=")]
    #[case(json!({"fields": {"UF_CRM_1": []}}), "fields[UF_CRM_1]=")]
    #[case(json!({"filter": {">ID": 5}}), "filter[%3EID]=5")]
    #[case(json!({"flag": true, "off": false}), "flag=1&off=0")]
    #[case(json!({"title": "Ivan&Martin"}), "title=Ivan%26Martin")]
    #[case(json!({"title": "Дело №1"}), "title=%D0%94%D0%B5%D0%BB%D0%BE%20%E2%84%961")]
    #[case(json!({"select": ["ID", "UF_*"]}), "select[0]=ID&select[1]=UF_%2A")]
    fn encodes_like_http_build_query(#[case] params: Value, #[case] expected: &str) {
        assert_eq!(encode(&params).unwrap(), expected);
    }

    #[rstest]
    #[case(json!({"a.b": 1}))]
    #[case(json!({"a b": 1}))]
    #[case(json!({"": 1}))]
    #[case(json!({"a": {"b]": 1}}))]
    #[case(json!([1, 2]))]
    fn rejects_keys_php_would_mangle(#[case] params: Value) {
        assert!(encode(&params).is_err());
    }

    #[test]
    fn batch_references_stay_unescaped() {
        let params = json!({"ID": "$result[get_user][UF_DEPARTMENT][0]", "NAME": "$x"});

        assert_eq!(
            encode_batch_params(&params).unwrap(),
            "ID=$result[get_user][UF_DEPARTMENT][0]&NAME=%24x"
        );
        assert_eq!(
            encode(&params).unwrap(),
            "ID=%24result%5Bget_user%5D%5BUF_DEPARTMENT%5D%5B0%5D&NAME=%24x"
        );
    }

    #[rstest]
    #[case("a[b][c]=1", json!({"a": {"b": {"c": "1"}}}))]
    #[case("a%5Bb%5D=1", json!({"a": {"b": "1"}}))]
    #[case("a[]=x&a[]=y", json!({"a": ["x", "y"]}))]
    #[case("a[1]=x&a[0]=y", json!({"a": {"1": "x", "0": "y"}}))]
    #[case("a[0]=x&a[2]=y", json!({"a": {"0": "x", "2": "y"}}))]
    #[case("a[5]=x&a[]=y", json!({"a": {"5": "x", "6": "y"}}))]
    #[case("t=a+b%20c", json!({"t": "a b c"}))]
    #[case("x", json!({"x": ""}))]
    #[case("a.b=1&c d=2", json!({"a_b": "1", "c_d": "2"}))]
    #[case("a[b=1", json!({"a_b": "1"}))]
    #[case("a[b]c=1", json!({"a": {"b": "1"}}))]
    #[case("=1&&[x]=2", json!({}))]
    #[case("a=1&a[b]=2", json!({"a": {"b": "2"}}))]
    fn decodes_like_parse_str(#[case] query: &str, #[case] expected: Value) {
        assert_eq!(decode(query).unwrap(), expected);
    }

    #[test]
    fn decode_limits_pairs() {
        let query = ["a=1"; 11].join("&");
        let limits = DecodeLimits {
            max_pairs: 10,
            max_depth: 4,
        };

        assert!(decode_with(&query, limits).is_err());
    }

    #[test]
    fn decode_limits_depth() {
        let limits = DecodeLimits {
            max_pairs: 10,
            max_depth: 2,
        };

        assert!(decode_with("a[b][c]=1", limits).is_ok());
        assert!(decode_with("a[b][c][d]=1", limits).is_err());
    }

    #[test]
    fn batch_reference_grammar() {
        assert!(is_batch_reference("$result[a]"));
        assert!(is_batch_reference("$result[get_user][UF_DEPARTMENT][0]"));
        assert!(!is_batch_reference("$result"));
        assert!(!is_batch_reference("$result[]"));
        assert!(!is_batch_reference("$result[a]&b=1"));
        assert!(!is_batch_reference("$result[a] "));
    }
}
