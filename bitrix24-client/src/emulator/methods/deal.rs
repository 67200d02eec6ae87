//! Legacy deal methods: `crm.deal.get`, `crm.deal.list`, `crm.deal.update`.

use jiff::tz::Offset;
use serde_json::{Map, Value};

use super::render::{self, LegacyStyle};
use super::userfields::{self, UfWrite};
use super::{Ctx, Outcome};
use crate::emulator::clock;
use crate::emulator::data::fields::{self, DEAL_FIELDS, StdField};
use crate::emulator::data::table::Record;
use crate::emulator::data::values::{Kind, Scalar};
use crate::emulator::data::{DealChange, PortalData};
use crate::emulator::envelope::{ApiError, Success};
use crate::emulator::error::EmulatorError;
use crate::emulator::params::{Params, array_values, intval, php_string, positive_id};
use crate::emulator::query::filter::{self, FieldRef, FilterKind};
use crate::emulator::query::{self, Query, Start};

/// Returns how filter values are read for a standard field.
pub(crate) fn std_filter_kind(kind: Kind) -> FilterKind {
    match kind {
        Kind::Int | Kind::IntList => FilterKind::Int,
        Kind::Double => FilterKind::Decimal,
        Kind::Str | Kind::Char => FilterKind::Text,
        Kind::Date => FilterKind::Date,
        Kind::DateTime => FilterKind::DateTime,
    }
}

/// Describes a standard field for the filter parser.
pub(crate) fn std_field_ref(field: &StdField) -> FieldRef {
    FieldRef {
        name: field.name.to_owned(),
        kind: std_filter_kind(field.kind),
        like_as_eq: matches!(field.ty, "crm_status" | "crm_company" | "crm_contact"),
    }
}

/// Resolves a legacy field name: a standard field shown in rows, or a defined user field.
fn legacy_field_ref(data: &PortalData, name: &str) -> Option<FieldRef> {
    if let Some(field) = fields::by_name(DEAL_FIELDS, name).filter(|f| f.legacy_row) {
        return Some(std_field_ref(field));
    }
    data.deal_field(name).map(|uf| FieldRef {
        name: uf.name.clone(),
        kind: userfields::filter_kind(uf.kind),
        like_as_eq: false,
    })
}

/// The fields a legacy list row shows.
struct Selection {
    std: Vec<String>,
    user: Vec<String>,
}

/// Reads `select`: `*` is every standard field, `UF_*` every user field;
/// unknown names are ignored, `ID` is always shown, and no `select` means `*` plus `UF_*`.
// NOTE: the REST docs say `UF_*` leaves out multiple fields; portals in use
// return them, so `UF_*` here includes multiple fields (document scans).
fn selection(data: &PortalData, select: Option<&Value>) -> Selection {
    let mut names: Vec<String> = select
        .map(array_values)
        .unwrap_or_default()
        .into_iter()
        .filter_map(php_string)
        .collect();
    if names.is_empty() {
        names = vec!["*".to_owned(), "UF_*".to_owned()];
    }

    let all_std = names.iter().any(|n| n == "*");
    let all_user = names.iter().any(|n| n == "UF_*");
    let std = DEAL_FIELDS
        .iter()
        .filter(|f| f.legacy_row)
        .filter(|f| all_std || f.name == "ID" || names.iter().any(|n| n == f.name))
        .map(|f| f.name.to_owned())
        .collect();
    let user = data
        .deal_fields
        .iter()
        .filter(|f| all_user || names.contains(&f.name))
        .map(|f| f.name.clone())
        .collect();
    Selection { std, user }
}

fn legacy_row(
    data: &PortalData,
    record: &Record,
    selection: Option<&Selection>,
    style: LegacyStyle,
    offset: Offset,
) -> Value {
    let only = selection.map(|s| s.std.as_slice());
    let mut row = render::legacy_std_fields(record, DEAL_FIELDS, only, offset);
    for field in &data.deal_fields {
        if selection.is_some_and(|s| !s.user.contains(&field.name)) {
            continue;
        }
        if let Some(value) = render::legacy_uf(
            field,
            record.uf_values(&field.name),
            style,
            record.id,
            offset,
        ) {
            row.insert(field.name.clone(), value);
        }
    }
    Value::Object(row)
}

fn deal_id(params: &Params) -> Result<u64, ApiError> {
    positive_id(params.get_legacy("id"))
        .ok_or_else(|| ApiError::legacy("ID is not defined or invalid."))
}

/// `crm.deal.get {id}`.
pub(crate) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let id = deal_id(params)?;
    let record = ctx
        .data
        .deals
        .get(id)
        .ok_or_else(|| ApiError::legacy("Not found"))?;
    let row = legacy_row(ctx.data, record, None, LegacyStyle::Get, ctx.offset());
    Ok(Success::plain(row).into())
}

