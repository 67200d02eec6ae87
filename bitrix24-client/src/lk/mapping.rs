//! Pure conversions from Bitrix24 records to the core's snapshots.

use std::collections::{BTreeMap, HashMap};

use bitrix_lk_core::{
    CategoryId, Currency, Deal, DealId, FieldCode, FieldKind, FieldMeta, FieldValue, FileRef,
    Invoice, InvoiceId, InvoiceStatus, Money, Stage, StageId, StageSemantics,
};
use jiff::Timestamp;
use rust_decimal::Decimal;
use serde_json::Value;

use crate::de;
use crate::entity::EntityType;
use crate::error::{Error, Result};
use crate::methods::deals::DealRecord;
use crate::methods::invoices::LegacyInvoice;
use crate::methods::items::Item;
use crate::methods::statuses::{Semantics, Status};
use crate::methods::userfields::UserField;
use crate::values::{self, EnumValue, FieldSpec, UfValue, UserFieldType};

/// The time zone the firm's cabinet writes times in.
pub(crate) const MOSCOW: &str = "Europe/Moscow";

/// Converts `crm.deal.userfield.list` metadata to the core's form.
pub(crate) fn field_meta(field: &UserField) -> FieldMeta {
    FieldMeta {
        code: FieldCode(field.field_name.clone()),
        kind: field_kind(&UserFieldType::from_type_id(&field.user_type_id)),
        type_name: field.user_type_id.clone(),
        multiple: field.multiple,
        items: field
            .list
            .iter()
            .map(|item| (item.id.clone(), item.value.clone()))
            .collect(),
        label: field.label().map(str::to_owned),
    }
}

fn field_kind(kind: &UserFieldType) -> FieldKind {
    match kind {
        UserFieldType::String => FieldKind::String,
        UserFieldType::Url => FieldKind::Url,
        UserFieldType::Boolean => FieldKind::Boolean,
        UserFieldType::Enumeration => FieldKind::Enumeration,
        UserFieldType::Money => FieldKind::Money,
        UserFieldType::Integer => FieldKind::Integer,
        UserFieldType::Double => FieldKind::Double,
        UserFieldType::Date => FieldKind::Date,
        UserFieldType::DateTime => FieldKind::DateTime,
        UserFieldType::File => FieldKind::File,
        UserFieldType::Other(_) => FieldKind::Other,
    }
}

/// Converts a typed value to the core's value.
pub(crate) fn to_field_value(value: UfValue) -> FieldValue {
    match value {
        UfValue::Empty => FieldValue::Empty,
        UfValue::Text(text) | UfValue::Url(text) => FieldValue::Text(text),
        UfValue::Bool(flag) => FieldValue::Bool(flag),
        UfValue::Enum(EnumValue::Known { id, label }) => FieldValue::Enum {
            id,
            label: Some(label),
        },
        UfValue::Enum(EnumValue::Unknown { id }) => FieldValue::Enum { id, label: None },
        UfValue::Money(money) => FieldValue::Money(money),
        UfValue::Number(number) => FieldValue::Number(number),
        UfValue::Date(date) => FieldValue::Date(date),
        UfValue::DateTime(at) => FieldValue::DateTime(at),
        UfValue::Files(files) => FieldValue::Files(
            files
                .into_iter()
                .map(|file| FileRef {
                    id: file.id,
                    name: file.name,
                })
                .collect(),
        ),
        UfValue::List(items) => FieldValue::List(items.into_iter().map(to_field_value).collect()),
        UfValue::Other(raw) => guess_value(&raw),
    }
}

/// Reads a value without metadata: text, number, yes/no, files by shape.
pub(crate) fn guess_value(raw: &Value) -> FieldValue {
    if de::is_unset(raw) {
        return FieldValue::Empty;
    }
    match raw {
        Value::String(text) => FieldValue::Text(text.clone()),
        Value::Bool(flag) => FieldValue::Bool(*flag),
        Value::Number(_) => {
            de::decimal_from_value(raw).map_or(FieldValue::Empty, FieldValue::Number)
        }
        Value::Object(_) if raw.get("id").is_some() => guess_files(std::slice::from_ref(raw)),
        Value::Array(items) if items.iter().all(|item| item.get("id").is_some()) => {
            guess_files(items)
        }
        Value::Array(items) => FieldValue::List(items.iter().map(guess_value).collect()),
        _ => FieldValue::Empty,
    }
}

