//! Legacy invoices: `crm.invoice.get`, `crm.invoice.list` (UPPER_CASE, strings).

use serde_json::Value;

use super::deal::std_field_ref;
use super::render;
use super::{Ctx, Outcome};
use crate::emulator::data::fields::{self, LEGACY_INVOICE_FIELDS};
use crate::emulator::envelope::{ApiError, Success};
use crate::emulator::params::{Params, array_values, php_string, positive_id};
use crate::emulator::query::filter;
use crate::emulator::query::{self, Query, Start};

/// `crm.invoice.get {id}`.
pub(crate) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let id = positive_id(params.get_legacy("id"))
        .ok_or_else(|| ApiError::legacy("ID is not defined or invalid."))?;
    let record = ctx
        .data
        .legacy_invoices
        .get(id)
        .ok_or_else(|| ApiError::legacy("Not found"))?;
    let row = render::legacy_std_fields(record, LEGACY_INVOICE_FIELDS, None, ctx.offset());
    Ok(Success::plain(Value::Object(row)).into())
}

/// Reads `select`: `*` is every field, `UF_*` the `UF_` fields; no `select` means every field.
fn selection(select: Option<&Value>) -> Option<Vec<String>> {
    let names: Vec<String> = select
        .map(array_values)
        .unwrap_or_default()
        .into_iter()
        .filter_map(php_string)
        .collect();
    if names.is_empty() || names.iter().any(|n| n == "*") {
        return None;
    }
    let all_user = names.iter().any(|n| n == "UF_*");
    let chosen = LEGACY_INVOICE_FIELDS
        .iter()
        .filter(|f| {
            f.name == "ID"
                || names.iter().any(|n| n == f.name)
                || (all_user && f.name.starts_with("UF_"))
        })
        .map(|f| f.name.to_owned())
        .collect();
    Some(chosen)
}

/// `crm.invoice.list {select, filter, order, start}`.
pub(crate) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let resolve = |name: &str| fields::by_name(LEGACY_INVOICE_FIELDS, name).map(std_field_ref);
    let query = Query {
        conditions: filter::parse(params.get_legacy("filter"), ctx.offset(), resolve),
        order: query::parse_order(params.entries("order", true), |name| {
            resolve(name).map(|f| f.name)
        }),
        start: Start::parse(params.get_legacy("start")),
    };
    let only = selection(params.get_legacy("select"));

    let table = &ctx.data.legacy_invoices;
    let page = query::run(table, &query);
    let rows = page
        .ids
        .iter()
        .filter_map(|id| table.get(*id))
        .map(|record| {
            Value::Object(render::legacy_std_fields(
                record,
                LEGACY_INVOICE_FIELDS,
                only.as_deref(),
                ctx.offset(),
            ))
        })
        .collect();
    Ok(Success {
        result: Value::Array(rows),
        total: Some(page.total),
        next: page.next,
    }
    .into())
}
