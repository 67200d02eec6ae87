//! List filters as the portal reads them: `{"<op><FIELD>": value}`.
//!
//! Operators (longest prefix wins): `=` (or none) equal, `!`/`!=` not equal,
//! `>`, `>=`, `<`, `<=`, `@` in, `!@` not in, `%` substring, `=%`/`%=` LIKE
//! with the caller's own `%`, `!%` not substring, `><`/`!><` between.
//! Keys naming unknown fields are dropped, as the portal does, so a typo
//! widens the result instead of failing.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::Offset;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::emulator::clock;
use crate::emulator::data::values::Scalar;
use crate::emulator::params::php_string;

/// How a filter value is read for a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FilterKind {
    Int,
    Decimal,
    Text,
    Bool,
    Date,
    DateTime,
}

/// A field a filter may name: where its value is stored and how to read filter values for it.
#[derive(Clone, Debug)]
pub(crate) struct FieldRef {
    pub(crate) name: String,
    pub(crate) kind: FilterKind,
    /// LIKE on status, contact and company fields is turned into equality by the portal.
    pub(crate) like_as_eq: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    NotEq,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Contains,
    NotContains,
    Like,
    NotLike,
    Between,
    NotBetween,
}

/// One parsed filter condition.
#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub(crate) field: String,
    pub(crate) op: Op,
    pub(crate) values: Vec<Cmp>,
}

/// A value ready for comparison.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cmp {
    Int(i64),
    Dec(Decimal),
    Text(String),
    Bool(bool),
    Date(Date),
    Time(Timestamp),
    /// `""`, `null` or `false`: "the field is empty".
    Empty,
    /// A value that cannot be read for the field's type; it matches nothing.
    Invalid,
}

const OPERATORS: &[(&str, Op)] = &[
    ("!><", Op::NotBetween),
    ("><", Op::Between),
    ("!=%", Op::NotLike),
    ("!%=", Op::NotLike),
    ("!@", Op::NotIn),
    ("!=", Op::NotEq),
    ("!%", Op::NotContains),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=%", Op::Like),
    ("%=", Op::Like),
    ("!", Op::NotEq),
    ("@", Op::In),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("=", Op::Eq),
    ("%", Op::Contains),
];

/// Splits a filter key into its operator and field name.
pub(crate) fn split_key(key: &str) -> (Op, &str) {
    for (prefix, op) in OPERATORS {
        if let Some(field) = key.strip_prefix(prefix) {
            return (*op, field);
        }
    }
    (Op::Eq, key)
}

/// Parses a filter object; conditions on unknown fields are dropped.
pub(crate) fn parse(
    filter: Option<&Value>,
    offset: Offset,
    resolve: impl Fn(&str) -> Option<FieldRef>,
) -> Vec<Condition> {
    let Some(Value::Object(map)) = filter else {
        return Vec::new();
    };

    let mut conditions = Vec::new();
    for (key, value) in map {
        let (mut op, name) = split_key(key);
        let Some(field) = resolve(name) else {
            tracing::debug!(filter.key = %key, "emulator dropped a filter on an unknown field");
            continue;
        };
        if field.like_as_eq && matches!(op, Op::Contains | Op::Like) {
            op = Op::Eq;
        }

        let raw: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(map) => map.values().collect(),
            other => vec![other],
        };
        let values = raw
            .into_iter()
            .map(|v| coerce(v, field.kind, offset))
            .collect();
        let op = match (op, value) {
            (Op::Eq, Value::Array(_) | Value::Object(_)) => Op::In,
            (Op::NotEq, Value::Array(_) | Value::Object(_)) => Op::NotIn,
            (op, _) => op,
        };
        conditions.push(Condition {
            field: field.name,
            op,
            values,
        });
    }
    conditions
}

