//! The universal methods `crm.item.get`, `crm.item.list`, `crm.item.update`
//! for deals (entity type 2) and smart invoices (entity type 31).
//!
//! Keys are camelCase, numbers are numbers, user fields are `ufCrm_…` unless
//! `useOriginalUfNames=Y` is passed.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::deal::{std_field_ref, std_value};
use super::render;
use super::userfields::{self, UfWrite};
use super::{Ctx, Outcome};
use crate::emulator::data::fields::{self, DEAL_FIELDS, SMART_INVOICE_FIELDS, StdField, UserField};
use crate::emulator::data::pipelines;
use crate::emulator::data::table::{Record, Table};
use crate::emulator::data::{DealChange, PortalData};
use crate::emulator::envelope::{ApiError, Success};
use crate::emulator::error::EmulatorError;
use crate::emulator::params::{Params, array_values, intval, php_string, positive_id};
use crate::emulator::query::filter::{self, FieldRef};
use crate::emulator::query::{self, Query, Start};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entity {
    Deal,
    SmartInvoice,
}

impl Entity {
    fn from_params(params: &Params) -> Result<Self, ApiError> {
        match params.get("entityTypeId").map(intval) {
            Some(2) => Ok(Entity::Deal),
            Some(31) => Ok(Entity::SmartInvoice),
            _ => Err(ApiError::type_not_found()),
        }
    }

    fn type_id(self) -> u32 {
        match self {
            Entity::Deal => pipelines::DEAL,
            Entity::SmartInvoice => pipelines::SMART_INVOICE,
        }
    }

    fn fields(self) -> &'static [StdField] {
        match self {
            Entity::Deal => DEAL_FIELDS,
            Entity::SmartInvoice => SMART_INVOICE_FIELDS,
        }
    }

    fn table(self, data: &PortalData) -> &Table {
        match self {
            Entity::Deal => &data.deals,
            Entity::SmartInvoice => &data.smart_invoices,
        }
    }

    /// User fields of the entity (smart invoices have none in the emulator).
    fn user_fields(self, data: &PortalData) -> &[UserField] {
        match self {
            Entity::Deal => &data.deal_fields,
            Entity::SmartInvoice => &[],
        }
    }
}

fn original_names(params: &Params) -> bool {
    params
        .get("useOriginalUfNames")
        .and_then(php_string)
        .is_some_and(|flag| flag.eq_ignore_ascii_case("Y"))
}

fn uf_key(field: &UserField, original: bool) -> String {
    if original {
        field.name.clone()
    } else {
        field.camel_name()
    }
}

/// Resolves a camelCase name (or a user-field name in the requested spelling).
fn field_ref(entity: Entity, data: &PortalData, name: &str, original: bool) -> Option<FieldRef> {
    if let Some(field) = fields::by_camel(entity.fields(), name) {
        return Some(std_field_ref(field));
    }
    entity
        .user_fields(data)
        .iter()
        .find(|f| uf_key(f, original) == name)
        .map(|uf| FieldRef {
            name: uf.name.clone(),
            kind: userfields::filter_kind(uf.kind),
            like_as_eq: false,
        })
}

/// Which keys an item shows.
struct Selection {
    all_std: bool,
    all_user: bool,
    names: Vec<String>,
}

impl Selection {
    fn everything() -> Self {
        Self {
            all_std: true,
            all_user: true,
            names: vec!["entityTypeId".to_owned()],
        }
    }

    /// Reads `select`; `*` means every field. With `useOriginalUfNames=Y`
    /// the portal returns user fields only for `*`, and that is kept here.
    fn parse(select: Option<&Value>, original: bool) -> Self {
        let mut names: Vec<String> = select
            .map(array_values)
            .unwrap_or_default()
            .into_iter()
            .filter_map(php_string)
            .collect();
        if names.is_empty() {
            names.push("*".to_owned());
        }
        let star = names.iter().any(|n| n == "*");
        let all_user = star || names.iter().any(|n| n.eq_ignore_ascii_case("uf_*"));
        if star && !original {
            names.push("entityTypeId".to_owned());
        }
        Self {
            all_std: star && !original,
            all_user,
            names,
        }
    }

