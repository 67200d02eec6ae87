//! Rendering stored values the way each API family shows them.
//!
//! Legacy methods (`crm.deal.*`, `crm.invoice.*`) show every scalar as a
//! string; `crm.item.*` shows numbers as numbers. Dates and datetimes carry
//! the portal's offset in both.

use jiff::tz::Offset;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use crate::emulator::clock;
use crate::emulator::data::fields::{StdField, UserField, UserFieldType};
use crate::emulator::data::table::Record;
use crate::emulator::data::values::Scalar;
use crate::emulator::options::WebhookCredentials;

/// Where a legacy row is rendered: `get` and `list` show empty user fields differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LegacyStyle {
    Get,
    List,
}

/// The context file URLs need.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UrlContext<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) webhook: &'a WebhookCredentials,
    pub(crate) offset: Offset,
}

/// Renders a money amount as legacy methods do: two decimals.
fn legacy_decimal(value: Decimal) -> String {
    format!("{:.2}", value.round_dp(2))
}

/// Renders a decimal as a JSON number, whole amounts as integers.
pub(crate) fn json_decimal(value: Decimal) -> Value {
    if value.fract().is_zero()
        && let Some(whole) = value.to_i64()
    {
        return json!(whole);
    }
    value.to_f64().map(|f| json!(f)).unwrap_or(Value::Null)
}

/// Renders a standard field of a legacy row.
pub(crate) fn legacy_std(value: Option<&Scalar>, offset: Offset) -> Value {
    match value {
        None => Value::Null,
        Some(Scalar::Int(n)) => json!(n.to_string()),
        Some(Scalar::Decimal(d)) => json!(legacy_decimal(*d)),
        Some(Scalar::Str(text)) => json!(text),
        Some(Scalar::Bool(flag)) => json!(if *flag { "Y" } else { "N" }),
        Some(Scalar::Date(day)) => json!(clock::date(*day, offset)),
        Some(Scalar::DateTime(ts)) => json!(clock::datetime(*ts, offset)),
        Some(Scalar::File(id)) => json!(id.to_string()),
        Some(Scalar::IntList(items)) => {
            json!(items.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        }
    }
}

/// Renders a standard field for `crm.item.*`.
pub(crate) fn item_std(value: Option<&Scalar>, offset: Offset) -> Value {
    match value {
        None => Value::Null,
        Some(Scalar::Int(n)) => json!(n),
        Some(Scalar::Decimal(d)) => json_decimal(*d),
        Some(Scalar::Str(text)) => json!(text),
        Some(Scalar::Bool(flag)) => json!(if *flag { "Y" } else { "N" }),
        Some(Scalar::Date(day)) => json!(clock::date(*day, offset)),
        Some(Scalar::DateTime(ts)) => json!(clock::datetime(*ts, offset)),
        Some(Scalar::File(id)) => json!(id),
        Some(Scalar::IntList(items)) => json!(items),
    }
}

/// Renders one user field of a legacy deal row, or `None` when the key is left out.
///
/// Empty values: `get` omits an empty single file field, shows `[]` for an
/// empty multiple file field, `false` for another empty multiple field and
/// `""` for an empty single field; `list` rows show `null` for all of them.
pub(crate) fn legacy_uf(
    field: &UserField,
    values: &[Scalar],
    style: LegacyStyle,
    deal_id: u64,
    offset: Offset,
) -> Option<Value> {
    if values.is_empty() {
        return match (style, field.kind, field.multiple) {
            (LegacyStyle::List, _, _) => Some(Value::Null),
            (LegacyStyle::Get, UserFieldType::File, false) => None,
            (LegacyStyle::Get, UserFieldType::File, true) => Some(json!([])),
            (LegacyStyle::Get, _, true) => Some(json!(false)),
            (LegacyStyle::Get, _, false) => Some(json!("")),
        };
    }

    let render = |value: &Scalar| legacy_uf_value(field, value, deal_id, offset);
    if field.multiple {
        Some(Value::Array(values.iter().map(render).collect()))
    } else {
        Some(render(&values[0]))
    }
}

fn legacy_uf_value(field: &UserField, value: &Scalar, deal_id: u64, offset: Offset) -> Value {
    match (field.kind, value) {
        (UserFieldType::File, Scalar::File(id)) => legacy_file(&field.name, deal_id, *id),
        (UserFieldType::Boolean, Scalar::Bool(flag)) => json!(if *flag { "1" } else { "0" }),
        (UserFieldType::Double, Scalar::Decimal(d)) => json!(d.normalize().to_string()),
        (_, other) => legacy_std(Some(other), offset),
    }
}

/// The file object of legacy `get`: relative URLs, `auth=` empty for webhook calls.
fn legacy_file(field: &str, deal_id: u64, file_id: u64) -> Value {
    let path = "/bitrix/components/bitrix/crm.deal.show/show_file.php";
    let query = format!("ownerId={deal_id}&fieldName={field}&dynamic=Y&fileId={file_id}");
    json!({
        "id": file_id,
        "showUrl": format!("{path}?{query}"),
        "downloadUrl": format!("{path}?auth=&{query}"),
    })
}

/// Renders one user field for `crm.item.*`: `null` when single and empty, `[]` when multiple and empty.
pub(crate) fn item_uf(
    field: &UserField,
    values: &[Scalar],
    entity_type_id: u32,
    item_id: u64,
    urls: UrlContext<'_>,
) -> Value {
    let render = |value: &Scalar| item_uf_value(field, value, entity_type_id, item_id, urls);
    if field.multiple {
        Value::Array(values.iter().map(render).collect())
    } else {
        values.first().map(render).unwrap_or(Value::Null)
    }
}

fn item_uf_value(
    field: &UserField,
    value: &Scalar,
    entity_type_id: u32,
    item_id: u64,
    urls: UrlContext<'_>,
) -> Value {
    match (field.kind, value) {
        (UserFieldType::File, Scalar::File(id)) => {
            item_file(&field.name, entity_type_id, item_id, *id, urls)
        }
        (_, other) => item_std(Some(other), urls.offset),
    }
}

/// The file object of `crm.item.*`: `url` for browsers, `urlMachine` for programs.
///
/// `urlMachine` carries the calling webhook's credentials in its path, so it
/// works for the program that received it and for nobody else.
fn item_file(
    field: &str,
    entity_type_id: u32,
    item_id: u64,
    file_id: u64,
    urls: UrlContext<'_>,
) -> Value {
    let query =
        format!("entityTypeId={entity_type_id}&id={item_id}&fieldName={field}&fileId={file_id}");
    json!({
        "id": file_id,
        "url": format!(
            "{}/bitrix/services/main/ajax.php?action=crm.controller.item.getFile&SITE_ID=s1&{query}",
            urls.base_url
        ),
        "urlMachine": format!(
            "{}/rest/{}/{}/crm.controller.item.getFile.json?{query}",
            urls.base_url,
            urls.webhook.user_id(),
            urls.webhook.secret()
        ),
    })
}

/// Renders the standard fields of a legacy row; `only` limits them to selected names.
pub(crate) fn legacy_std_fields(
    record: &Record,
    table: &'static [StdField],
    only: Option<&[String]>,
    offset: Offset,
) -> Map<String, Value> {
    table
        .iter()
        .filter(|f| f.legacy_row)
        .filter(|f| only.is_none_or(|names| names.iter().any(|n| n == f.name)))
        .map(|f| (f.name.to_owned(), legacy_std(record.get(f.name), offset)))
        .collect()
}
