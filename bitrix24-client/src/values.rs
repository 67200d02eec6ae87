//! User-field values typed by the field's metadata.
//!
//! Bitrix24 sends a user-field value in whatever form it stored it. That means
//! enumeration item ids instead of labels, booleans as `"1"`, `"Y"` or `true`,
//! money as `"150000|RUB"`, a date as a midnight datetime with the server's
//! offset, and a file as an object, a list of objects or nothing.
//!
//! [`decode`] turns the raw JSON into a [`UfValue`] using the field's
//! [`FieldSpec`] (from `crm.deal.userfield.list`). [`UfWrite`] encodes values
//! back, in the different forms fields and filters need.

use std::fmt;
use std::str::FromStr;

use bitrix_lk_core::{Currency, FileId, Money};
use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::de;
use crate::error::{Error, Result};
use crate::methods::userfields::UserField;

/// The type of a user field (`USER_TYPE_ID`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum UserFieldType {
    /// `string`.
    String,
    /// `url`.
    Url,
    /// `boolean`.
    Boolean,
    /// `enumeration` (a list field).
    Enumeration,
    /// `money` (`"150000|RUB"`).
    Money,
    /// `integer`.
    Integer,
    /// `double`.
    Double,
    /// `date`.
    Date,
    /// `datetime`.
    DateTime,
    /// `file`.
    File,
    /// Any other type (`crm`, `employee`, `crm_status`, ...), with its `USER_TYPE_ID`.
    Other(String),
}

impl UserFieldType {
    /// Reads a `USER_TYPE_ID`.
    pub fn from_type_id(type_id: &str) -> Self {
        match type_id {
            "string" => UserFieldType::String,
            "url" => UserFieldType::Url,
            "boolean" => UserFieldType::Boolean,
            "enumeration" => UserFieldType::Enumeration,
            "money" => UserFieldType::Money,
            "integer" => UserFieldType::Integer,
            "double" => UserFieldType::Double,
            "date" => UserFieldType::Date,
            "datetime" => UserFieldType::DateTime,
            "file" => UserFieldType::File,
            other => UserFieldType::Other(other.to_owned()),
        }
    }
}

/// The metadata [`decode`] needs about a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The field code in the legacy spelling, for error messages.
    pub name: String,
    /// The value type.
    pub kind: UserFieldType,
    /// Whether the field contains several values.
    pub multiple: bool,
    /// Items of an enumeration field: `(id, label)`.
    pub items: Vec<(String, String)>,
}

impl From<&UserField> for FieldSpec {
    fn from(field: &UserField) -> Self {
        Self {
            name: field.field_name.clone(),
            kind: UserFieldType::from_type_id(&field.user_type_id),
            multiple: field.multiple,
            items: field
                .list
                .iter()
                .map(|item| (item.id.clone(), item.value.clone()))
                .collect(),
        }
    }
}

/// A decoded user-field value.
#[derive(Clone, Debug, PartialEq)]
pub enum UfValue {
    /// Unset: missing, `null`, `""`, `[]`, or `false` for a non-boolean field.
    Empty,
    /// A string field, as stored.
    Text(String),
    /// A URL field, as stored (not validated).
    Url(String),
    /// A yes/no field.
    Bool(bool),
    /// An enumeration item.
    Enum(EnumValue),
    /// A money field.
    Money(Money),
    /// An integer or double field.
    Number(Decimal),
    /// A date field: only the date part of what Bitrix24 sends.
    Date(Date),
    /// A datetime field, as an instant.
    DateTime(Timestamp),
    /// A file field: every file attached.
    Files(Vec<FileValue>),
    /// A multiple field of another type.
    List(Vec<UfValue>),
    /// A field of a type this crate does not interpret, as sent.
    Other(Value),
}

impl UfValue {
    /// Returns whether the value is unset.
    pub fn is_empty(&self) -> bool {
        match self {
            UfValue::Empty => true,
            UfValue::Files(files) => files.is_empty(),
            UfValue::List(items) => items.is_empty(),
            _ => false,
        }
    }
}