/// `crm.deal.list {select, filter, order, start}`.
pub(crate) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let data = &*ctx.data;
    let offset = ctx.offset();
    let query = Query {
        conditions: filter::parse(params.get_legacy("filter"), offset, |name| {
            legacy_field_ref(data, name)
        }),
        order: query::parse_order(params.entries("order", true), |name| {
            legacy_field_ref(data, name).map(|f| f.name)
        }),
        start: Start::parse(params.get_legacy("start")),
    };
    let selection = selection(data, params.get_legacy("select"));

    let page = query::run(&data.deals, &query);
    let rows = page
        .ids
        .iter()
        .filter_map(|id| data.deals.get(*id))
        .map(|record| legacy_row(data, record, Some(&selection), LegacyStyle::List, offset))
        .collect();
    Ok(Success {
        result: Value::Array(rows),
        total: Some(page.total),
        next: page.next,
    }
    .into())
}

/// `crm.deal.update {id, fields, params}`: unknown and read-only fields are ignored.
pub(crate) fn update(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let id = deal_id(params)?;
    let fields = match params.get_legacy("fields") {
        Some(Value::Object(map)) => map.clone(),
        Some(Value::Array(items)) if items.is_empty() => Map::new(),
        _ => return Err(ApiError::legacy("Parameter 'fields' must be array.")),
    };
    let Some(record) = ctx.data.deals.get(id).cloned() else {
        return Err(ApiError::legacy("Not found"));
    };

    let change = legacy_change(ctx.data, &record, &fields)?;
    let user = ctx.user();
    ctx.data
        .update_deal(id, change, user)
        .map_err(|err| match err {
            EmulatorError::UnknownStage { stage, .. } => ApiError::legacy(format!(
                "Stage {stage} does not belong to the deal's pipeline."
            )),
            EmulatorError::NotFound { .. } => ApiError::legacy("Not found"),
            other => ApiError::legacy(other.to_string()),
        })?;
    Ok(Success::plain(Value::Bool(true)).into())
}

/// Builds the change a legacy `fields` object asks for.
fn legacy_change(
    data: &mut PortalData,
    record: &Record,
    fields: &Map<String, Value>,
) -> Result<DealChange, ApiError> {
    let mut change = DealChange::default();
    let offset = data.offset;
    for (name, value) in fields {
        if let Some(field) = fields::by_name(DEAL_FIELDS, name) {
            apply_std(&mut change, field, value, offset);
            continue;
        }
        let Some(uf) = data.deal_field(name).cloned() else {
            continue;
        };
        match userfields::legacy_write(data, &uf, record.uf_values(name), value) {
            UfWrite::Set(values) => change.uf.push((uf.name.clone(), values)),
            UfWrite::Unchanged | UfWrite::UnchangedShownNull => {}
        }
    }
    Ok(change)
}

fn apply_std(change: &mut DealChange, field: &'static StdField, value: &Value, offset: Offset) {
    // The legacy method cannot move a deal to another pipeline.
    if field.read_only || field.name == "CATEGORY_ID" {
        return;
    }
    if field.name == "STAGE_ID" {
        change.stage = php_string(value).filter(|s| !s.is_empty());
        return;
    }
    if let Some(scalar) = std_value(field, value, offset) {
        if field.name == "CONTACT_IDS" {
            let first = match &scalar {
                Some(Scalar::IntList(ids)) => ids.first().map(|id| Scalar::Int(*id)),
                _ => None,
            };
            change.std.push(("CONTACT_ID", first));
        }
        change.std.push((field.name, scalar));
    }
}

/// Reads a value for a standard field: `Some(None)` clears it, `None` means invalid (ignored).
pub(crate) fn std_value(field: &StdField, value: &Value, offset: Offset) -> Option<Option<Scalar>> {
    if field.kind == Kind::IntList {
        let ids = array_values(value)
            .into_iter()
            .map(intval)
            .filter(|id| *id > 0)
            .collect();
        return Some(Some(Scalar::IntList(ids)));
    }
    let text = match value {
        Value::Null => return Some(None),
        other => php_string(other)?,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() && field.kind != Kind::Str {
        return Some(None);
    }

    let scalar = match field.kind {
        Kind::Int => Scalar::Int(trimmed.parse().ok()?),
        Kind::Double => Scalar::Decimal(trimmed.parse().ok()?),
        Kind::Str => Scalar::Str(text),
        Kind::Char => Scalar::Str(
            if matches!(trimmed, "Y" | "y" | "1" | "true") {
                "Y"
            } else {
                "N"
            }
            .to_owned(),
        ),
        Kind::Date => Scalar::Date(clock::parse_date(trimmed)?),
        Kind::DateTime => Scalar::DateTime(clock::parse_datetime(trimmed, offset)?),
        Kind::IntList => return None,
    };
    Some(Some(scalar))
}
