//! User-field values typed by metadata, on the shapes `crm.deal.get` and `crm.deal.list` send.

mod common;

use bitrix_lk_core::{Currency, FileId, Money};
use bitrix24_client::values::{EnumValue, FieldSpec, UserFieldType, decode};
use bitrix24_client::{Error, UfValue, UfWrite};
use jiff::Timestamp;
use proptest::prelude::*;
use rstest::rstest;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use common::fixture;

fn spec(name: &str, kind: UserFieldType, multiple: bool) -> FieldSpec {
    FieldSpec {
        name: name.to_owned(),
        kind,
        multiple,
        items: vec![
            ("3157".to_owned(), "Children's Radio".to_owned()),
            ("3159".to_owned(), "Shanson Radio".to_owned()),
        ],
    }
}

fn synthetic() -> Value {
    fixture("crm.deal.get.uf-values.SYNTHETIC.json")["result"].clone()
}

fn decode_field(name: &str, kind: UserFieldType, multiple: bool) -> UfValue {
    let deal = synthetic();
    decode(&spec(name, kind, multiple), deal.get(name)).expect("the fixture value decodes")
}

#[test]
fn get_shapes_decode_by_type() {
    assert_eq!(
        decode_field("UF_CRM_STRING", UserFieldType::String, false),
        UfValue::Text("Case 123/2025".into())
    );
    assert_eq!(
        decode_field("UF_CRM_URL", UserFieldType::Url, false),
        UfValue::Url("https://example.com/case".into())
    );
    assert_eq!(
        decode_field("UF_CRM_DOUBLE", UserFieldType::Double, false),
        UfValue::Number("12.5".parse().unwrap())
    );
    assert_eq!(
        decode_field("UF_CRM_DATE", UserFieldType::Date, false),
        UfValue::Date(jiff::civil::date(2025, 4, 29))
    );
    assert_eq!(
        decode_field("UF_CRM_DATETIME", UserFieldType::DateTime, false),
        UfValue::DateTime("2025-04-29T10:03:20Z".parse::<Timestamp>().unwrap())
    );
    assert_eq!(
        decode_field("UF_CRM_DATE_EMPTY", UserFieldType::Date, false),
        UfValue::Empty
    );
    assert_eq!(
        decode_field("UF_CRM_BOOL", UserFieldType::Boolean, false),
        UfValue::Bool(true)
    );
    assert_eq!(
        decode_field("UF_CRM_STRING_EMPTY", UserFieldType::String, false),
        UfValue::Empty
    );
    assert_eq!(
        decode_field("UF_CRM_FILE_MANY_EMPTY", UserFieldType::File, true),
        UfValue::Empty
    );
    assert_eq!(
        decode_field("UF_CRM_NOT_SENT", UserFieldType::File, false),
        UfValue::Empty
    );
}

#[test]
fn b23_enum_ids_become_labels() {
    assert_eq!(
        decode_field("UF_CRM_ENUM", UserFieldType::Enumeration, false),
        UfValue::Enum(EnumValue::Known {
            id: "3157".into(),
            label: "Children's Radio".into()
        })
    );
    let UfValue::List(items) = decode_field("UF_CRM_ENUM_MULTI", UserFieldType::Enumeration, true)
    else {
        panic!("expected a list");
    };
    assert_eq!(items.len(), 2);
}

#[rstest]
#[case(json!("45"))]
#[case(json!(45))]
fn b23_unknown_enum_id_is_explicit(#[case] raw: Value) {
    let value = decode(
        &spec("UF_CRM_1685366887323", UserFieldType::Enumeration, false),
        Some(&raw),
    )
    .unwrap();

    assert_eq!(value, UfValue::Enum(EnumValue::Unknown { id: "45".into() }));
}

#[rstest]
#[case(json!("300|RUB"), Some(Money::rub(Decimal::from(300))))]
#[case(json!("150000|RUB"), Some(Money::rub(Decimal::from(150000))))]
#[case(json!("134.43|USD"), Some(Money::new("134.43".parse().unwrap(), Currency("USD".into()))))]
#[case(json!("134.43"), Some(Money::rub("134.43".parse().unwrap())))]
#[case(json!(150000), Some(Money::rub(Decimal::from(150000))))]
#[case(json!(""), None)]
#[case(json!("|RUB"), None)]
#[case(json!(null), None)]
fn b28_money_reads_both_forms(#[case] raw: Value, #[case] expected: Option<Money>) {
    let value = decode(
        &spec("UF_CRM_1700000002", UserFieldType::Money, false),
        Some(&raw),
    )
    .unwrap();

    match expected {
        Some(money) => assert_eq!(value, UfValue::Money(money)),
        None => assert_eq!(value, UfValue::Empty),
    }
}

