//! `batch`: command encoding, per-key results, `[]` sections, chunking, and
//! property tests of the PHP-style encoder.

mod common;

use bitrix24_client::php_query::{self, DecodeLimits};
use bitrix24_client::{Error, MAX_COMMANDS};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use common::{bodies, client, fixture, fixture_lines, json_response, method_path, ok, portal};

async fn mount_batch(server: &wiremock::MockServer, request: Value, response: Value) {
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .and(body_json(request))
        .respond_with(json_response(200, response))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn linked_calls_match_the_documented_request() {
    let server = portal().await;
    mount_batch(
        &server,
        fixture("batch.request.json"),
        fixture("batch.response.json"),
    )
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch.add("get_user", "user.current", &()).unwrap();
    batch
        .add(
            "get_department",
            "department.get",
            &json!({"ID": "$result[get_user][UF_DEPARTMENT][0]"}),
        )
        .unwrap();

    let results = batch.send().await.unwrap();

    let user: Value = results.get("get_user").unwrap();
    let departments: Vec<Value> = results.get("get_department").unwrap();
    assert_eq!(user["NAME"], "Ivan");
    assert_eq!(departments[0]["NAME"], "DEMO");
    assert_eq!(results.total("get_department"), Some(1));
    assert_eq!(results.total("get_user"), None);
    assert!(results.time("get_user").is_some());
    assert!(!results.has_failures());
    assert_eq!(
        results.keys().collect::<Vec<_>>(),
        ["get_user", "get_department"]
    );
}

#[tokio::test]
async fn b11_scalar_results_stay_per_key() {
    let server = portal().await;
    let response = json!({
        "result": {
            "result": {"order0000000000": 53, "order0000000001": 55},
            "result_error": [], "result_total": [], "result_next": [],
            "result_time": {"order0000000000": {"start": 1.0, "finish": 1.1, "duration": 0.1, "processing": 0.1}}
        },
        "time": {"start": 1.0, "finish": 1.2, "duration": 0.2, "processing": 0.2}
    });
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(200, response))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch
        .add(
            "order0000000000",
            "lists.element.add",
            &json!({"IBLOCK_ID": 1}),
        )
        .unwrap();
    batch
        .add(
            "order0000000001",
            "lists.element.add",
            &json!({"IBLOCK_ID": 1}),
        )
        .unwrap();

    let results = batch.send().await.unwrap();

    assert_eq!(results.get::<u64>("order0000000000").unwrap(), 53);
    assert_eq!(results.get::<u64>("order0000000001").unwrap(), 55);
    assert!(results.time("order0000000001").is_none());
}

#[tokio::test]
async fn failed_commands_report_their_own_errors() {
    let server = portal().await;
    mount_batch(
        &server,
        fixture("batch.request.json"),
        fixture("batch.error.halt0.response.json"),
    )
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch.add("get_user", "user.current", &()).unwrap();
    batch
        .add(
            "get_department",
            "department.get",
            &json!({"ID": "$result[get_user][UF_DEPARTMENT][0]"}),
        )
        .unwrap();

    let results = batch.send().await.unwrap();

    for key in ["get_user", "get_department"] {
        let error = results.get::<Value>(key).unwrap_err();
        assert!(matches!(error, Error::Auth { .. }), "{key}: {error:?}");
        assert_eq!(results.error(key).unwrap().code, "insufficient_scope");
        assert_eq!(results.error(key).unwrap().status, None);
    }
    assert!(results.has_failures());
}

#[tokio::test]
async fn take_moves_a_result_out_once() {
    let server = portal().await;
    mount_batch(
        &server,
        fixture("batch.request.json"),
        fixture("batch.response.json"),
    )
    .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch.add("get_user", "user.current", &()).unwrap();
    batch
        .add(
            "get_department",
            "department.get",
            &json!({"ID": "$result[get_user][UF_DEPARTMENT][0]"}),
        )
        .unwrap();
    let mut results = batch.send().await.unwrap();

    let user = results.take("get_user").unwrap();
    let again = results.take("get_user").unwrap_err();

    assert_eq!(user["NAME"], "Ivan");
    assert!(
        matches!(&again, Error::MissingBatchResult { key, method } if key == "get_user" && method == "user.current"),
        "{again:?}"
    );
    let departments: Vec<Value> = results.get("get_department").unwrap();
    assert_eq!(departments[0]["NAME"], "DEMO");
}

#[tokio::test]
async fn b16_halted_commands_are_missing_not_empty() {
    let server = portal().await;
    let mut request = fixture("batch.request.json");
    request["halt"] = json!(1);
    mount_batch(&server, request, fixture("batch.error.halt1.response.json")).await;
    let client = client(&server);
    let mut batch = client.batch().halt_on_error(true);
    batch.add("get_user", "user.current", &()).unwrap();
    batch
        .add(
            "get_department",
            "department.get",
            &json!({"ID": "$result[get_user][UF_DEPARTMENT][0]"}),
        )
        .unwrap();

    let results = batch.send().await.unwrap();

    let error = results.get::<Value>("get_department").unwrap_err();
    assert!(
        matches!(&error, Error::MissingBatchResult { key, method } if key == "get_department" && method == "department.get"),
        "{error:?}"
    );
    let outcomes = results.into_results();
    assert_eq!(outcomes.len(), 2);
    assert!(outcomes.iter().all(|(_, outcome)| outcome.is_err()));
}