fn guess_files(items: &[Value]) -> FieldValue {
    let spec = FieldSpec {
        name: String::new(),
        kind: UserFieldType::File,
        multiple: true,
        items: Vec::new(),
    };
    let raw = Value::Array(items.to_vec());
    match values::decode(&spec, Some(&raw)) {
        Ok(value) => to_field_value(value),
        Err(_) => FieldValue::Empty,
    }
}

/// Decodes one configured field of a deal. A value that does not fit its
/// field's type is logged (without the value) and kept as text when it is text.
pub(crate) fn deal_field(
    spec: Option<&FieldSpec>,
    code: &str,
    raw: Option<&Value>,
    deal: DealId,
) -> FieldValue {
    let Some(spec) = spec else {
        return raw.map_or(FieldValue::Empty, guess_value);
    };
    match values::decode(spec, raw) {
        Ok(value) => to_field_value(value),
        Err(error) => {
            let reason = match &error {
                Error::FieldValue { .. } => "the value does not fit the field type",
                _ => "the value could not be read",
            };
            tracing::warn!(deal = %deal, field = code, reason, "keeping a deal field as raw text");
            match raw {
                Some(Value::String(text)) => FieldValue::Text(text.clone()),
                _ => FieldValue::Empty,
            }
        }
    }
}

/// Builds the core's deal snapshot with the configured fields decoded.
pub(crate) fn to_deal(
    record: &DealRecord,
    codes: &[FieldCode],
    specs: &HashMap<String, FieldSpec>,
) -> Deal {
    let mut fields = BTreeMap::new();
    for code in codes {
        let value = deal_field(
            specs.get(code.as_str()),
            code.as_str(),
            record.field(code.as_str()),
            record.id,
        );
        if !matches!(value, FieldValue::Empty) {
            fields.insert(code.clone(), value);
        }
    }

    Deal {
        id: record.id,
        title: record.title.clone().unwrap_or_default(),
        category_id: record.category_id.unwrap_or(CategoryId(0)),
        stage_id: record
            .stage_id
            .clone()
            .unwrap_or_else(|| StageId(String::new())),
        contact_id: record.contact_id,
        modified_at: record.date_modify,
        fields,
    }
}

/// Converts a stage row.
pub(crate) fn to_stage(status: &Status) -> Stage {
    Stage {
        id: StageId(status.status_id.clone()),
        name: status.name.clone(),
        sort: status.sort.unwrap_or_default(),
        semantics: to_semantics(status.semantics),
    }
}

pub(crate) fn to_semantics(semantics: Semantics) -> StageSemantics {
    match semantics {
        Semantics::Process => StageSemantics::Process,
        Semantics::Success => StageSemantics::Success,
        Semantics::Failure => StageSemantics::Failure,
    }
}

/// Builds an amount, in roubles when the currency is missing.
pub(crate) fn money(amount: Option<Decimal>, currency: Option<&str>) -> Money {
    let currency = currency
        .map(str::trim)
        .filter(|code| !code.is_empty())
        .map_or_else(Currency::rub, |code| Currency(code.to_ascii_uppercase()));
    Money::new(amount.unwrap_or_default(), currency)
}

/// Converts a smart invoice; `semantics` is the semantics of its stage, when known.
pub(crate) fn smart_invoice(item: &Item, semantics: Option<StageSemantics>) -> Invoice {
    let paid_at = match semantics {
        Some(StageSemantics::Success) => item.moved_time.or(item.updated_time),
        _ => None,
    };
    Invoice {
        id: InvoiceId::smart(item.id),
        deal_id: item.parent_id(EntityType::Deal).map(DealId),
        contact_id: item.contact_id.map(Into::into),
        title: item.title.clone().unwrap_or_default(),
        account_number: item.account_number.clone(),
        amount: money(item.opportunity, item.currency_id.as_deref()),
        status: InvoiceStatus::Smart {
            stage_id: item.stage_id.clone().unwrap_or_default(),
            semantics,
        },
        paid_at,
        updated_at: item.updated_time,
    }
}