    fn wants(&self, key: &str) -> bool {
        self.names.iter().any(|n| n == key)
    }
}

fn render_item(
    ctx: &Ctx<'_>,
    entity: Entity,
    record: &Record,
    selection: &Selection,
    original: bool,
    shown_null: &[String],
) -> Value {
    let offset = ctx.offset();
    let mut item = Map::new();
    for field in entity.fields().iter().filter(|f| !f.camel.is_empty()) {
        if selection.all_std || selection.wants(field.camel) {
            item.insert(
                field.camel.to_owned(),
                render::item_std(record.get(field.name), offset),
            );
        }
    }
    for field in entity.user_fields(ctx.data) {
        let key = uf_key(field, original);
        if !(selection.all_user || selection.wants(&key)) {
            continue;
        }
        let value = if shown_null.contains(&field.name) {
            Value::Null
        } else {
            render::item_uf(
                field,
                record.uf_values(&field.name),
                entity.type_id(),
                record.id,
                ctx.urls(),
            )
        };
        item.insert(key, value);
    }
    if selection.wants("entityTypeId") {
        item.insert("entityTypeId".to_owned(), json!(entity.type_id()));
    }
    Value::Object(item)
}

/// `crm.item.get {entityTypeId, id}`.
pub(crate) fn get(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let entity = Entity::from_params(params)?;
    let id = positive_id(params.get("id")).ok_or_else(ApiError::item_not_found)?;
    let record = entity
        .table(ctx.data)
        .get(id)
        .ok_or_else(ApiError::item_not_found)?;
    let item = render_item(
        ctx,
        entity,
        record,
        &Selection::everything(),
        original_names(params),
        &[],
    );
    Ok(Success::plain(json!({ "item": item })).into())
}

/// `crm.item.list {entityTypeId, select, filter, order, start}`: rows under `result.items`.
pub(crate) fn list(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let entity = Entity::from_params(params)?;
    let original = original_names(params);
    let data = &*ctx.data;
    let query = Query {
        conditions: filter::parse(params.get("filter"), ctx.offset(), |name| {
            field_ref(entity, data, name, original)
        }),
        order: query::parse_order(params.entries("order", false), |name| {
            field_ref(entity, data, name, original).map(|f| f.name)
        }),
        start: Start::parse(params.get("start")),
    };
    let selection = Selection::parse(params.get("select"), original);

    let table = entity.table(data);
    let page = query::run(table, &query);
    let items: Vec<Value> = page
        .ids
        .iter()
        .filter_map(|id| table.get(*id))
        .map(|record| render_item(ctx, entity, record, &selection, original, &[]))
        .collect();
    Ok(Success {
        result: json!({ "items": items }),
        total: Some(page.total),
        next: page.next,
    }
    .into())
}

/// `crm.item.update {entityTypeId, id, fields}`: returns the updated item.
pub(crate) fn update(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let entity = Entity::from_params(params)?;
    let original = original_names(params);
    let id = positive_id(params.get("id")).ok_or_else(ApiError::item_not_found)?;
    let Some(record) = entity.table(ctx.data).get(id).cloned() else {
        return Err(ApiError::item_not_found());
    };
    let fields = match params.get("fields") {
        Some(Value::Object(map)) => map.clone(),
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "INVALID_ARG_VALUE",
                "Invalid value of parameter 'fields'",
            ));
        }
    };

    let user = ctx.user();
    let shown_null = match entity {
        Entity::Deal => update_deal(ctx.data, &record, &fields, original, user)?,
        Entity::SmartInvoice => {
            update_invoice(ctx.data, id, &fields, user)?;
            Vec::new()
        }
    };

    let record = entity
        .table(ctx.data)
        .get(id)
        .ok_or_else(ApiError::item_not_found)?;
    let item = render_item(
        ctx,
        entity,
        record,
        &Selection::everything(),
        original,
        &shown_null,
    );
    Ok(Success::plain(json!({ "item": item })).into())
}

