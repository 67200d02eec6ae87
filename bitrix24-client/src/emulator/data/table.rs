//! Records of one entity type, with the indexes list queries use.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;

use super::values::Scalar;

/// One stored record: standard fields by legacy name, user fields by code.
#[derive(Clone, Debug, Default)]
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) std: BTreeMap<&'static str, Scalar>,
    pub(crate) uf: BTreeMap<String, Vec<Scalar>>,
}

impl Record {
    pub(crate) fn get(&self, name: &str) -> Option<&Scalar> {
        self.std.get(name)
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Scalar::as_int)
    }

    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Scalar::as_str)
    }

    pub(crate) fn set(&mut self, name: &'static str, value: Scalar) {
        self.std.insert(name, value);
    }

    pub(crate) fn set_opt(&mut self, name: &'static str, value: Option<Scalar>) {
        match value {
            Some(value) => self.set(name, value),
            None => {
                self.std.remove(name);
            }
        }
    }

    /// Returns the slots of a user field (empty when unset).
    pub(crate) fn uf_values(&self, code: &str) -> &[Scalar] {
        self.uf.get(code).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The records of one entity type, ordered by id.
///
/// Besides the primary order the table keeps two kinds of secondary index:
/// the modification time (for `>DATE_MODIFY` sweeps) and integer link fields
/// such as the deal of an invoice (for "invoices of this deal" queries). Every
/// change goes through [`Table::update`] so the indexes stay right.
#[derive(Debug)]
pub(crate) struct Table {
    rows: BTreeMap<u64, Record>,
    next_id: u64,
    modified_field: &'static str,
    by_modified: BTreeSet<(Timestamp, u64)>,
    links: Vec<(&'static str, HashMap<i64, BTreeSet<u64>>)>,
}

impl Table {
    pub(crate) fn new(first_id: u64, modified_field: &'static str, links: &[&'static str]) -> Self {
        Self {
            rows: BTreeMap::new(),
            next_id: first_id,
            modified_field,
            by_modified: BTreeSet::new(),
            links: links.iter().map(|name| (*name, HashMap::new())).collect(),
        }
    }

    pub(crate) fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Record> {
        self.rows.get(&id)
    }

    pub(crate) fn rows(&self) -> &BTreeMap<u64, Record> {
        &self.rows
    }

    pub(crate) fn modified_field(&self) -> &'static str {
        self.modified_field
    }

    pub(crate) fn insert(&mut self, record: Record) {
        self.index(&record);
        self.next_id = self.next_id.max(record.id + 1);
        self.rows.insert(record.id, record);
    }

    /// Applies `change` to a record and re-indexes it; returns `None` when the id is unknown.
    pub(crate) fn update<T>(
        &mut self,
        id: u64,
        change: impl FnOnce(&mut Record) -> T,
    ) -> Option<T> {
        let mut record = self.rows.remove(&id)?;
        self.unindex(&record);
        let out = change(&mut record);
        self.index(&record);
        self.rows.insert(id, record);
        Some(out)
    }

    pub(crate) fn remove(&mut self, id: u64) -> Option<Record> {
        let record = self.rows.remove(&id)?;
        self.unindex(&record);
        Some(record)
    }

    /// Returns ids whose modification time is in `range`, in time order.
    pub(crate) fn ids_modified_in(
        &self,
        range: impl std::ops::RangeBounds<(Timestamp, u64)>,
    ) -> impl Iterator<Item = u64> + '_ {
        self.by_modified.range(range).map(|(_, id)| *id)
    }

    /// Returns the link index of `field`, when the table keeps one.
    pub(crate) fn link_index(&self, field: &str) -> Option<&HashMap<i64, BTreeSet<u64>>> {
        self.links
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, index)| index)
    }

    fn index(&mut self, record: &Record) {
        if let Some(Scalar::DateTime(ts)) = record.get(self.modified_field) {
            self.by_modified.insert((*ts, record.id));
        }
        for (name, index) in &mut self.links {
            if let Some(value) = record.int(name) {
                index.entry(value).or_default().insert(record.id);
            }
        }
    }

    fn unindex(&mut self, record: &Record) {
        if let Some(Scalar::DateTime(ts)) = record.get(self.modified_field) {
            self.by_modified.remove(&(*ts, record.id));
        }
        for (name, index) in &mut self.links {
            if let Some(value) = record.int(name)
                && let Some(ids) = index.get_mut(&value)
            {
                ids.remove(&record.id);
                if ids.is_empty() {
                    index.remove(&value);
                }
            }
        }
    }
}
