//! File fields: uploads through legacy `fileData` and through `crm.item.update`,
//! and the download method behind `urlMachine`.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use bytes::Bytes;
use serde_json::Value;

use super::userfields::UfWrite;
use super::{Ctx, FileAnswer, Outcome};
use crate::emulator::data::PortalData;
use crate::emulator::data::fields::UserField;
use crate::emulator::data::pipelines;
use crate::emulator::data::values::Scalar;
use crate::emulator::envelope::ApiError;
use crate::emulator::params::{Params, intval, php_string, positive_id};

fn decode_base64(content: &str) -> Option<Bytes> {
    STANDARD
        .decode(content.trim())
        .or_else(|_| STANDARD_NO_PAD.decode(content.trim()))
        .ok()
        .map(Bytes::from)
}

/// Stores `(name, base64)`; returns the new file id, or `None` when the content is empty or not base64.
fn store(data: &mut PortalData, name: &str, content: &str) -> Option<u64> {
    if content.is_empty() {
        return None;
    }
    match decode_base64(content) {
        Some(bytes) => Some(data.store_file(name, bytes)),
        None => {
            tracing::debug!(file.name = %name, "emulator ignored a file whose content is not base64");
            None
        }
    }
}

/// Reads a legacy `fileData`: `[name, base64]`, `[base64]` or a bare base64 string.
fn file_data(value: &Value) -> Option<(String, String)> {
    match value {
        Value::String(content) => Some((String::new(), content.clone())),
        Value::Array(items) => match items.as_slice() {
            [content] => Some((String::new(), php_string(content)?)),
            [name, content, ..] => Some((php_string(name)?, php_string(content)?)),
            [] => None,
        },
        _ => None,
    }
}

/// Applies a legacy `crm.deal.update` value to a file field.
///
/// A single field takes an object: `{"fileData": ..}` uploads (replacing the
/// file), `{"id": N, "remove": "Y"}` deletes; an array or a raw base64 string
/// is ignored. A multiple field is rebuilt from the uploads in the request
/// only: files listed by id without `fileData` are not kept.
pub(crate) fn legacy_write(
    data: &mut PortalData,
    field: &UserField,
    current: &[Scalar],
    value: &Value,
) -> UfWrite {
    if matches!(value, Value::Null | Value::Bool(false)) || value.as_str() == Some("") {
        return UfWrite::Set(Vec::new());
    }

    if field.multiple {
        let items: Vec<&Value> = match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(_) => vec![value],
            _ => return UfWrite::Unchanged,
        };
        let uploaded = items
            .into_iter()
            .filter_map(|item| item.get("fileData").and_then(file_data))
            .filter_map(|(name, content)| store(data, &name, &content))
            .map(Scalar::File)
            .collect();
        return UfWrite::Set(uploaded);
    }

    let Value::Object(object) = value else {
        return UfWrite::Unchanged;
    };
    if let Some((name, content)) = object.get("fileData").and_then(file_data) {
        return match store(data, &name, &content) {
            Some(id) => UfWrite::Set(vec![Scalar::File(id)]),
            None => UfWrite::Unchanged,
        };
    }
    let remove = object.get("remove").and_then(php_string).as_deref() == Some("Y");
    let target = object.get("id").map(intval).unwrap_or(0);
    let is_current = current
        .iter()
        .any(|s| s.as_file().is_some_and(|id| id as i64 == target));
    if remove && is_current {
        return UfWrite::Set(Vec::new());
    }
    UfWrite::Unchanged
}

/// Applies a `crm.item.update` value to a file field; the result replaces the whole field.
///
/// `[name, base64]` adds a file; `{"id": N}` keeps file N only if it is
/// already in the field; `{"fileData": ..}` and anything else store nothing.
pub(crate) fn item_write(
    data: &mut PortalData,
    field: &UserField,
    current: &[Scalar],
    value: &Value,
) -> Vec<Scalar> {
    let existing: BTreeSet<u64> = current.iter().filter_map(Scalar::as_file).collect();
    let items: Vec<&Value> = if field.multiple {
        match value {
            Value::Array(items) => items.iter().collect(),
            Value::Object(map) => map.values().collect(),
            _ => Vec::new(),
        }
    } else {
        vec![value]
    };

    let mut result = Vec::new();
    for item in items {
        match item {
            Value::Array(pair) => {
                if let [name, content] = pair.as_slice()
                    && let (Some(name), Some(content)) = (php_string(name), php_string(content))
                    && let Some(id) = store(data, &name, &content)
                {
                    result.push(Scalar::File(id));
                }
            }
            Value::Object(object) if !object.contains_key("fileData") => {
                let id = object.get("id").map(intval).unwrap_or(0);
                if let Ok(id) = u64::try_from(id)
                    && existing.contains(&id)
                {
                    result.push(Scalar::File(id));
                }
            }
            _ => {}
        }
    }
    if !field.multiple {
        result.truncate(1);
    }
    result
}

/// `crm.controller.item.getFile`: the bytes of a file in an item's file field.
pub(crate) fn get_file(ctx: &mut Ctx<'_>, params: &Params) -> Result<Outcome, ApiError> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "File not found");
    let entity_type_id = params.get("entityTypeId").map(intval).unwrap_or(0);
    let item_id = positive_id(params.get("id")).ok_or_else(not_found)?;
    let field = params
        .get("fieldName")
        .and_then(php_string)
        .ok_or_else(not_found)?;
    let file_id = positive_id(params.get("fileId")).ok_or_else(not_found)?;

    if entity_type_id != i64::from(pipelines::DEAL) {
        return Err(not_found());
    }
    let record = ctx.data.deals.get(item_id).ok_or_else(not_found)?;
    let in_field = record
        .uf_values(&field)
        .iter()
        .any(|s| s.as_file() == Some(file_id));
    if !in_field {
        return Err(not_found());
    }

    let file = ctx.data.files.get(&file_id).ok_or_else(not_found)?;
    Ok(Outcome::File(FileAnswer {
        name: file.name.clone(),
        bytes: file.bytes.clone(),
    }))
}