/// Converts a legacy invoice.
pub(crate) fn legacy_invoice(invoice: &LegacyInvoice) -> Invoice {
    Invoice {
        id: InvoiceId::legacy(invoice.id),
        deal_id: invoice.uf_deal_id.map(DealId),
        contact_id: invoice.uf_contact_id.map(Into::into),
        title: invoice.order_topic.clone().unwrap_or_default(),
        account_number: invoice.account_number.clone(),
        amount: money(invoice.price, invoice.currency.as_deref()),
        status: InvoiceStatus::Legacy {
            status_id: invoice.status_id.clone().unwrap_or_default(),
            payed: invoice.payed,
        },
        paid_at: invoice.date_payed,
        updated_at: invoice.date_update,
    }
}

/// Returns the category of a smart-invoice stage id such as `DT31_5:P`.
pub(crate) fn smart_stage_category(stage_id: &str) -> Option<u64> {
    let prefix = stage_id.split_once(':')?.0;
    prefix.strip_prefix("DT31_")?.parse().ok()
}

/// Formats the last-login time for a field of the given type, in Moscow time:
/// ISO-8601 with `+03:00` for a datetime field, `YYYY-MM-DD` for a date field,
/// and `04.12.2026 23:10` for anything else.
pub(crate) fn last_login_text(kind: Option<&UserFieldType>, at: Timestamp) -> Result<String> {
    let local = at.in_tz(MOSCOW).map_err(|error| {
        Error::invalid_request(
            "crm.deal.update",
            format!("cannot convert to Moscow time: {error}"),
        )
    })?;
    Ok(match kind {
        Some(UserFieldType::DateTime) => values::format_offset_datetime(at, MOSCOW)?,
        Some(UserFieldType::Date) => local.date().to_string(),
        _ => local.strftime("%d.%m.%Y %H:%M").to_string(),
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use serde_json::json;

    use super::*;

    #[rstest]
    #[case(Some(UserFieldType::DateTime), "2026-12-04T23:10:42+03:00")]
    #[case(Some(UserFieldType::Date), "2026-12-04")]
    #[case(Some(UserFieldType::String), "04.12.2026 23:10")]
    #[case(None, "04.12.2026 23:10")]
    fn last_login_in_the_field_type(#[case] kind: Option<UserFieldType>, #[case] expected: &str) {
        let at: Timestamp = "2026-12-04T20:10:42Z".parse().unwrap();

        assert_eq!(last_login_text(kind.as_ref(), at).unwrap(), expected);
    }

    #[test]
    fn moscow_date_crosses_midnight() {
        let at: Timestamp = "2026-12-04T22:30:00Z".parse().unwrap();

        assert_eq!(
            last_login_text(Some(&UserFieldType::Date), at).unwrap(),
            "2026-12-05"
        );
    }

    #[rstest]
    #[case(json!("Создать"), FieldValue::Text("Создать".into()))]
    #[case(json!(""), FieldValue::Empty)]
    #[case(json!(false), FieldValue::Empty)]
    #[case(json!(true), FieldValue::Bool(true))]
    #[case(json!({"id": 5, "showUrl": "/x"}), FieldValue::Files(vec![FileRef { id: bitrix_lk_core::FileId(5), name: None }]))]
    fn values_guessed_without_metadata(#[case] raw: Value, #[case] expected: FieldValue) {
        assert_eq!(guess_value(&raw), expected);
    }

    #[rstest]
    #[case("DT31_5:P", Some(5))]
    #[case("DT31_1:N", Some(1))]
    #[case("C5:NEW", None)]
    #[case("P", None)]
    fn smart_stage_categories(#[case] stage: &str, #[case] expected: Option<u64>) {
        assert_eq!(smart_stage_category(stage), expected);
    }
}
