//! Outgoing-webhook events: every documented body form, token checks, and hostile input.

mod common;

use bitrix_lk_core::DealId;
use bitrix24_client::Error;
use bitrix24_client::event::{Action, EventKind, EventVerifier, parse_event};
use bitrix24_client::{EntityType, php_query};
use proptest::prelude::*;
use rstest::rstest;
use serde_json::json;

use common::{fixture, fixture_commented_line_after, fixture_lines, fixture_text};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const TOKEN: &str = "jvh9y1ulvt2m6k5or90v9mg8nn32ozas";

#[test]
fn b29_form_event_with_encoded_brackets() {
    let body = "event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=662&ts=1724140800\
                &auth%5Bdomain%5D=example.bitrix24.com&auth%5Bmember_id%5D=m1&auth%5Bapplication_token%5D=t1";

    let event = parse_event(FORM, body.as_bytes()).unwrap();

    assert_eq!(
        event.kind,
        EventKind::Deal {
            action: Action::Update,
            id: DealId(662)
        }
    );
    assert_eq!(event.sent_at.unwrap().as_second(), 1724140800);
    assert_eq!(event.auth.domain.as_deref(), Some("example.bitrix24.com"));
    assert_eq!(event.auth.member_id.as_deref(), Some("m1"));
    EventVerifier::new(["t1"]).verify(&event).unwrap();
}

#[rstest]
#[case("event.ONCRMDEALADD.outgoing-webhook.form.txt", Action::Add, 7405)]
#[case("event.ONCRMDEALUPDATE.outgoing-webhook.form.txt", Action::Update, 759)]
fn deal_fixtures_parse_in_both_bracket_forms(
    #[case] name: &str,
    #[case] action: Action,
    #[case] id: u64,
) {
    let encoded = &fixture_lines(name)[0];
    let literal = fixture_commented_line_after(name, "same body with literal brackets");

    for body in [encoded.as_str(), literal.as_str()] {
        let event = parse_event(FORM, body.as_bytes()).unwrap();

        assert_eq!(
            event.kind,
            EventKind::Deal {
                action,
                id: DealId(id)
            }
        );
        assert_eq!(event.handler_id, Some(975));
        assert_eq!(
            event.auth.domain.as_deref(),
            Some("some-domain.bitrix24.com")
        );
        assert_eq!(
            event.auth.client_endpoint.as_deref(),
            Some("https://some-domain.bitrix24.com/rest/")
        );
        assert_eq!(
            event.auth.server_endpoint.as_deref(),
            Some("https://oauth.bitrix.info/rest/")
        );
        EventVerifier::new([TOKEN]).verify(&event).unwrap();
    }
}

#[test]
fn smart_invoice_fixture_is_type_31() {
    let body =
        &fixture_lines("event.ONCRMDYNAMICITEMUPDATE.smart-invoice.outgoing-webhook.form.txt")[0];

    let event = parse_event(FORM, body.as_bytes()).unwrap();

    assert_eq!(
        event.kind,
        EventKind::Item {
            action: Action::Update,
            entity_type: EntityType::SmartInvoice,
            id: 24
        }
    );
    assert!(event.is_smart_invoice());
    assert_eq!(event.fields["ENTITY_TYPE_ID"], "31");
}

#[test]
fn legacy_invoice_fixture_parses() {
    let body = &fixture_lines("event.ONCRMINVOICEUPDATE.outgoing-webhook.form.SYNTHETIC.txt")[0];

    let event = parse_event(FORM, body.as_bytes()).unwrap();

    assert_eq!(
        event.kind,
        EventKind::LegacyInvoice {
            action: Action::Update,
            id: 17
        }
    );
}

#[rstest]
#[case("event.ONCRMDEALADD.outgoing-webhook.json")]
#[case("event.ONCRMDEALUPDATE.app.json")]
#[case("event.ONCRMDEALUPDATE.local-webhooks-doc.json")]
fn json_fixtures_parse(#[case] name: &str) {
    let body = fixture_text(name);

    let event = parse_event(Some("application/json; charset=utf-8"), body.as_bytes()).unwrap();

    assert!(matches!(event.kind, EventKind::Deal { .. }), "{event:?}");
    assert!(event.auth.application_token.is_some());
}