#[test]
fn b28_bad_money_names_the_field() {
    let error = decode(
        &spec("UF_CRM_1700000002", UserFieldType::Money, false),
        Some(&json!("сто тысяч")),
    )
    .unwrap_err();

    assert!(
        matches!(&error, Error::FieldValue { field, .. } if field == "UF_CRM_1700000002"),
        "{error:?}"
    );
}

#[test]
fn b26_legacy_file_shapes() {
    let UfValue::Files(one) = decode_field("UF_CRM_FILE_ONE", UserFieldType::File, false) else {
        panic!("expected files");
    };
    let UfValue::Files(many) = decode_field("UF_CRM_FILE_MANY", UserFieldType::File, true) else {
        panic!("expected files");
    };

    assert_eq!(one[0].id, FileId(37375));
    assert!(one[0].download_url.as_deref().unwrap().contains("auth=&"));
    assert!(one[0].url_machine.is_none());
    assert_eq!(many[0].id, FileId(37377));
}

#[test]
fn b26_download_url_repro_decodes() {
    let raw = json!([{"id": 661474,
        "showUrl": "/bitrix/components/bitrix/crm.deal.show/show_file.php?ownerId=10&fieldName=UF_CRM_1638795037&dynamic=Y&fileId=661474",
        "downloadUrl": "/bitrix/components/bitrix/crm.deal.show/show_file.php?auth=&ownerId=10&fieldName=UF_CRM_1638795037&dynamic=Y&fileId=661474"}]);

    let UfValue::Files(files) = decode(
        &spec("UF_CRM_1638795037", UserFieldType::File, true),
        Some(&raw),
    )
    .unwrap() else {
        panic!("expected files");
    };

    assert_eq!(files[0].id, FileId(661474));
    assert_ne!(files[0].url, files[0].download_url);
}

#[rstest]
#[case(json!(false))]
#[case(json!([]))]
#[case(json!(null))]
#[case(json!(""))]
fn file_field_empties(#[case] raw: Value) {
    assert_eq!(
        decode(&spec("UF_CRM_F", UserFieldType::File, true), Some(&raw)).unwrap(),
        UfValue::Empty
    );
}

#[test]
fn list_rows_carry_null_for_empty() {
    for kind in [
        UserFieldType::String,
        UserFieldType::File,
        UserFieldType::Enumeration,
        UserFieldType::Boolean,
    ] {
        assert_eq!(
            decode(&spec("UF_CRM_X", kind.clone(), false), Some(&Value::Null)).unwrap(),
            UfValue::Empty,
            "{kind:?}"
        );
    }
}

#[rstest]
#[case("2025-04-29T03:00:00+03:00")]
#[case("2024-08-30T02:00:00+02:00")]
#[case("2025-04-29")]
fn date_ignores_time_and_offset(#[case] raw: &str) {
    let value = decode(
        &spec("UF_CRM_D", UserFieldType::Date, false),
        Some(&json!(raw)),
    )
    .unwrap();

    assert!(
        matches!(value, UfValue::Date(date) if date.day() == 29 || date.day() == 30),
        "{value:?}"
    );
}

#[test]
fn b22_bool_field_and_filter_forms_differ() {
    assert_eq!(UfWrite::Bool(true).to_field_value().unwrap(), json!("Y"));
    assert_eq!(UfWrite::Bool(true).to_filter_value().unwrap(), json!(1));
    assert_eq!(UfWrite::Bool(false).to_field_value().unwrap(), json!("N"));
    assert_eq!(UfWrite::Bool(false).to_filter_value().unwrap(), json!(0));
}

#[test]
fn b07_clear_is_an_empty_string_not_none() {
    let value = UfWrite::Clear.to_field_value().unwrap();

    assert_eq!(value, json!(""));
}

#[test]
fn other_types_pass_through() {
    let value = decode(
        &spec(
            "UF_CRM_1713790573",
            UserFieldType::from_type_id("crm_status"),
            true,
        ),
        Some(&json!(["SOURCE_1"])),
    )
    .unwrap();

    assert_eq!(
        value,
        UfValue::List(vec![UfValue::Other(json!("SOURCE_1"))])
    );
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 20, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn any_kind() -> impl Strategy<Value = UserFieldType> {
    prop_oneof![
        Just(UserFieldType::String),
        Just(UserFieldType::Url),
        Just(UserFieldType::Boolean),
        Just(UserFieldType::Enumeration),
        Just(UserFieldType::Money),
        Just(UserFieldType::Integer),
        Just(UserFieldType::Double),
        Just(UserFieldType::Date),
        Just(UserFieldType::DateTime),
        Just(UserFieldType::File),
        Just(UserFieldType::Other("crm".into())),
    ]
}

proptest! {
    #[test]
    fn decode_never_panics(raw in any_json(), kind in any_kind(), multiple in any::<bool>()) {
        let _ = decode(&spec("UF_CRM_P", kind, multiple), Some(&raw));
    }
}