/// An enumeration item stored in a field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnumValue {
    /// The id is one of the field's items.
    Known {
        /// The item id (`LIST[].ID`).
        id: String,
        /// The item label (`LIST[].VALUE`).
        label: String,
    },
    /// The id is not among the field's items (deleted item, or stale metadata).
    Unknown {
        /// The item id as stored.
        id: String,
    },
}

impl EnumValue {
    /// Returns the stored item id.
    pub fn id(&self) -> &str {
        match self {
            EnumValue::Known { id, .. } | EnumValue::Unknown { id } => id,
        }
    }

    /// Returns the label, when the item is known.
    pub fn label(&self) -> Option<&str> {
        match self {
            EnumValue::Known { label, .. } => Some(label),
            EnumValue::Unknown { .. } => None,
        }
    }
}

/// A file in a file field.
///
/// Legacy methods give a `showUrl` and a `downloadUrl` that are relative and
/// carry an empty `auth=` for webhook calls, so they need a browser session.
/// `crm.item.*` gives `url` (also for browsers) and `urlMachine`, which is
/// meant for programs and may embed credentials, so it is kept secret.
#[derive(Clone, PartialEq)]
pub struct FileValue {
    /// The file id (a CRM file id, not a Drive id).
    pub id: FileId,
    /// The browser URL: `url` from `crm.item.*`, `showUrl` from legacy methods.
    pub url: Option<String>,
    /// The legacy `downloadUrl`, useless without a browser session.
    pub download_url: Option<String>,
    /// `urlMachine` from `crm.item.*`: the download URL for programs.
    pub url_machine: Option<SecretUrl>,
    /// The file name, when the portal sends one.
    pub name: Option<String>,
}

impl fmt::Debug for FileValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileValue")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("download_url", &self.download_url)
            .field("url_machine", &self.url_machine)
            .field("name", &self.name)
            .finish()
    }
}

/// A URL that may contain credentials; its `Debug` output hides it.
#[derive(Clone)]
pub struct SecretUrl(SecretString);

impl SecretUrl {
    /// Wraps a URL.
    pub fn new(url: String) -> Self {
        Self(SecretString::from(url))
    }

    /// Returns the URL, for the download request only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for SecretUrl {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretUrl([REDACTED])")
    }
}

/// Decodes a raw user-field value (`None` when the key is missing) by its metadata.
pub fn decode(spec: &FieldSpec, raw: Option<&Value>) -> Result<UfValue> {
    let Some(raw) = raw else {
        return Ok(UfValue::Empty);
    };
    if spec.kind == UserFieldType::File {
        let files = decode_files(spec, raw)?;
        return Ok(if files.is_empty() {
            UfValue::Empty
        } else {
            UfValue::Files(files)
        });
    }
    if is_empty_for(&spec.kind, raw) {
        return Ok(UfValue::Empty);
    }

    match raw {
        Value::Array(items) => match items.as_slice() {
            [only] if !spec.multiple => decode_single(spec, only),
            _ => decode_list(spec, items),
        },
        single if spec.multiple => Ok(UfValue::List(vec![decode_single(spec, single)?])),
        single => decode_single(spec, single),
    }
}

fn decode_list(spec: &FieldSpec, items: &[Value]) -> Result<UfValue> {
    let values: Vec<UfValue> = items
        .iter()
        .filter(|item| !is_empty_for(&spec.kind, item))
        .map(|item| decode_single(spec, item))
        .collect::<Result<_>>()?;
    Ok(if values.is_empty() {
        UfValue::Empty
    } else {
        UfValue::List(values)
    })
}

fn is_empty_for(kind: &UserFieldType, value: &Value) -> bool {
    match (kind, value) {
        (UserFieldType::Boolean, Value::Bool(false)) => false,
        _ => de::is_unset(value),
    }
}

