//! Metadata methods: fields, user fields, pipelines, status directories, scopes.

use serde_json::{Map, Value, json};

use super::{Ctx, Outcome};
use crate::emulator::data::fields::{DEAL_FIELDS, UserField, UserFieldType};
use crate::emulator::data::pipelines::{self, Category, StageSemantics, StatusRow};
use crate::emulator::data::table::Record;
use crate::emulator::data::values::{Kind, Scalar};
use crate::emulator::envelope::{ApiError, Success};
use crate::emulator::params::{Params, intval};
use crate::emulator::query::filter::{self, FieldRef, FilterKind};
use crate::emulator::query::{self, Query, Start};

/// `scope`: the scopes ticked on the calling webhook.
pub(crate) fn scope(ctx: &mut Ctx<'_>, _params: &Params) -> Result<Outcome, ApiError> {
    Ok(Success::plain(json!(ctx.webhook.scopes())).into())
}

/// `crm.deal.fields`: standard fields, then user fields with `isDynamic: true`.
pub(crate) fn deal_fields(ctx: &mut Ctx<'_>, _params: &Params) -> Result<Outcome, ApiError> {
    let mut result = Map::new();
    for field in DEAL_FIELDS.iter().filter(|f| f.name != "OBSERVERS") {
        let mut entry = Map::new();
        entry.insert("type".to_owned(), json!(field.ty));
        entry.insert("isRequired".to_owned(), json!(false));
        entry.insert("isReadOnly".to_owned(), json!(field.read_only));
        entry.insert("isImmutable".to_owned(), json!(field.immutable));
        entry.insert("isMultiple".to_owned(), json!(field.kind == Kind::IntList));
        entry.insert("isDynamic".to_owned(), json!(false));
        if field.deprecated {
            entry.insert("isDeprecated".to_owned(), json!(true));
        }
        if let Some(status_type) = field.status_type {
            entry.insert("statusType".to_owned(), json!(status_type));
        }
        if let Some(parent) = field.parent_entity_type_id {
            entry.insert(
                "settings".to_owned(),
                json!({ "parentEntityTypeId": parent }),
            );
        }
        entry.insert("title".to_owned(), json!(field.title));
        result.insert(field.name.to_owned(), Value::Object(entry));
    }

    for field in &ctx.data.deal_fields {
        let mut entry = json!({
            "type": field.kind.user_type_id(),
            "isRequired": field.mandatory,
            "isReadOnly": false,
            "isImmutable": false,
            "isMultiple": field.multiple,
            "isDynamic": true,
            "title": field.name,
            "listLabel": field.label,
            "formLabel": field.label,
            "filterLabel": field.label,
            "settings": uf_settings(field.kind),
        });
        if field.kind == UserFieldType::Enumeration {
            entry["items"] = field
                .items
                .iter()
                .map(|item| json!({"ID": item.id.to_string(), "VALUE": item.value}))
                .collect();
        }
        result.insert(field.name.clone(), entry);
    }
    Ok(Success::plain(Value::Object(result)).into())
}

