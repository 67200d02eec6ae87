//! Hostile input to the event parser and the PHP-style query codec:
//! arbitrary bytes, arbitrary form bodies, deep brackets, huge pair counts
//! and deep JSON. Parsing must never panic, must stay within its limits, and
//! an accepted event must carry only values the cabinet can store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bitrix24_client::event::{EventKind, MAX_EVENT_BYTES, parse_event};
use bitrix24_client::php_query;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const JSON: Option<&str> = Some("application/json");

/// Checks what an accepted event may contain.
fn check_accepted(body: &[u8], content_type: Option<&str>) -> Result<(), TestCaseError> {
    let Ok(event) = parse_event(content_type, body) else {
        return Ok(());
    };
    prop_assert!(!event.name.is_empty() && event.name.len() <= 100);
    prop_assert!(
        event
            .name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
        "{}",
        event.name
    );
    let id = match event.kind {
        EventKind::Deal { id, .. } => Some(id.get()),
        EventKind::LegacyInvoice { id, .. } | EventKind::Item { id, .. } => Some(id),
        EventKind::Other => None,
    };
    if let Some(id) = id {
        prop_assert!(id >= 1 && i64::try_from(id).is_ok(), "id {id} accepted");
    }
    Ok(())
}

/// Generates PHP-style keys: a base name and up to 8 bracket segments, with
/// brackets literal or percent-encoded and sometimes unbalanced.
fn form_key() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just(String::new()),
        "[A-Za-z_]{1,8}",
        "[0-9]{1,3}",
        Just("FIELDS".to_owned()),
        Just("ID".to_owned()),
        Just("application_token".to_owned()),
    ];
    (
        prop_oneof![
            Just("event".to_owned()),
            Just("data".to_owned()),
            Just("auth".to_owned()),
            Just("ts".to_owned()),
            "[A-Za-z_. ]{0,6}",
        ],
        prop::collection::vec((segment, 0u8..4), 0..8),
    )
        .prop_map(|(base, segments)| {
            let mut key = base;
            for (segment, style) in segments {
                match style {
                    0 => key.push_str(&format!("[{segment}]")),
                    1 => key.push_str(&format!("%5B{segment}%5D")),
                    2 => key.push_str(&format!("[{segment}")),
                    _ => key.push_str(&format!("{segment}]")),
                }
            }
            key
        })
}

fn form_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("ONCRMDEALUPDATE".to_owned()),
        Just("ONCRMDYNAMICITEMUPDATE_31".to_owned()),
        Just("ONCRMINVOICESETSTATUS".to_owned()),
        "[0-9]{1,25}",
        Just("-1".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("9223372036854775808".to_owned()),
        "[ -~]{0,30}",
        "\\PC{0,20}",
        "(%[0-9A-Fa-f]{2}){0,10}",
        Just("%".to_owned()),
        Just("%zz".to_owned()),
    ]
}

fn form_body() -> impl Strategy<Value = String> {
    prop::collection::vec((form_key(), form_value(), any::<bool>()), 0..20).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(key, value, with_equals)| {
                if with_equals {
                    format!("{key}={value}")
                } else {
                    key
                }
            })
            .collect::<Vec<_>>()
            .join("&")
    })
}