fn decode_single(spec: &FieldSpec, raw: &Value) -> Result<UfValue> {
    let fail = |reason: String| Error::FieldValue {
        field: spec.name.clone(),
        reason,
    };

    match &spec.kind {
        UserFieldType::String => Ok(de::text_from_value(raw).map_or(UfValue::Empty, UfValue::Text)),
        UserFieldType::Url => Ok(de::text_from_value(raw).map_or(UfValue::Empty, UfValue::Url)),
        UserFieldType::Boolean => de::bool_from_value(raw)
            .map(UfValue::Bool)
            .ok_or_else(|| fail(format!("expected Y/N, 1/0 or true/false, got {raw}"))),
        UserFieldType::Enumeration => {
            decode_enum(spec, raw).ok_or_else(|| fail(format!("expected an item id, got {raw}")))
        }
        UserFieldType::Money => decode_money(raw).map_err(fail),
        UserFieldType::Integer | UserFieldType::Double => decode_number(raw)
            .map(UfValue::Number)
            .ok_or_else(|| fail(format!("expected a number, got {raw}"))),
        UserFieldType::Date => decode_date(raw).map_err(fail),
        UserFieldType::DateTime => de::timestamp_from_value(raw)
            .map(UfValue::DateTime)
            .ok_or_else(|| {
                fail(format!(
                    "expected an ISO-8601 datetime with an offset, got {raw}"
                ))
            }),
        UserFieldType::File => Ok(UfValue::Files(decode_files(spec, raw)?)),
        UserFieldType::Other(_) => Ok(UfValue::Other(raw.clone())),
    }
}

fn decode_enum(spec: &FieldSpec, raw: &Value) -> Option<UfValue> {
    let id = de::text_from_value(raw)?.trim().to_owned();
    let label = spec
        .items
        .iter()
        .find(|(item_id, _)| *item_id == id)
        .map(|(_, label)| label.clone());
    Some(UfValue::Enum(match label {
        Some(label) => EnumValue::Known { id, label },
        None => EnumValue::Unknown { id },
    }))
}

fn decode_money(raw: &Value) -> std::result::Result<UfValue, String> {
    let text = match raw {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => {
            return Err(format!(
                "expected an amount such as \"150000|RUB\", got {other}"
            ));
        }
    };
    match Money::parse(&text, &Currency::rub()) {
        Ok(Some(money)) => Ok(UfValue::Money(money)),
        Ok(None) => Ok(UfValue::Empty),
        Err(error) => Err(error.to_string()),
    }
}

fn decode_number(raw: &Value) -> Option<Decimal> {
    if let Some(number) = de::decimal_from_value(raw) {
        return Some(number);
    }
    let text = raw
        .as_str()?
        .trim()
        .replace([' ', '\u{a0}'], "")
        .replace(',', ".");
    Decimal::from_str(&text).ok()
}

/// Reads a date from the first ten characters: Bitrix24 sends a date as
/// midnight UTC shifted into the server's zone (`2025-04-29T03:00:00+03:00`).
fn decode_date(raw: &Value) -> std::result::Result<UfValue, String> {
    let text = raw.as_str().map(str::trim).unwrap_or_default();
    let head = text.get(..10).unwrap_or(text);
    Date::from_str(head)
        .map(UfValue::Date)
        .map_err(|_| format!("expected a date starting with YYYY-MM-DD, got {raw}"))
}

fn decode_files(spec: &FieldSpec, raw: &Value) -> Result<Vec<FileValue>> {
    match raw {
        Value::Array(items) => items
            .iter()
            .filter(|item| !de::is_unset(item))
            .map(|item| decode_file(spec, item))
            .collect(),
        Value::Object(map) if map.is_empty() => Ok(Vec::new()),
        Value::Object(_) | Value::Number(_) => Ok(vec![decode_file(spec, raw)?]),
        Value::String(text)
            if text.trim().chars().all(|c| c.is_ascii_digit()) && !text.trim().is_empty() =>
        {
            Ok(vec![decode_file(spec, raw)?])
        }
        _ if de::is_unset(raw) => Ok(Vec::new()),
        other => Err(Error::FieldValue {
            field: spec.name.clone(),
            reason: format!("expected a file object or a list of them, got {other}"),
        }),
    }
}