fn uf_settings(kind: UserFieldType) -> Value {
    match kind {
        UserFieldType::Enumeration => {
            json!({"DISPLAY": "LIST", "LIST_HEIGHT": 1, "CAPTION_NO_VALUE": "", "SHOW_NO_VALUE": "Y"})
        }
        UserFieldType::File => json!({
            "SIZE": 20, "LIST_WIDTH": 0, "LIST_HEIGHT": 0, "MAX_SHOW_SIZE": 0,
            "MAX_ALLOWED_SIZE": 0, "EXTENSIONS": [], "TARGET_BLANK": "Y"
        }),
        UserFieldType::String | UserFieldType::Url => json!({
            "SIZE": 20, "ROWS": 1, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": ""
        }),
        UserFieldType::Double => {
            json!({"PRECISION": 2, "SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": ""})
        }
        UserFieldType::Integer => {
            json!({"SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": ""})
        }
        UserFieldType::Boolean => {
            json!({"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX", "LABEL": ["", ""], "LABEL_CHECKBOX": ""})
        }
        UserFieldType::Date => json!({"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}}),
        UserFieldType::DateTime => json!({
            "DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}, "USE_SECOND": "Y", "USE_TIMEZONE": "N"
        }),
        UserFieldType::Money => json!({"DEFAULT_VALUE": ""}),
        UserFieldType::Employee => json!({"DEFAULT_VALUE": ""}),
    }
}

fn text(value: &str) -> Scalar {
    Scalar::Str(value.to_owned())
}

fn flag(value: bool) -> Scalar {
    text(if value { "Y" } else { "N" })
}

fn small_ref(name: &str, kinds: &[(&'static str, FilterKind)]) -> Option<FieldRef> {
    kinds
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(known, kind)| FieldRef {
            name: (*known).to_owned(),
            kind: *kind,
            like_as_eq: false,
        })
}

const USERFIELD_KEYS: &[(&str, FilterKind)] = &[
    ("ID", FilterKind::Int),
    ("ENTITY_ID", FilterKind::Text),
    ("FIELD_NAME", FilterKind::Text),
    ("USER_TYPE_ID", FilterKind::Text),
    ("MULTIPLE", FilterKind::Text),
    ("MANDATORY", FilterKind::Text),
    ("SORT", FilterKind::Int),
];

fn userfield_record(field: &UserField) -> Record {
    let mut record = Record {
        id: field.id,
        ..Record::default()
    };
    record.set("ID", Scalar::Int(field.id as i64));
    record.set("ENTITY_ID", text("CRM_DEAL"));
    record.set("FIELD_NAME", text(&field.name));
    record.set("USER_TYPE_ID", text(field.kind.user_type_id()));
    record.set("MULTIPLE", flag(field.multiple));
    record.set("MANDATORY", flag(field.mandatory));
    record.set("SORT", Scalar::Int(field.sort));
    record
}

fn render_userfield(field: &UserField) -> Value {
    let mut row = json!({
        "ID": field.id.to_string(),
        "ENTITY_ID": "CRM_DEAL",
        "FIELD_NAME": field.name,
        "USER_TYPE_ID": field.kind.user_type_id(),
        "XML_ID": null,
        "SORT": field.sort.to_string(),
        "MULTIPLE": if field.multiple { "Y" } else { "N" },
        "MANDATORY": if field.mandatory { "Y" } else { "N" },
        "SHOW_FILTER": "E",
        "SHOW_IN_LIST": "Y",
        "EDIT_IN_LIST": "Y",
        "IS_SEARCHABLE": "N",
        "SETTINGS": uf_settings(field.kind),
        "EDIT_FORM_LABEL": field.label,
        "LIST_COLUMN_LABEL": field.label,
        "LIST_FILTER_LABEL": field.label,
        "ERROR_MESSAGE": null,
        "HELP_MESSAGE": null,
    });
    if field.kind == UserFieldType::Enumeration {
        row["LIST"] = field
            .items
            .iter()
            .map(|item| {
                json!({
                    "ID": item.id.to_string(),
                    "SORT": item.sort.to_string(),
                    "VALUE": item.value,
                    "DEF": if item.default { "Y" } else { "N" },
                    "XML_ID": item.xml_id,
                })
            })
            .collect();
    }
    row
}

/// `crm.deal.userfield.list {order, filter}`: enumeration fields carry `LIST`.
pub(crate) fn userfield_list(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let query = small_query(params, ctx, USERFIELD_KEYS, true);
    let records = ctx.data.deal_fields.iter().map(userfield_record).collect();
    let (rows, page) = query::run_small(records, &query);
    let result = rows
        .iter()
        .filter_map(|r| ctx.data.deal_fields.iter().find(|f| f.id == r.id))
        .map(render_userfield)
        .collect();
    Ok(listed(result, page))
}

fn small_query(
    params: &Params,
    ctx: &Ctx<'_>,
    keys: &[(&'static str, FilterKind)],
    legacy: bool,
) -> Query {
    let get = |name: &str| {
        if legacy {
            params.get_legacy(name)
        } else {
            params.get(name)
        }
    };
    Query {
        conditions: filter::parse(get("filter"), ctx.offset(), |name| small_ref(name, keys)),
        order: query::parse_order(params.entries("order", legacy), |name| {
            small_ref(name, keys).map(|f| f.name)
        }),
        start: Start::parse(get("start")),
    }
}

fn listed(result: Vec<Value>, page: query::Page) -> Outcome {
    Success {
        result: Value::Array(result),
        total: Some(page.total),
        next: page.next,
    }
    .into()
}

const CATEGORY_KEYS: &[(&str, FilterKind)] = &[
    ("id", FilterKind::Int),
    ("name", FilterKind::Text),
    ("sort", FilterKind::Int),
    ("isDefault", FilterKind::Text),
];

/// `crm.category.list {entityTypeId}`: pipelines under `result.categories`, by `sort`.
pub(crate) fn category_list(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let entity_type_id = params.get("entityTypeId").map(intval).unwrap_or(0);
    if entity_type_id != i64::from(pipelines::DEAL)
        && entity_type_id != i64::from(pipelines::SMART_INVOICE)
    {
        return Err(ApiError::type_not_found());
    }

    let mut query = small_query(params, ctx, CATEGORY_KEYS, false);
    if query.order.is_empty() {
        query.order.push(("sort".to_owned(), true));
    }
    let categories: Vec<&Category> = ctx
        .data
        .categories
        .iter()
        .filter(|c| i64::from(c.entity_type_id) == entity_type_id)
        .collect();
    let records = categories.iter().map(|c| category_record(c)).collect();
    let (rows, page) = query::run_small(records, &query);
    let result: Vec<Value> = rows
        .iter()
        .filter_map(|r| categories.iter().find(|c| c.id == r.id))
        .map(|c| render_category(c))
        .collect();
    Ok(Success {
        result: json!({ "categories": result }),
        total: Some(page.total),
        next: page.next,
    }
    .into())
}

fn category_record(category: &Category) -> Record {
    let mut record = Record {
        id: category.id,
        ..Record::default()
    };
    record.set("id", Scalar::Int(category.id as i64));
    record.set("name", text(&category.name));
    record.set("sort", Scalar::Int(category.sort));
    record.set("isDefault", flag(category.is_default));
    record
}

/// The default pipeline has no `originId`/`originatorId` keys, as on the portal.
fn render_category(category: &Category) -> Value {
    let mut row = json!({
        "id": category.id,
        "name": category.name,
        "sort": category.sort,
        "entityTypeId": category.entity_type_id,
        "isDefault": if category.is_default { "Y" } else { "N" },
    });
    if !category.is_default {
        row["originId"] = json!("");
        row["originatorId"] = json!("");
    }
    row
}

const STATUS_KEYS: &[(&str, FilterKind)] = &[
    ("ID", FilterKind::Int),
    ("ENTITY_ID", FilterKind::Text),
    ("STATUS_ID", FilterKind::Text),
    ("NAME", FilterKind::Text),
    ("SORT", FilterKind::Int),
    ("SYSTEM", FilterKind::Text),
    ("CATEGORY_ID", FilterKind::Int),
    ("SEMANTICS", FilterKind::Text),
];

fn status_record(row: &StatusRow) -> Record {
    let mut record = Record {
        id: row.row_id,
        ..Record::default()
    };
    record.set("ID", Scalar::Int(row.row_id as i64));
    record.set("ENTITY_ID", text(&row.entity_id));
    record.set("STATUS_ID", text(&row.status_id));
    record.set("NAME", text(&row.name));
    record.set("SORT", Scalar::Int(row.sort));
    record.set("SYSTEM", flag(row.system));
    record.set_opt(
        "CATEGORY_ID",
        row.category_id.map(|c| Scalar::Int(c as i64)),
    );
    record.set_opt(
        "SEMANTICS",
        row.semantics.and_then(StageSemantics::letter).map(text),
    );
    record
}

/// Deal stages carry `EXTRA`; smart-invoice stages and plain directories do not.
fn render_status(row: &StatusRow) -> Value {
    let color = if row.color.is_empty() {
        Value::Null
    } else {
        json!(row.color)
    };
    let mut out = json!({
        "ID": row.row_id.to_string(),
        "ENTITY_ID": row.entity_id,
        "STATUS_ID": row.status_id,
        "NAME": row.name,
        "NAME_INIT": if row.system { row.name_init.as_str() } else { "" },
        "SORT": row.sort.to_string(),
        "SYSTEM": if row.system { "Y" } else { "N" },
        "CATEGORY_ID": row.category_id.map(|c| c.to_string()),
        "COLOR": color,
        "SEMANTICS": row.semantics.and_then(StageSemantics::letter),
    });
    if let (true, Some(semantics)) = (row.with_extra, row.semantics) {
        out["EXTRA"] = json!({"SEMANTICS": semantics.extra_name(), "COLOR": row.color});
    }
    out
}

/// `crm.status.list {filter, order}`: every directory unless filtered, 50 rows a page.
pub(crate) fn status_list(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let query = small_query(params, ctx, STATUS_KEYS, true);
    let records = ctx.data.statuses.iter().map(status_record).collect();
    let (rows, page) = query::run_small(records, &query);
    let result = rows
        .iter()
        .filter_map(|r| ctx.data.statuses.iter().find(|s| s.row_id == r.id))
        .map(render_status)
        .collect();
    Ok(listed(result, page))
}

/// `crm.status.entity.types`: every status directory with its prefix and semantics.
pub(crate) fn status_entity_types(
    ctx: &mut Ctx<'_>,
    _params: &Params,
) -> Result<Outcome, ApiError> {
    let data = &*ctx.data;
    let mut result = vec![
        json!({"ID": "SOURCE", "NAME": "Источники"}),
        json!({"ID": "DEAL_TYPE", "NAME": "Тип сделки"}),
        json!({"ID": "INVOICE_STATUS", "NAME": "Статусы счёта"}),
    ];
    for category in &data.categories {
        let stages = data.stages(category.entity_type_id, category.id);
        let code = |semantics: StageSemantics| {
            stages
                .iter()
                .find(|s| s.semantics == Some(semantics))
                .map(|s| s.status_id.clone())
                .unwrap_or_default()
        };
        let entry = if category.entity_type_id == pipelines::SMART_INVOICE {
            json!({
                "ID": pipelines::smart_invoice_stage_entity(category.id),
                "NAME": format!("Стадии счёта ({})", category.name),
                "SEMANTIC_INFO": [],
                "PREFIX": format!("DT31_{}", category.id),
                "FIELD_ATTRIBUTE_SCOPE": format!("category_{}", category.id),
                "ENTITY_TYPE_ID": 31,
                "IS_ENABLED": true,
                "CATEGORY_ID": category.id,
            })
        } else {
            let semantic_info = json!({
                "START_FIELD": stages.first().map(|s| s.status_id.clone()).unwrap_or_default(),
                "FINAL_SUCCESS_FIELD": code(StageSemantics::Success),
                "FINAL_UNSUCCESS_FIELD": code(StageSemantics::Failure),
                "FINAL_SORT": 0,
            });
            if category.id == 0 {
                json!({
                    "ID": "DEAL_STAGE",
                    "NAME": format!("Стадии сделки ({})", category.name),
                    "SEMANTIC_INFO": semantic_info,
                    "FIELD_ATTRIBUTE_SCOPE": "",
                    "ENTITY_TYPE_ID": 2,
                    "CATEGORY_ID": 0,
                })
            } else {
                json!({
                    "ID": pipelines::deal_stage_entity(category.id),
                    "NAME": format!("Стадии сделки ({})", category.name),
                    "PARENT_ID": "DEAL_STAGE",
                    "SEMANTIC_INFO": semantic_info,
                    "PREFIX": format!("C{}", category.id),
                    "FIELD_ATTRIBUTE_SCOPE": format!("category_{}", category.id),
                    "ENTITY_TYPE_ID": 2,
                    "CATEGORY_ID": category.id.to_string(),
                })
            }
        };
        result.push(entry);
    }
    Ok(Success::plain(Value::Array(result)).into())
}