/// Arbitrary JSON up to a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        prop_oneof![
            Just("ONCRMDEALADD"),
            Just("ONCRMDYNAMICITEMDELETE"),
            Just("ID")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("event".to_owned()),
                    Just("data".to_owned()),
                    Just("FIELDS".to_owned()),
                    Just("ID".to_owned()),
                    Just("auth".to_owned()),
                    Just("ENTITY_TYPE_ID".to_owned()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Nested objects whose keys PHP keeps as they are, with non-empty string
/// leaves and lists of strings: the values that survive encode and decode.
fn php_params() -> impl Strategy<Value = Value> {
    let key = "[A-Za-z][A-Za-z0-9_]{0,8}";
    let leaf = "\\PC{1,12}".prop_map(Value::from);
    let tree = leaf.prop_recursive(4, 40, 5, move |inner| {
        prop_oneof![
            prop::collection::vec("\\PC{1,8}".prop_map(Value::from), 1..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 1..5)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    });
    prop::collection::btree_map(key, tree, 1..6)
        .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    #[test]
    fn event_parser_survives_any_bytes(
        body in prop::collection::vec(any::<u8>(), 0..2_000),
        content_type in prop_oneof![
            Just(None), Just(FORM), Just(JSON), Just(Some("text/html")),
            Just(Some("multipart/form-data; boundary=x")), Just(Some("")),
            Just(Some(";;;")), Just(Some("APPLICATION/JSON; charset=utf-8")),
        ],
    ) {
        check_accepted(&body, content_type)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn query_decoder_survives_any_text(text in "\\PC{0,400}") {
        let _ = php_query::decode(&text);
    }

    #[test]
    fn query_decoder_survives_bracket_soup(text in "[\\[\\]%5BDa=&0-9]{0,400}") {
        let _ = php_query::decode(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn event_parser_survives_any_form(body in form_body()) {
        check_accepted(body.as_bytes(), FORM)?;
        check_accepted(body.as_bytes(), None)?;
    }

    #[test]
    fn event_parser_survives_any_json(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        check_accepted(&body, JSON)?;
        check_accepted(&body, None)?;
    }

    #[test]
    fn query_round_trips_nested_params(params in php_params()) {
        let encoded = php_query::encode(&params).unwrap();
        let decoded = php_query::decode(&encoded).unwrap();
        prop_assert_eq!(decoded, params, "{}", encoded);
    }
}

/// The extreme shapes run once each, with a time bound: none may take a
/// noticeable share of a second even in a debug build.
#[test]
fn extreme_bodies_are_refused_quickly() {
    let token = "auth[application_token]=t";
    // (what, content type, body, whether it must be refused)
    let cases: Vec<(&str, Option<&str>, Vec<u8>, bool)> = vec![
        (
            "100,000 opening brackets",
            FORM,
            format!("event=X&data{}=1", "[".repeat(100_000)).into_bytes(),
            false,
        ),
        (
            "20,000 bracket pairs",
            FORM,
            format!("event=X&data{}=1&{token}", "[a]".repeat(20_000)).into_bytes(),
            true,
        ),
        (
            "20,000 percent-encoded pairs",
            FORM,
            format!("event=X&data{}=1", "%5Ba%5D".repeat(8_000)).into_bytes(),
            true,
        ),
        (
            "20,000 appends",
            FORM,
            format!("event=X&{}", "a[]=1&".repeat(10_000)).into_bytes(),
            true,
        ),
        (
            "one huge index",
            FORM,
            format!("event=X&a[{}]=1&a[]=2&{token}", "9".repeat(5_000)).into_bytes(),
            false,
        ),
        (
            "100,000 nested JSON arrays",
            JSON,
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
            true,
        ),
        (
            "100,000 nested JSON objects",
            JSON,
            "{\"a\":".repeat(50_000).into_bytes(),
            true,
        ),
        (
            "a body one byte over the limit",
            FORM,
            vec![b'a'; MAX_EVENT_BYTES + 1],
            true,
        ),
        (
            "64 KiB of ampersands",
            FORM,
            vec![b'&'; MAX_EVENT_BYTES],
            true,
        ),
        (
            "64 KiB of percent signs",
            FORM,
            vec![b'%'; MAX_EVENT_BYTES],
            true,
        ),
    ];

    for (what, content_type, body, refused) in cases {
        let started = Instant::now();
        let result = parse_event(content_type, &body);
        let elapsed = started.elapsed();
        if refused {
            assert!(result.is_err(), "{what} was accepted");
        }
        assert!(
            elapsed < Duration::from_millis(500),
            "{what} took {elapsed:?}"
        );
    }
}

#[test]
fn query_decoder_limits_hold_at_their_edges() {
    let limits = php_query::DecodeLimits {
        max_pairs: 256,
        max_depth: 8,
    };
    let pairs = |count: usize| vec!["a=1"; count].join("&");
    let depth = |levels: usize| format!("a{}=1", "[b]".repeat(levels));

    assert!(php_query::decode_with(&pairs(256), limits).is_ok());
    assert!(php_query::decode_with(&pairs(257), limits).is_err());
    assert!(php_query::decode_with(&depth(8), limits).is_ok());
    assert!(php_query::decode_with(&depth(9), limits).is_err());
    assert_eq!(
        php_query::decode_with(&depth(2), limits).unwrap(),
        json!({"a": {"b": {"b": "1"}}})
    );
}