#[rstest]
#[case("event.ONCRMDYNAMICITEMUPDATE.app.json", Action::Update, 24)]
#[case("event.ONCRMDYNAMICITEMDELETE.app.json", Action::Delete, 23)]
fn other_smart_processes_are_recognised(
    #[case] name: &str,
    #[case] action: Action,
    #[case] id: u64,
) {
    let event = parse_event(None, fixture_text(name).as_bytes()).unwrap();

    assert_eq!(
        event.kind,
        EventKind::Item {
            action,
            entity_type: EntityType::Dynamic(1220),
            id
        }
    );
    assert!(!event.is_smart_invoice());
}

#[test]
fn json_numbers_are_accepted() {
    let body = json!({"event": "ONCRMDEALADD", "data": {"FIELDS": {"ID": 7405}}, "ts": 1766047124, "auth": {"application_token": TOKEN}});

    let event = parse_event(None, body.to_string().as_bytes()).unwrap();

    assert_eq!(event.deal_id(), Some(DealId(7405)));
    assert_eq!(event.sent_at.unwrap().as_second(), 1766047124);
}

#[test]
fn missing_content_type_is_sniffed() {
    let body = &fixture_lines("event.ONCRMDEALADD.outgoing-webhook.form.txt")[0];

    assert!(parse_event(None, body.as_bytes()).is_ok());
    assert!(parse_event(Some("text/plain"), body.as_bytes()).is_ok());
    assert!(
        parse_event(
            None,
            fixture_text("event.ONCRMDEALADD.outgoing-webhook.json").as_bytes()
        )
        .is_ok()
    );
}

#[test]
fn multipart_is_rejected_clearly() {
    let error = parse_event(Some("multipart/form-data; boundary=x"), b"--x--").unwrap_err();

    assert!(
        matches!(&error, Error::InvalidEvent { reason } if reason.contains("multipart")),
        "{error:?}"
    );
}

#[rstest]
#[case(&["other-token"], false)]
#[case(&["other-token", TOKEN], true)]
#[case(&[TOKEN], true)]
#[case(&["jvh9y1ulvt2m6k5or90v9mg8nn32oza"], false)]
#[case(&["jvh9y1ulvt2m6k5or90v9mg8nn32ozas0"], false)]
#[case(&[], false)]
fn tokens_checked_against_every_accepted(#[case] accepted: &[&str], #[case] valid: bool) {
    let body = &fixture_lines("event.ONCRMDEALADD.outgoing-webhook.form.txt")[0];
    let verifier = EventVerifier::new(accepted.iter().copied());

    let outcome = verifier.parse_verified(FORM, body.as_bytes());

    assert_eq!(outcome.is_ok(), valid, "{outcome:?}");
    if let Err(error) = outcome {
        assert!(matches!(error, Error::UntrustedEvent));
        assert!(!error.to_string().contains(TOKEN));
    }
}

#[test]
fn event_without_token_is_untrusted() {
    let event = parse_event(FORM, b"event=ONCRMDEALUPDATE&data[FIELDS][ID]=1").unwrap();

    assert!(matches!(
        EventVerifier::new([TOKEN]).verify(&event),
        Err(Error::UntrustedEvent)
    ));
}

#[test]
fn secrets_stay_out_of_debug() {
    let body = &fixture_lines("event.ONCRMDEALADD.outgoing-webhook.form.txt")[0];
    let event = parse_event(FORM, body.as_bytes()).unwrap();
    let verifier = EventVerifier::new([TOKEN]);

    assert!(!format!("{event:?}").contains(TOKEN));
    assert!(!format!("{verifier:?}").contains(TOKEN));
}

#[test]
fn huge_body_is_refused_quickly() {
    let body = format!(
        "event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&x={}",
        "a".repeat(1 << 20)
    );

    assert!(matches!(
        parse_event(FORM, body.as_bytes()),
        Err(Error::InvalidEvent { .. })
    ));
}

#[test]
fn many_keys_are_refused() {
    let body: String = (0..300).map(|index| format!("k{index}=v&")).collect();

    assert!(matches!(
        parse_event(FORM, format!("event=X&{body}").as_bytes()),
        Err(Error::InvalidEvent { .. })
    ));
}

#[test]
fn deep_json_does_not_overflow() {
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));

    assert!(parse_event(Some("application/json"), &body.as_bytes()[..60_000]).is_err());
}

