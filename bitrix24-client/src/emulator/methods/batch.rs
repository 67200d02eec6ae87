//! `batch`: up to 50 commands in one request.
//!
//! Each command is `method?query-string`. Its result lands in `result`,
//! `result_total`, `result_next` (list methods) and `result_time`, its error
//! in `result_error`, all keyed by the command key. A section is a JSON list
//! when its keys are exactly `0..n-1` and `[]` when empty, as PHP encodes
//! arrays. Commands past the 50th fail with `ERROR_BATCH_LENGTH_EXCEEDED`;
//! `halt` stops at the first failure. Later commands may use earlier results
//! through `$result[key][FIELD]` references.

use axum::http::StatusCode;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::{Ctx, Outcome, call, normalize_name};
use crate::emulator::envelope::{ApiError, Success};
use crate::emulator::log::Entry;
use crate::emulator::params::{Params, php_bool, php_string};
use crate::emulator::php_form;
use crate::emulator::state::lock;

/// The most commands one batch runs.
pub(crate) const MAX_COMMANDS: usize = 50;

/// A PHP array being filled: keys in insertion order.
#[derive(Debug, Default)]
struct Section(Vec<(String, Value)>);

impl Section {
    fn insert(&mut self, key: &str, value: Value) {
        self.0.push((key.to_owned(), value));
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn into_value(self) -> Value {
        let is_list = self
            .0
            .iter()
            .enumerate()
            .all(|(index, (key, _))| *key == index.to_string());
        if is_list {
            return Value::Array(self.0.into_iter().map(|(_, v)| v).collect());
        }
        Value::Object(self.0.into_iter().collect::<Map<_, _>>())
    }
}

#[derive(Debug, Default)]
struct Sections {
    result: Section,
    error: Section,
    total: Section,
    next: Section,
    time: Section,
}

/// Reads `cmd` as (key, command) pairs in the order the caller sent them.
fn commands(params: &Params) -> Vec<(String, String)> {
    params
        .entries("cmd", false)
        .into_iter()
        .filter_map(|(key, value)| Some((key, php_string(&value)?)))
        .collect()
}

pub(crate) fn run(ctx: &mut Ctx<'_>, params: &Params) -> Result<Success, ApiError> {
    let halt = params.get("halt").is_some_and(php_bool);
    let mut sections = Sections::default();

    for (index, (key, command)) in commands(params).into_iter().enumerate() {
        let failed = if index >= MAX_COMMANDS {
            let error = ApiError::new(
                StatusCode::BAD_REQUEST,
                "ERROR_BATCH_LENGTH_EXCEEDED",
                "Max batch length exceeded",
            );
            sections.error.insert(&key, error.body());
            true
        } else {
            !run_command(ctx, &key, &command, &mut sections)
        };
        if failed && halt {
            break;
        }
    }

    Ok(Success::plain(json!({
        "result": sections.result.into_value(),
        "result_error": sections.error.into_value(),
        "result_total": sections.total.into_value(),
        "result_next": sections.next.into_value(),
        "result_time": sections.time.into_value(),
    })))
}

/// Runs one command and files its outcome; returns whether it succeeded.
fn run_command(ctx: &mut Ctx<'_>, key: &str, command: &str, sections: &mut Sections) -> bool {
    let (raw_method, query) = command.split_once('?').unwrap_or((command, ""));
    let method = normalize_name(raw_method);
    let (map, order) = php_form::decode_ordered(query);
    let mut decoded = Value::Object(map);
    substitute(&mut decoded, sections);
    let Value::Object(map) = decoded else {
        return false;
    };
    let params = Params::new(map, order);

    let call_result = call(ctx, &method, &params, true);
    let (status, error_code) = match &call_result.outcome {
        Ok(_) => (200, None),
        Err(error) => (error.status.as_u16(), Some(error.code.clone())),
    };
    lock(&ctx.shared.log).record(Entry {
        method: &method,
        params: &params.map,
        status,
        error: error_code.as_deref(),
        at: Timestamp::now(),
        in_batch: true,
        webhook_user: Some(ctx.user()),
    });

    match call_result.outcome {
        Ok(Outcome::Json(success)) => {
            sections.result.insert(key, success.result);
            if let Some(total) = success.total {
                sections.total.insert(key, json!(total));
            }
            if let Some(next) = success.next {
                sections.next.insert(key, json!(next));
            }
            sections
                .time
                .insert(key, call_result.timing.render(ctx.offset(), None));
            true
        }
        Ok(Outcome::File(_)) => false,
        Err(error) => {
            sections.error.insert(key, error.body());
            false
        }
    }
}

/// Replaces `$result[key][a][b]` (and `$result_next`, `$result_total`,
/// `$result_error`) references in parameter values with earlier results.
/// A reference to something missing becomes an empty string.
fn substitute(value: &mut Value, sections: &Sections) {
    match value {
        Value::String(text) if text.contains('$') => *text = expand(text, sections),
        Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, sections)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, sections)),
        _ => {}
    }
}

fn expand(text: &str, sections: &Sections) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match reference(tail, sections) {
            Some((replacement, used)) => {
                out.push_str(&replacement);
                rest = &tail[used..];
            }
            None => {
                out.push('$');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses one reference at the start of `text`; returns its value and its length.
fn reference(text: &str, sections: &Sections) -> Option<(String, usize)> {
    let names = [
        ("$result_error", &sections.error),
        ("$result_total", &sections.total),
        ("$result_next", &sections.next),
        ("$result", &sections.result),
    ];
    let (prefix, section) = names.into_iter().find(|(p, _)| text.starts_with(p))?;

    let mut used = prefix.len();
    let mut path = Vec::new();
    while let Some(inner) = text[used..].strip_prefix('[') {
        let close = inner.find(']')?;
        path.push(&inner[..close]);
        used += close + 2;
    }
    let (first, rest) = path.split_first()?;

    let mut current = section.get(first);
    for segment in rest {
        current = current.and_then(|value| match value {
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            Value::Object(map) => map.get(*segment),
            _ => None,
        });
    }
    let replacement = current.and_then(php_string).unwrap_or_default();
    Some((replacement, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_with_gap_is_an_object() {
        let mut section = Section::default();
        section.insert("0", json!(1));
        section.insert("2", json!(3));
        assert_eq!(section.into_value(), json!({"0": 1, "2": 3}));
    }

    #[test]
    fn empty_section_is_an_empty_list() {
        assert_eq!(Section::default().into_value(), json!([]));
    }

    #[test]
    fn references_expand_from_earlier_results() {
        let mut sections = Sections::default();
        sections
            .result
            .insert("deal", json!({"ID": "7", "CONTACT_ID": "3"}));
        sections.result.insert("list", json!([{"ID": "11"}]));
        assert_eq!(expand("$result[deal][CONTACT_ID]", &sections), "3");
        assert_eq!(expand("x$result[list][0][ID]y", &sections), "x11y");
        assert_eq!(expand("$result[list][49][ID]", &sections), "");
        assert_eq!(expand("price $5", &sections), "price $5");
    }
}
