//! Incoming-webhook URLs, and what every request looks like on the wire.

mod common;

use bitrix24_client::{Client, Error, WebhookUrl};
use rstest::rstest;
use serde_json::{Value, json};
use wiremock::matchers::{header, header_regex, method, path};
use wiremock::{Mock, ResponseTemplate};

use common::{client, fixture, method_path, ok, portal};

#[rstest]
#[case(
    "https://example.bitrix24.ru/rest/1/Zq9x7secret/",
    "example.bitrix24.ru",
    1
)]
#[case(
    "https://example.bitrix24.ru/rest/15/Zq9x7secret",
    "example.bitrix24.ru",
    15
)]
#[case(
    "https://example.bitrix24.ru/rest/1/Zq9x7secret.json",
    "example.bitrix24.ru",
    1
)]
#[case(
    "https://example.bitrix24.ru/rest/1/Zq9x7secret/profile.json",
    "example.bitrix24.ru",
    1
)]
#[case(
    "https://EXAMPLE.bitrix24.ru:8443/rest/1/Zq9x7secret/",
    "example.bitrix24.ru",
    1
)]
#[case("http://127.0.0.1:8080/rest/1/Zq9x7secret/", "127.0.0.1", 1)]
#[case("http://localhost/rest/1/Zq9x7secret/", "localhost", 1)]
#[case("http://[::1]:9000/rest/1/Zq9x7secret/", "[::1]", 1)]
fn webhook_accepts_valid_forms(#[case] input: &str, #[case] host: &str, #[case] user_id: u64) {
    let webhook = WebhookUrl::parse(input).unwrap();

    assert_eq!(webhook.host(), host);
    assert_eq!(webhook.user_id(), user_id);
    assert!(!webhook.portal_url().as_str().contains("Zq9x7secret"));
}

#[rstest]
#[case::bare_secret("Zq9x7secret")]
#[case::no_scheme("example.bitrix24.ru/rest/1/Zq9x7secret/")]
#[case::other_scheme("ftp://example.bitrix24.ru/rest/1/Zq9x7secret/")]
#[case::plain_http_remote("http://example.bitrix24.ru/rest/1/Zq9x7secret/")]
#[case::user_not_a_number("https://example.bitrix24.ru/rest/admin/Zq9x7secret/")]
#[case::user_zero("https://example.bitrix24.ru/rest/0/Zq9x7secret/")]
#[case::missing_secret("https://example.bitrix24.ru/rest/1/")]
#[case::empty_secret("https://example.bitrix24.ru/rest/1//")]
#[case::wrong_root("https://example.bitrix24.ru/api/1/Zq9x7secret/")]
#[case::extra_path("https://example.bitrix24.ru/rest/1/Zq9x7secret/crm/deal/")]
#[case::query("https://example.bitrix24.ru/rest/1/Zq9x7secret/?auth=Zq9x7secret")]
#[case::fragment("https://example.bitrix24.ru/rest/1/Zq9x7secret/#Zq9x7secret")]
#[case::user_info("https://admin:Zq9x7secret@example.bitrix24.ru/rest/1/Zq9x7secret/")]
#[case::odd_secret("https://example.bitrix24.ru/rest/1/Zq9x7secret%20or%201=1/")]
#[case::empty("   ")]
fn webhook_rejects_without_echoing_secret(#[case] input: &str) {
    let error = WebhookUrl::parse(input).unwrap_err();

    assert!(
        matches!(error, Error::InvalidWebhookUrl { .. }),
        "{error:?}"
    );
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains("Zq9x7secret"), "the secret leaked: {shown}");
    assert!(
        error.to_string().starts_with("invalid webhook URL: "),
        "{shown}"
    );
}

#[test]
fn plain_http_allowed_when_asked() {
    let input = "http://crm.internal.example/rest/1/Zq9x7secret/";

    assert!(WebhookUrl::parse(input).is_err());
    assert!(WebhookUrl::parse_with(input, true).is_ok());
    assert!(Client::builder(input).allow_http(true).build().is_ok());
}

#[test]
fn debug_output_hides_secret() {
    let input = "https://example.bitrix24.ru/rest/1/Zq9x7secret/";
    let builder = Client::builder(input);
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();

    for shown in [
        builder_debug,
        format!("{client:?}"),
        format!("{:?}", client.webhook()),
    ] {
        assert!(!shown.contains("Zq9x7secret"), "the secret leaked: {shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}

#[tokio::test]
async fn requests_are_json_posts_with_headers() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/json"))
        .and(header_regex(
            "user-agent",
            r"^bitrix24-client/\d+\.\d+\.\d+ ",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fixture("crm.deal.get.response.json")),
        )
        .expect(1)
        .mount(&server)
        .await;

    let deal: Value = client(&server)
        .call("crm.deal.get", &json!({"id": 410}))
        .await
        .unwrap();

    assert_eq!(deal["ID"], "410");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
    assert_eq!(
        serde_json::from_slice::<Value>(&requests[0].body).unwrap(),
        json!({"id": 410})
    );
}

#[tokio::test]
async fn b05_long_id_list_goes_in_json_body() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.contact.list")))
        .respond_with(ok(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let ids: Vec<u64> = (1..=1500).collect();

    let _: Value = client(&server)
        .call("crm.contact.list", &json!({"filter": {"@ID": ids}}))
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.query(), None);
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["filter"]["@ID"].as_array().unwrap().len(), 1500);
}

#[tokio::test]
async fn redirect_is_an_error_not_followed() {
    let server = portal().await;
    Mock::given(method("POST"))
        .and(path(method_path("crm.deal.get")))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", format!("{}/auth/", server.uri())),
        )
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .call::<Value>("crm.deal.get", &json!({"id": 1}))
        .await
        .unwrap_err();

    assert!(
        matches!(error, Error::Redirect { status: 302, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("302"));
    common::assert_no_secret(&error);
}

#[rstest]
#[case("")]
#[case("crm.deal.get/../../profile")]
#[case("crm deal get")]
#[case("crm.deal.get?id=1")]
#[tokio::test]
async fn bad_method_names_never_sent(#[case] name: &str) {
    let server = portal().await;

    let error = client(&server)
        .call::<Value>(name, &json!({}))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn parameters_must_be_an_object() {
    let server = portal().await;

    let error = client(&server)
        .call::<Value>("crm.deal.get", &json!([1, 2]))
        .await
        .unwrap_err();

    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
}