fn decode_file(spec: &FieldSpec, raw: &Value) -> Result<FileValue> {
    let id = raw.get("id").or_else(|| raw.get("ID")).unwrap_or(raw);
    let id = de::u64_from_value(id).ok_or_else(|| Error::FieldValue {
        field: spec.name.clone(),
        reason: format!("a file has no numeric id: {raw}"),
    })?;
    let text = |key: &str| {
        raw.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };

    Ok(FileValue {
        id: FileId(id),
        url: text("url").or_else(|| text("showUrl")),
        download_url: text("downloadUrl"),
        url_machine: text("urlMachine").map(SecretUrl::new),
        name: text("name").or_else(|| text("fileName")),
    })
}

/// A value to write into a field or to compare in a filter.
///
/// Fields and filters want different forms: a boolean field is written
/// `"Y"`/`"N"` but filtered with `1`/`0` (a `"Y"` filter matches nothing).
#[derive(Clone, Debug, PartialEq)]
pub enum UfWrite {
    /// Clears the field: `""` in a legacy JSON update (and `key=` in a batch
    /// command), never `null` turned into text.
    Clear,
    /// A string or URL.
    Text(String),
    /// A yes/no value.
    Bool(bool),
    /// An enumeration item id.
    Enum(String),
    /// A money amount, written `"150000.00|RUB"`.
    Money(Money),
    /// A number.
    Number(Decimal),
    /// A date, written `YYYY-MM-DD`.
    Date(Date),
    /// An instant, written as ISO-8601 with the offset of `zone` (an IANA name such as `Europe/Moscow`).
    DateTime {
        /// The instant.
        at: Timestamp,
        /// The time zone whose offset the text carries.
        zone: String,
    },
}

impl UfWrite {
    /// Returns the JSON for the `fields` of an update.
    pub fn to_field_value(&self) -> Result<Value> {
        Ok(match self {
            UfWrite::Clear => json!(""),
            UfWrite::Text(text) | UfWrite::Enum(text) => json!(text),
            UfWrite::Bool(flag) => json!(if *flag { "Y" } else { "N" }),
            UfWrite::Money(money) => {
                json!(format!("{}|{}", money.amount.normalize(), money.currency))
            }
            UfWrite::Number(number) => json!(number.normalize().to_string()),
            UfWrite::Date(date) => json!(date.to_string()),
            UfWrite::DateTime { at, zone } => json!(format_offset_datetime(*at, zone)?),
        })
    }

    /// Returns the JSON for a `filter`; a clear cannot be a filter value.
    pub fn to_filter_value(&self) -> Result<Value> {
        match self {
            UfWrite::Bool(flag) => Ok(json!(u8::from(*flag))),
            UfWrite::Clear => Err(Error::invalid_request(
                "filter",
                "a clear is not a filter value; filter on an empty string explicitly",
            )),
            other => other.to_field_value(),
        }
    }
}

