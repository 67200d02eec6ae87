//! List queries over a [`Table`]: candidate selection through indexes,
//! filtering, ordering and the portal's paging rules.
//!
//! Paging: pages hold 50 rows; `start` is rounded down to a multiple of 50;
//! the answer carries `total` and, when more rows follow, `next`. A negative
//! `start` is the fast mode: no count, `total` 0 and no `next`.

pub(crate) mod filter;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use jiff::Timestamp;
use serde_json::Value;

use filter::{Cmp, Condition, Op};

use super::data::table::{Record, Table};
use super::params::{intval, php_string};

/// Rows per page of every list method.
pub(crate) const PAGE_SIZE: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    Offset(usize),
    Fast,
}

impl Start {
    /// Reads `start` like the portal: `intval`, negative means fast mode, rounded down to 50.
    pub(crate) fn parse(value: Option<&Value>) -> Self {
        let start = value.map(intval).unwrap_or(0);
        if start < 0 {
            Start::Fast
        } else {
            Start::Offset((start as usize / PAGE_SIZE) * PAGE_SIZE)
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Query {
    pub(crate) conditions: Vec<Condition>,
    /// Field names with `true` for ascending.
    pub(crate) order: Vec<(String, bool)>,
    pub(crate) start: Start,
}

/// One page of matching ids with the envelope figures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) ids: Vec<u64>,
    pub(crate) total: u64,
    pub(crate) next: Option<u64>,
}

/// Parses `order` entries (`"FIELD": "ASC"|"DESC"`, in the caller's order); unknown fields are dropped.
pub(crate) fn parse_order(
    entries: Vec<(String, Value)>,
    resolve: impl Fn(&str) -> Option<String>,
) -> Vec<(String, bool)> {
    entries
        .into_iter()
        .filter_map(|(key, direction)| {
            let name = resolve(&key)?;
            let descending = php_string(&direction).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
            Some((name, !descending))
        })
        .collect()
}

/// Returns the comparable values of a field of a record: a standard field, or every slot of a user field.
pub(crate) fn slots(record: &Record, field: &str) -> Vec<Cmp> {
    if let Some(value) = record.std.get(field) {
        return filter::stored(value);
    }
    record
        .uf
        .get(field)
        .map(|values| values.iter().flat_map(filter::stored).collect())
        .unwrap_or_default()
}

fn record_matches(record: &Record, conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .all(|c| filter::matches(c, &slots(record, &c.field)))
}

/// Runs a query against a table.
pub(crate) fn run(table: &Table, query: &Query) -> Page {
    let by_id = match query.order.as_slice() {
        [] => Some(true),
        [(field, ascending)] if field == "ID" => Some(*ascending),
        _ => None,
    };

    match by_id {
        Some(ascending) => run_in_id_order(table, query, ascending),
        None => run_sorted(table, query),
    }
}

fn run_in_id_order(table: &Table, query: &Query, ascending: bool) -> Page {
    let candidates = candidates(table, &query.conditions, ascending);
    let matching = candidates.filter(|id| {
        table
            .get(*id)
            .is_some_and(|r| record_matches(r, &query.conditions))
    });

    match query.start {
        Start::Fast => Page {
            ids: matching.take(PAGE_SIZE).collect(),
            total: 0,
            next: None,
        },
        Start::Offset(start) => {
            let mut ids = Vec::new();
            let mut total = 0usize;
            for id in matching {
                if total >= start && total < start + PAGE_SIZE {
                    ids.push(id);
                }
                total += 1;
            }
            page(ids, total, start)
        }
    }
}

fn run_sorted(table: &Table, query: &Query) -> Page {
    let mut rows: Vec<&Record> = candidates(table, &query.conditions, true)
        .filter_map(|id| table.get(id))
        .filter(|r| record_matches(r, &query.conditions))
        .collect();
    rows.sort_by(|a, b| compare_records(a, b, &query.order));

    match query.start {
        Start::Fast => Page {
            ids: rows.iter().take(PAGE_SIZE).map(|r| r.id).collect(),
            total: 0,
            next: None,
        },
        Start::Offset(start) => {
            let total = rows.len();
            let ids = rows
                .iter()
                .skip(start)
                .take(PAGE_SIZE)
                .map(|r| r.id)
                .collect();
            page(ids, total, start)
        }
    }
}

/// Filters, orders and pages a small in-memory list (directories, field definitions).
pub(crate) fn run_small(mut records: Vec<Record>, query: &Query) -> (Vec<Record>, Page) {
    records.retain(|r| record_matches(r, &query.conditions));
    records.sort_by(|a, b| compare_records(a, b, &query.order));
    let total = records.len();
    let (start, end) = match query.start {
        Start::Fast => (0, PAGE_SIZE.min(total)),
        Start::Offset(start) => (start.min(total), (start + PAGE_SIZE).min(total)),
    };
    let rows: Vec<Record> = records.drain(start..end).collect();
    let ids = rows.iter().map(|r| r.id).collect();
    let page = match query.start {
        Start::Fast => Page {
            ids,
            total: 0,
            next: None,
        },
        Start::Offset(start) => page(ids, total, start),
    };
    (rows, page)
}

fn page(ids: Vec<u64>, total: usize, start: usize) -> Page {
    let next = (start + PAGE_SIZE < total).then_some((start + PAGE_SIZE) as u64);
    Page {
        ids,
        total: total as u64,
        next,
    }
}

/// Orders two records by the `order` fields; empty values sort first, ties by id.
pub(crate) fn compare_records(a: &Record, b: &Record, order: &[(String, bool)]) -> Ordering {
    for (field, ascending) in order {
        let left = slots(a, field);
        let right = slots(b, field);
        let ordering = match (left.first(), right.first()) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => filter::order(x, y).unwrap_or(Ordering::Equal),
        };
        let ordering = if *ascending {
            ordering
        } else {
            ordering.reverse()
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    a.id.cmp(&b.id)
}

/// Picks the cheapest superset of matching ids, in id order (reversed for descending).
///
/// Order of preference: an exact id or id list, an indexed link field
/// (the deal of an invoice), an id range, the modification-time index, and
/// last a full scan. Every condition is still checked on each candidate.
fn candidates<'a>(
    table: &'a Table,
    conditions: &[Condition],
    ascending: bool,
) -> Box<dyn Iterator<Item = u64> + 'a> {
    if let Some(ids) = exact_ids(conditions).or_else(|| linked_ids(table, conditions)) {
        return ordered(ids.into_iter().collect(), ascending);
    }
    if let Some(range) = id_range(conditions) {
        if range.start() > range.end() {
            return Box::new(std::iter::empty());
        }
        let range = table.rows().range(range).map(|(id, _)| *id);
        return if ascending {
            Box::new(range)
        } else {
            Box::new(range.rev())
        };
    }
    if let Some(from) = modified_since(table, conditions) {
        let ids: BTreeSet<u64> = table.ids_modified_in((from, 0)..).collect();
        return ordered(ids.into_iter().collect(), ascending);
    }

    let all = table.rows().keys().copied();
    if ascending {
        Box::new(all)
    } else {
        Box::new(all.rev())
    }
}

fn ordered<'a>(mut ids: Vec<u64>, ascending: bool) -> Box<dyn Iterator<Item = u64> + 'a> {
    ids.sort_unstable();
    if !ascending {
        ids.reverse();
    }
    Box::new(ids.into_iter())
}

fn int_values(condition: &Condition) -> Option<Vec<u64>> {
    condition
        .values
        .iter()
        .map(|v| match v {
            Cmp::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        })
        .collect()
}

fn exact_ids(conditions: &[Condition]) -> Option<BTreeSet<u64>> {
    conditions
        .iter()
        .filter(|c| c.field == "ID" && matches!(c.op, Op::Eq | Op::In))
        .find_map(int_values)
        .map(|ids| ids.into_iter().collect())
}

fn linked_ids(table: &Table, conditions: &[Condition]) -> Option<BTreeSet<u64>> {
    conditions
        .iter()
        .filter(|c| matches!(c.op, Op::Eq | Op::In))
        .find_map(|c| {
            let index = table.link_index(&c.field)?;
            let keys = int_values(c)?;
            Some(
                keys.iter()
                    .filter_map(|key| index.get(&(*key as i64)))
                    .flatten()
                    .copied()
                    .collect(),
            )
        })
}

fn id_range(conditions: &[Condition]) -> Option<RangeInclusive<u64>> {
    let mut low = 0u64;
    let mut high = u64::MAX;
    let mut bounded = false;
    for condition in conditions.iter().filter(|c| c.field == "ID") {
        let Some(Cmp::Int(value)) = condition.values.first() else {
            continue;
        };
        let value = (*value).max(0) as u64;
        match condition.op {
            Op::Gt => low = low.max(value.saturating_add(1)),
            Op::Ge => low = low.max(value),
            Op::Lt => high = high.min(value.saturating_sub(1)),
            Op::Le => high = high.min(value),
            _ => continue,
        }
        bounded = true;
    }
    bounded.then_some(low..=high)
}

fn modified_since(table: &Table, conditions: &[Condition]) -> Option<Timestamp> {
    conditions
        .iter()
        .filter(|c| c.field == table.modified_field() && matches!(c.op, Op::Gt | Op::Ge))
        .find_map(|c| match c.values.first() {
            Some(Cmp::Time(ts)) => Some(*ts),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn start_is_rounded_down_to_page() {
        assert_eq!(Start::parse(Some(&json!(73))), Start::Offset(50));
        assert_eq!(Start::parse(Some(&json!("49"))), Start::Offset(0));
        assert_eq!(Start::parse(Some(&json!(-1))), Start::Fast);
        assert_eq!(Start::parse(None), Start::Offset(0));
    }
}