fn coerce(value: &Value, kind: FilterKind, offset: Offset) -> Cmp {
    let text = match value {
        Value::Null | Value::Bool(false) => return Cmp::Empty,
        other => match php_string(other) {
            Some(text) => text,
            None => return Cmp::Invalid,
        },
    };
    if text.is_empty() {
        return Cmp::Empty;
    }

    match kind {
        FilterKind::Int => text.trim().parse().map(Cmp::Int).unwrap_or(Cmp::Invalid),
        FilterKind::Decimal => text.trim().parse().map(Cmp::Dec).unwrap_or(Cmp::Invalid),
        FilterKind::Text => Cmp::Text(text.to_lowercase()),
        // Boolean user fields filter by 1/0; "Y"/"N" match nothing.
        FilterKind::Bool => match text.as_str() {
            "1" | "true" => Cmp::Bool(true),
            "0" => Cmp::Bool(false),
            _ => Cmp::Invalid,
        },
        FilterKind::Date => clock::parse_date(&text)
            .map(Cmp::Date)
            .unwrap_or(Cmp::Invalid),
        FilterKind::DateTime => clock::parse_datetime(&text, offset)
            .map(Cmp::Time)
            .unwrap_or(Cmp::Invalid),
    }
}

/// Converts a stored value for comparison.
pub(crate) fn stored(scalar: &Scalar) -> Vec<Cmp> {
    match scalar {
        Scalar::Int(n) => vec![Cmp::Int(*n)],
        Scalar::Decimal(d) => vec![Cmp::Dec(*d)],
        Scalar::Str(text) if text.is_empty() => Vec::new(),
        Scalar::Str(text) => vec![Cmp::Text(text.to_lowercase())],
        Scalar::Bool(flag) => vec![Cmp::Bool(*flag)],
        Scalar::Date(day) => vec![Cmp::Date(*day)],
        Scalar::DateTime(ts) => vec![Cmp::Time(*ts)],
        Scalar::File(id) => vec![Cmp::Int(*id as i64)],
        Scalar::IntList(items) => items.iter().map(|n| Cmp::Int(*n)).collect(),
    }
}

/// Returns whether a record's values (all slots of the field) satisfy a condition.
pub(crate) fn matches(condition: &Condition, slots: &[Cmp]) -> bool {
    let expected = &condition.values;
    match condition.op {
        Op::Eq | Op::In => expected.iter().any(|w| equals(w, slots)),
        Op::NotEq | Op::NotIn => !expected.iter().any(|w| equals(w, slots)),
        Op::Gt => compare_any(slots, expected, |o| o.is_gt()),
        Op::Ge => compare_any(slots, expected, |o| o.is_ge()),
        Op::Lt => compare_any(slots, expected, |o| o.is_lt()),
        Op::Le => compare_any(slots, expected, |o| o.is_le()),
        Op::Contains => text_any(slots, expected, |have, want| have.contains(want)),
        Op::NotContains => !text_any(slots, expected, |have, want| have.contains(want)),
        Op::Like => text_any(slots, expected, like),
        Op::NotLike => !text_any(slots, expected, like),
        Op::Between => between(slots, expected),
        Op::NotBetween => !between(slots, expected),
    }
}

fn equals(expected: &Cmp, slots: &[Cmp]) -> bool {
    match expected {
        Cmp::Empty => slots.is_empty(),
        Cmp::Invalid => false,
        expected => slots
            .iter()
            .any(|have| order(have, expected).is_some_and(|o| o.is_eq())),
    }
}

fn compare_any(slots: &[Cmp], expected: &[Cmp], test: impl Fn(std::cmp::Ordering) -> bool) -> bool {
    let Some(first) = expected.first() else {
        return false;
    };
    slots
        .iter()
        .any(|have| order(have, first).is_some_and(&test))
}

fn text_any(slots: &[Cmp], expected: &[Cmp], test: impl Fn(&str, &str) -> bool) -> bool {
    slots.iter().any(|have| {
        let Cmp::Text(have) = have else {
            return false;
        };
        expected.iter().any(|w| match w {
            Cmp::Text(want) => test(have, want),
            _ => false,
        })
    })
}

fn between(slots: &[Cmp], expected: &[Cmp]) -> bool {
    let [low, high] = expected else {
        return false;
    };
    slots.iter().any(|have| {
        order(have, low).is_some_and(|o| o.is_ge()) && order(have, high).is_some_and(|o| o.is_le())
    })
}