/// Formats an instant as `2026-12-04T23:10:00+03:00` in the given zone.
pub(crate) fn format_offset_datetime(at: Timestamp, zone: &str) -> Result<String> {
    let zoned = at.in_tz(zone).map_err(|error| {
        Error::invalid_request("format", format!("unknown time zone {zone:?}: {error}"))
    })?;
    Ok(zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use rust_decimal::Decimal;
    use serde_json::json;

    use super::*;

    fn spec(kind: UserFieldType, multiple: bool) -> FieldSpec {
        FieldSpec {
            name: "UF_CRM_X".to_owned(),
            kind,
            multiple,
            items: vec![
                ("45".into(), "Prepayment".into()),
                ("46".into(), "Instalments".into()),
            ],
        }
    }

    #[rstest]
    #[case(json!("1"), true)]
    #[case(json!("0"), false)]
    #[case(json!("Y"), true)]
    #[case(json!("N"), false)]
    #[case(json!(1), true)]
    #[case(json!(false), false)]
    #[case(json!("true"), true)]
    fn booleans_decode_every_spelling(#[case] raw: Value, #[case] expected: bool) {
        assert_eq!(
            decode(&spec(UserFieldType::Boolean, false), Some(&raw)).unwrap(),
            UfValue::Bool(expected)
        );
    }

    #[rstest]
    #[case(None)]
    #[case(Some(json!(null)))]
    #[case(Some(json!("")))]
    #[case(Some(json!([])))]
    #[case(Some(json!(false)))]
    fn empties_decode_to_empty(#[case] raw: Option<Value>) {
        for kind in [
            UserFieldType::String,
            UserFieldType::Money,
            UserFieldType::Date,
            UserFieldType::File,
            UserFieldType::Enumeration,
        ] {
            assert_eq!(
                decode(&spec(kind.clone(), false), raw.as_ref()).unwrap(),
                UfValue::Empty,
                "{kind:?}"
            );
        }
    }

    #[test]
    fn date_takes_first_ten_chars() {
        let value = decode(
            &spec(UserFieldType::Date, false),
            Some(&json!("2025-04-29T03:00:00+03:00")),
        )
        .unwrap();

        assert_eq!(value, UfValue::Date(jiff::civil::date(2025, 4, 29)));
    }

    #[rstest]
    #[case("2025-04-29T13:03:20+03:00")]
    #[case("2025-04-29T12:03:20+02:00")]
    #[case("2025-04-29T10:03:20+00:00")]
    fn datetime_keeps_the_instant(#[case] text: &str) {
        let value = decode(&spec(UserFieldType::DateTime, false), Some(&json!(text))).unwrap();

        assert_eq!(
            value,
            UfValue::DateTime("2025-04-29T10:03:20Z".parse().unwrap())
        );
    }

    #[test]
    fn money_parses_pipe_form() {
        let value = decode(
            &spec(UserFieldType::Money, false),
            Some(&json!("150000|RUB")),
        )
        .unwrap();

        assert_eq!(value, UfValue::Money(Money::rub(Decimal::from(150000))));
    }

    #[test]
    fn multiple_enum_decodes_each() {
        let value = decode(
            &spec(UserFieldType::Enumeration, true),
            Some(&json!(["45", 99])),
        )
        .unwrap();

        assert_eq!(
            value,
            UfValue::List(vec![
                UfValue::Enum(EnumValue::Known {
                    id: "45".into(),
                    label: "Prepayment".into()
                }),
                UfValue::Enum(EnumValue::Unknown { id: "99".into() }),
            ])
        );
    }

    #[test]
    fn garbage_number_is_an_error_naming_the_field() {
        let error =
            decode(&spec(UserFieldType::Double, false), Some(&json!("twelve"))).unwrap_err();

        assert!(error.to_string().contains("UF_CRM_X"), "{error}");
    }

    #[rstest]
    #[case(UfWrite::Bool(true), json!("Y"), json!(1))]
    #[case(UfWrite::Bool(false), json!("N"), json!(0))]
    #[case(UfWrite::Text("x".into()), json!("x"), json!("x"))]
    #[case(UfWrite::Date(jiff::civil::date(2026, 12, 4)), json!("2026-12-04"), json!("2026-12-04"))]
    #[case(UfWrite::Money(Money::rub(Decimal::new(15000050, 2))), json!("150000.5|RUB"), json!("150000.5|RUB"))]
    fn writes_differ_for_fields_and_filters(
        #[case] write: UfWrite,
        #[case] field: Value,
        #[case] filter: Value,
    ) {
        assert_eq!(write.to_field_value().unwrap(), field);
        assert_eq!(write.to_filter_value().unwrap(), filter);
    }

    #[test]
    fn clear_is_an_empty_string_field() {
        assert_eq!(UfWrite::Clear.to_field_value().unwrap(), json!(""));
        assert!(UfWrite::Clear.to_filter_value().is_err());
    }

    #[test]
    fn datetime_written_with_zone_offset() {
        let write = UfWrite::DateTime {
            at: "2026-12-04T20:10:00Z".parse().unwrap(),
            zone: "Europe/Moscow".into(),
        };

        assert_eq!(
            write.to_field_value().unwrap(),
            json!("2026-12-04T23:10:00+03:00")
        );
    }
}