#[tokio::test]
async fn b06_nested_rows_encoded_in_command() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(ok(json!({"result": {"rows": true}, "result_error": [], "result_total": [], "result_next": [], "result_time": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    let input = json!({"id": 281, "rows": [
        {"PRODUCT_NAME": "Item A", "PRICE": 5555, "QUANTITY": 2},
        {"PRODUCT_ID": 2809, "PRICE": 100}
    ]});
    batch
        .add("rows", "crm.lead.productrows.set", &input)
        .unwrap();

    batch.send().await.unwrap();

    let sent = &bodies(&server, "batch").await[0];
    let command = sent["cmd"]["rows"].as_str().unwrap();
    let (name, query) = command.split_once('?').unwrap();
    assert_eq!(name, "crm.lead.productrows.set");
    let expected = "id=281&rows[0][PRODUCT_NAME]=Item%20A&rows[0][PRICE]=5555&rows[0][QUANTITY]=2&rows[1][PRODUCT_ID]=2809&rows[1][PRICE]=100";
    assert_eq!(
        php_query::decode(query).unwrap(),
        php_query::decode(expected).unwrap()
    );
    let mut pairs: Vec<&str> = query.split('&').collect();
    let mut expected_pairs: Vec<&str> = expected.split('&').collect();
    pairs.sort_unstable();
    expected_pairs.sort_unstable();
    assert_eq!(pairs, expected_pairs);
}

#[tokio::test]
async fn b07_null_clears_explicitly() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(ok(json!({"result": {"clear": true}, "result_error": [], "result_total": [], "result_next": [], "result_time": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch
        .add(
            "clear",
            "crm.product.update",
            &json!({"id": 123, "fields": {"DESCRIPTION": null}}),
        )
        .unwrap();

    batch.send().await.unwrap();

    let sent = &bodies(&server, "batch").await[0];
    let command = sent["cmd"]["clear"].as_str().unwrap();
    assert_eq!(command, "crm.product.update?fields[DESCRIPTION]=&id=123");
    assert!(!command.contains("None"));
    assert!(!command.contains("null"));
}

#[test]
fn double_encoded_query_fixture_matches_our_command() {
    let line = &fixture_lines("batch.request.query-string.txt")[0];

    let decoded = php_query::decode(line).unwrap();

    let ours = format!(
        "crm.lead.add?{}",
        php_query::encode(&json!({"fields": {"TITLE": "Ivan&Martin"}})).unwrap()
    );
    assert_eq!(decoded["cmd"][0], json!(ours));
}

#[test]
fn form_request_fixture_decodes_nested() {
    let line = &fixture_lines("crm.lead.add.form-urlencoded.request.txt")[0];

    let decoded = php_query::decode(line).unwrap();

    assert_eq!(
        decoded,
        json!({"fields": {"TITLE": "My company", "PHONE": [
            {"VALUE": "112233", "VALUE_TYPE": "WORK"},
            {"VALUE": "555888112", "VALUE_TYPE": "OTHER"}
        ]}})
    );
}

#[tokio::test]
async fn cyrillic_values_are_percent_encoded() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(ok(json!({"result": {"c0": 1}, "result_error": [], "result_total": [], "result_next": [], "result_time": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch
        .push(
            "crm.lead.add",
            &json!({"fields": {"TITLE": "Должник & Ко", "COMMENTS": "100% = [ok]"}}),
        )
        .unwrap();

    batch.send().await.unwrap();

    let sent = &bodies(&server, "batch").await[0];
    let command = sent["cmd"]["c0"].as_str().unwrap();
    assert_eq!(
        command,
        "crm.lead.add?fields[COMMENTS]=100%25%20%3D%20%5Bok%5D&fields[TITLE]=%D0%94%D0%BE%D0%BB%D0%B6%D0%BD%D0%B8%D0%BA%20%26%20%D0%9A%D0%BE"
    );
}

#[tokio::test]
async fn more_than_fifty_commands_are_chunked() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(|request: &Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            let commands = body["cmd"].as_object().unwrap();
            let results: Map<String, Value> = commands
                .iter()
                .map(|(key, command)| {
                    let id = command.as_str().unwrap().rsplit('=').next().unwrap();
                    (key.clone(), json!({"ID": id}))
                })
                .collect();
            ResponseTemplate::new(200).set_body_json(json!({"result": {
                "result": results, "result_error": [], "result_total": [], "result_next": [], "result_time": []
            }}))
        })
        .expect(3)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    for id in 0..120 {
        batch
            .add(format!("deal{id}"), "crm.deal.get", &json!({"id": id}))
            .unwrap();
    }

    let results = batch.send().await.unwrap();

    let sizes: Vec<usize> = bodies(&server, "batch")
        .await
        .iter()
        .map(|body| body["cmd"].as_object().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![MAX_COMMANDS, MAX_COMMANDS, 20]);
    for id in 0..120 {
        let deal: Value = results.get(&format!("deal{id}")).unwrap();
        assert_eq!(deal["ID"], id.to_string());
    }
}

#[tokio::test]
async fn numeric_keys_accept_list_sections() {
    let server = portal().await;
    let response = json!({"result": {
        "result": [{"ID": "1"}, {"ID": "2"}],
        "result_error": [], "result_total": [], "result_next": [],
        "result_time": [{"start": 1.0}, {"start": 1.1}]
    }});
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(200, response))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    batch.add("0", "crm.deal.get", &json!({"id": 1})).unwrap();
    batch.add("1", "crm.deal.get", &json!({"id": 2})).unwrap();

    let results = batch.send().await.unwrap();

    assert_eq!(results.get::<Value>("1").unwrap()["ID"], "2");
    assert!(results.time("0").is_some());
}

#[tokio::test]
async fn gapped_numeric_keys_come_as_object() {
    let server = portal().await;
    let response = json!({"result": {
        "result": {"0": {"ID": "1"}, "2": {"ID": "3"}},
        "result_error": {"1": {"error": "", "error_description": "Not found"}},
        "result_total": [], "result_next": [], "result_time": []
    }});
    Mock::given(method("POST"))
        .and(path(method_path("batch")))
        .respond_with(json_response(200, response))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server);
    let mut batch = client.batch();
    for id in [1, 2, 3] {
        batch
            .add((id - 1).to_string(), "crm.deal.get", &json!({"id": id}))
            .unwrap();
    }

    let results = batch.send().await.unwrap();

    assert_eq!(results.get::<Value>("2").unwrap()["ID"], "3");
    assert!(results.get::<Value>("1").unwrap_err().is_not_found());
}

#[tokio::test]
async fn empty_batch_sends_nothing() {
    let server = portal().await;

    let results = client(&server).batch().send().await.unwrap();

    assert_eq!(results.keys().count(), 0);
    assert!(server.received_requests().await.unwrap().is_empty());
}

/// Values the encoder must carry: text with the query's own syntax and Cyrillic.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9 &=\\[\\]%+#?/.,;:'\"а-яА-ЯёЁ№_-]{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(|b| json!(b)),
        Just(Value::Null),
    ]
}

/// Keys without brackets (PHP reads a bracket in a key as nesting).
fn nested_key() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 &=%+#?/.,;:'\"а-яА-ЯёЁ_<>@!-]{1,10}"
}

fn top_key() -> impl Strategy<Value = String> {
    "[a-zA-Z_&=%<>@!а-яА-Я-][a-zA-Z0-9_&=%<>@!а-яА-Я-]{0,8}"
}

fn nested() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(Value::Array),
            prop::collection::btree_map(nested_key(), inner, 1..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn params() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(top_key(), nested(), 1..5)
        .prop_map(|map| Value::Object(map.into_iter().collect()))
}

/// Returns what PHP's `parse_str` gives back: every scalar as text, booleans as 1/0,
/// `null` as an empty string, and a map with keys `0..n-1` in order as a list.
fn as_php_sees_it(value: &Value) -> Value {
    match value {
        Value::Null => json!(""),
        Value::Bool(flag) => json!(if *flag { "1" } else { "0" }),
        Value::Number(number) => json!(number.to_string()),
        Value::String(_) => value.clone(),
        Value::Array(items) => Value::Array(items.iter().map(as_php_sees_it).collect()),
        Value::Object(map) => {
            let is_list = map
                .keys()
                .enumerate()
                .all(|(index, key)| *key == index.to_string());
            if is_list {
                Value::Array(map.values().map(as_php_sees_it).collect())
            } else {
                Value::Object(
                    map.iter()
                        .map(|(key, item)| (key.clone(), as_php_sees_it(item)))
                        .collect(),
                )
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn encode_then_decode_round_trips(params in params()) {
        let query = php_query::encode(&params).unwrap();

        let decoded = php_query::decode_with(&query, DecodeLimits { max_pairs: 10_000, max_depth: 64 }).unwrap();

        prop_assert_eq!(decoded, as_php_sees_it(&params));
    }

    #[test]
    fn encoded_query_has_no_raw_separators(params in params()) {
        let query = php_query::encode(&params).unwrap();

        for pair in query.split('&') {
            prop_assert_eq!(pair.matches('=').count(), 1, "pair {}", pair);
            prop_assert!(!pair.contains(' ') && !pair.contains('#') && !pair.contains('+'), "pair {}", pair);
        }
    }

    #[test]
    fn decode_never_panics(query in "\\PC{0,200}") {
        let _ = php_query::decode(&query);
    }

    #[test]
    fn keys_with_brackets_are_rejected(prefix in "[a-z]{1,5}", suffix in "[a-z]{0,5}", bracket in "[\\[\\]]") {
        let key = format!("{prefix}{bracket}{suffix}");

        let mut fields = Map::new();
        fields.insert(key, json!(1));
        let params = json!({ "fields": fields });

        prop_assert!(php_query::encode(&params).is_err());
    }
}