fn stage_error(err: EmulatorError) -> ApiError {
    match err {
        EmulatorError::NotFound { entity: "deal", .. } => ApiError::item_not_found(),
        // NOTE: the portal's exact code and text for a stage of another pipeline are not documented.
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "CRM_FIELD_ERROR_VALUE_NOT_VALID",
            format!("Invalid value of field \"stageId\" or \"categoryId\": {other}"),
        ),
    }
}

/// Applies `fields` to a deal; returns user fields the response shows as `null`.
fn update_deal(
    data: &mut PortalData,
    record: &Record,
    fields: &Map<String, Value>,
    original: bool,
    user: u64,
) -> Result<Vec<String>, ApiError> {
    let mut change = DealChange::default();
    let mut shown_null = Vec::new();
    let offset = data.offset;

    for (key, value) in fields {
        match key.as_str() {
            "categoryId" => change.category = u64::try_from(intval(value)).ok(),
            "stageId" => change.stage = php_string(value).filter(|s| !s.is_empty()),
            _ => {}
        }
        if let Some(field) = fields::by_camel(DEAL_FIELDS, key) {
            if !field.read_only
                && !matches!(field.name, "CATEGORY_ID" | "STAGE_ID")
                && let Some(scalar) = std_value(field, value, offset)
            {
                change.std.push((field.name, scalar));
            }
            continue;
        }
        let Some(uf) = data
            .deal_fields
            .iter()
            .find(|f| uf_key(f, original) == *key)
            .cloned()
        else {
            continue;
        };
        match userfields::item_write(data, &uf, record.uf_values(&uf.name), value) {
            UfWrite::Set(values) => change.uf.push((uf.name.clone(), values)),
            UfWrite::UnchangedShownNull => shown_null.push(uf.name.clone()),
            UfWrite::Unchanged => {}
        }
    }

    data.update_deal(record.id, change, user)
        .map_err(stage_error)?;
    Ok(shown_null)
}

fn update_invoice(
    data: &mut PortalData,
    id: u64,
    fields: &Map<String, Value>,
    user: u64,
) -> Result<(), ApiError> {
    let offset = data.offset;
    let mut std = Vec::new();
    let mut stage = None;
    for (key, value) in fields {
        if key == "stageId" {
            stage = php_string(value).filter(|s| !s.is_empty());
            continue;
        }
        let Some(field) = fields::by_camel(SMART_INVOICE_FIELDS, key) else {
            continue;
        };
        if field.read_only || matches!(field.name, "CATEGORY_ID" | "STAGE_ID") {
            continue;
        }
        if let Some(scalar) = std_value(field, value, offset) {
            std.push((field.name, scalar));
        }
    }
    data.update_smart_invoice(id, std, stage, user)
        .map_err(|err| match err {
            EmulatorError::NotFound { .. } => ApiError::item_not_found(),
            other => stage_error(other),
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn star_with_original_names_selects_user_fields_only() {
        let selection = Selection::parse(Some(&json!(["*"])), true);
        assert!(!selection.all_std);
        assert!(selection.all_user);
        let selection = Selection::parse(Some(&json!(["*"])), false);
        assert!(selection.all_std);
        assert!(selection.all_user);
    }

    #[test]
    fn explicit_select_shows_only_named_keys() {
        let selection = Selection::parse(Some(&json!(["id", "stageId"])), false);
        assert!(!selection.all_std);
        assert!(!selection.all_user);
        assert!(selection.wants("id"));
        assert!(!selection.wants("title"));
    }
}