#[test]
fn item_event_suffix_must_agree_with_data() {
    let error = parse_event(
        FORM,
        b"event=ONCRMDYNAMICITEMUPDATE_31&data[FIELDS][ID]=5&data[FIELDS][ENTITY_TYPE_ID]=1220",
    )
    .unwrap_err();

    assert!(matches!(error, Error::InvalidEvent { .. }));
}

#[test]
fn dedup_key_names_event_object_and_time() {
    let body = &fixture_lines("event.ONCRMDEALADD.outgoing-webhook.form.txt")[0];

    let event = parse_event(FORM, body.as_bytes()).unwrap();

    assert_eq!(event.dedup_key(), "ONCRMDEALADD:7405:1766047124");
}

#[test]
fn json_and_form_fixture_agree() {
    let form = parse_event(
        FORM,
        fixture_lines("event.ONCRMDEALADD.outgoing-webhook.form.txt")[0].as_bytes(),
    )
    .unwrap();
    let json = parse_event(
        None,
        fixture("event.ONCRMDEALADD.outgoing-webhook.json")
            .to_string()
            .as_bytes(),
    )
    .unwrap();

    assert_eq!(form.kind, json.kind);
    assert_eq!(form.sent_at, json.sent_at);
    assert_eq!(form.dedup_key(), json.dedup_key());
}

fn event_name() -> impl Strategy<Value = (&'static str, bool)> {
    prop_oneof![
        Just(("ONCRMDEALADD", false)),
        Just(("ONCRMDEALUPDATE", false)),
        Just(("ONCRMDEALDELETE", false)),
        Just(("ONCRMINVOICEADD", false)),
        Just(("ONCRMINVOICESETSTATUS", false)),
        Just(("ONCRMDYNAMICITEMUPDATE", true)),
        Just(("ONCRMDYNAMICITEMDELETE", true)),
    ]
}

proptest! {
    #[test]
    fn parse_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..600), content_type in prop_oneof![
        Just(None), Just(Some("application/json")), Just(Some("application/x-www-form-urlencoded")), Just(Some("text/plain"))
    ]) {
        let _ = parse_event(content_type, &body);
    }

    #[test]
    fn parse_never_panics_on_near_valid_forms(tail in "[\\[\\]%=&a-zA-Z0-9_]{0,120}") {
        let body = format!("event=ONCRMDEALUPDATE&data[FIELDS]{tail}");
        let _ = parse_event(FORM, body.as_bytes());
    }

    #[test]
    fn form_round_trip(
        (name, dynamic) in event_name(),
        id in 1u64..=i64::MAX as u64,
        entity_type in 1u32..5000,
        ts in 0i64..4_000_000_000,
        token in "[a-z0-9]{32}",
        domain in "[a-z]{3,12}\\.bitrix24\\.(ru|com)",
        literal_brackets in any::<bool>(),
    ) {
        let mut fields = json!({"ID": id.to_string()});
        if dynamic {
            fields["ENTITY_TYPE_ID"] = json!(entity_type.to_string());
        }
        let payload = json!({
            "event": name,
            "event_handler_id": "975",
            "data": {"FIELDS": fields},
            "ts": ts.to_string(),
            "auth": {"domain": domain, "application_token": token},
        });
        let mut body = php_query::encode(&payload).unwrap();
        if !literal_brackets {
            body = body.replace('[', "%5B").replace(']', "%5D");
        }

        let event = parse_event(FORM, body.as_bytes()).unwrap();

        prop_assert_eq!(&event.name, name);
        prop_assert_eq!(event.sent_at.map(|at| at.as_second()), Some(ts));
        prop_assert_eq!(event.auth.domain.as_deref(), Some(domain.as_str()));
        prop_assert!(EventVerifier::new([token.as_str()]).verify(&event).is_ok());
        let object_id = match event.kind {
            EventKind::Deal { id, .. } => id.get(),
            EventKind::LegacyInvoice { id, .. } => id,
            EventKind::Item { id, entity_type: parsed, .. } => {
                prop_assert_eq!(parsed, EntityType::from_id(entity_type));
                id
            }
            EventKind::Other => u64::MAX,
        };
        prop_assert_eq!(object_id, id);
    }
}