/// Orders two comparable values of the same kind; `None` when they cannot be compared.
pub(crate) fn order(a: &Cmp, b: &Cmp) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Cmp::Int(x), Cmp::Int(y)) => Some(x.cmp(y)),
        (Cmp::Dec(x), Cmp::Dec(y)) => Some(x.cmp(y)),
        (Cmp::Int(x), Cmp::Dec(y)) => Some(Decimal::from(*x).cmp(y)),
        (Cmp::Dec(x), Cmp::Int(y)) => Some(x.cmp(&Decimal::from(*y))),
        (Cmp::Text(x), Cmp::Text(y)) => Some(x.cmp(y)),
        (Cmp::Bool(x), Cmp::Bool(y)) => Some(x.cmp(y)),
        (Cmp::Date(x), Cmp::Date(y)) => Some(x.cmp(y)),
        (Cmp::Time(x), Cmp::Time(y)) => Some(x.cmp(y)),
        (Cmp::Date(x), Cmp::Time(y)) => Some(x.cmp(&Offset::UTC.to_datetime(*y).date())),
        (Cmp::Time(x), Cmp::Date(y)) => Some(Offset::UTC.to_datetime(*x).date().cmp(y)),
        _ => None,
    }
}

/// SQL LIKE with `%` (any run) and `_` (one character), case-insensitive (inputs are lower-cased).
fn like(text: &str, pattern: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    let (mut t, mut p) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '_' || pattern[p] == text[t]) {
            t += 1;
            p += 1;
        } else if p < pattern.len() && pattern[p] == '%' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '%')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn resolve(name: &str) -> Option<FieldRef> {
        let kind = match name {
            "ID" => FilterKind::Int,
            "TITLE" | "STAGE_ID" => FilterKind::Text,
            "DATE_MODIFY" => FilterKind::DateTime,
            "UF_BOOL" => FilterKind::Bool,
            _ => return None,
        };
        Some(FieldRef {
            name: name.to_owned(),
            kind,
            like_as_eq: name == "STAGE_ID",
        })
    }

    fn parse_one(filter: Value) -> Vec<Condition> {
        parse(Some(&filter), Offset::constant(3), resolve)
    }

    #[test]
    fn unknown_keys_are_dropped() {
        let conditions = parse_one(json!({"TITEL": "x", ">ID": 5}));
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].op, Op::Gt);
    }

    #[test]
    fn operators_are_split_longest_first() {
        assert_eq!(split_key("!@ID"), (Op::NotIn, "ID"));
        assert_eq!(split_key(">=DATE_MODIFY"), (Op::Ge, "DATE_MODIFY"));
        assert_eq!(split_key("%TITLE"), (Op::Contains, "TITLE"));
        assert_eq!(split_key("=%TITLE"), (Op::Like, "TITLE"));
        assert_eq!(split_key("ID"), (Op::Eq, "ID"));
    }

    #[test]
    fn array_value_means_in() {
        let conditions = parse_one(json!({"ID": [1, "2"]}));
        assert_eq!(conditions[0].op, Op::In);
        assert!(matches(&conditions[0], &[Cmp::Int(2)]));
        assert!(!matches(&conditions[0], &[Cmp::Int(3)]));
    }

    #[test]
    fn like_on_status_fields_becomes_equality() {
        let conditions = parse_one(json!({"%STAGE_ID": "C7:NEW"}));
        assert_eq!(conditions[0].op, Op::Eq);
    }

    #[test]
    fn boolean_filter_needs_one_or_zero() {
        let yes = parse_one(json!({"UF_BOOL": "Y"}));
        assert!(!matches(&yes[0], &[Cmp::Bool(true)]));
        let one = parse_one(json!({"UF_BOOL": 1}));
        assert!(matches(&one[0], &[Cmp::Bool(true)]));
    }

    #[test]
    fn empty_value_matches_empty_field() {
        let conditions = parse_one(json!({"TITLE": ""}));
        assert!(matches(&conditions[0], &[]));
        assert!(!matches(&conditions[0], &[Cmp::Text("x".into())]));
        let not_empty = parse_one(json!({"!TITLE": ""}));
        assert!(matches(&not_empty[0], &[Cmp::Text("x".into())]));
    }

    #[test]
    fn like_patterns_match() {
        assert!(like("иванов иван", "иван%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("abc", "%"));
    }

    #[test]
    fn datetime_filter_accepts_local_and_offset_forms() {
        let local = parse_one(json!({">DATE_MODIFY": "2025-01-01 10:00:00"}));
        let offset = parse_one(json!({">DATE_MODIFY": "2025-01-01T10:00:00+03:00"}));
        assert_eq!(local[0].values, offset[0].values);
    }
}
