//! Walking list methods page by page, without silent truncation.
//!
//! List methods return at most 50 rows per call. Three ways to walk them:
//!
//! - [`ListQuery::pages`] follows `next` (`start` is an offset). Every row id
//!   must be new, `next` must move forward, and the rows received must reach
//!   `total` when the pages end. Otherwise the stream fails with
//!   [`Error::IncompleteListing`] or [`Error::InconsistentPaging`].
//! - [`ListQuery::fast_pages`] sends `start=-1` (no COUNT query), orders by id
//!   and asks for rows after the largest id received so far, until a page has
//!   fewer than 50 rows. Ids must grow strictly across pages.
//! - [`ListQuery::batched`] reads the first page for `total`, then up to 49
//!   more pages in one `batch`, and checks that every page is there and full.
//!   [`ListQuery::batched_continuation`] skips the lone first page when the
//!   listing is known to go on, so a long listing costs one request per 2,500 rows.

use std::collections::HashSet;

use futures::Stream;
use futures::stream::{self, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::de;
use crate::envelope::decode_value;
use crate::error::{Error, Result};

/// Rows per page of every Bitrix24 list method.
pub const PAGE_SIZE: u64 = 50;

/// The location of a list method's rows in `result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// `result` is the list of rows (legacy methods such as `crm.deal.list`).
    Result,
    /// `result.<key>` is the list (`items` for `crm.item.list`, `categories` for `crm.category.list`).
    Field(&'static str),
}

/// One page of rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub rows: Vec<T>,
    /// The row count the portal announced, if it sent one.
    pub total: Option<u64>,
    /// The offset of the next page, if the portal announced one.
    pub next: Option<u64>,
}

/// Several pages read together by [`ListQuery::batched`].
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// The rows, in the order of the pages.
    pub rows: Vec<Value>,
    /// The row count the first page announced.
    pub total: u64,
    /// Whether the chunk contains every row of the listing.
    pub complete: bool,
}

/// A list call: method, parameters, and where its rows and ids are.
#[derive(Clone, Debug)]
pub struct ListQuery {
    method: String,
    params: Map<String, Value>,
    rows: Rows,
    id_field: String,
}

impl ListQuery {
    /// Describes a list call. `params` must be a JSON object (or `null`);
    /// `id_field` is the row id key (`ID` for legacy methods, `id` for `crm.item.list`).
    pub fn new(method: &str, params: Value, rows: Rows, id_field: &str) -> Result<Self> {
        let params = match params {
            Value::Null => Map::new(),
            Value::Object(map) => map,
            _ => {
                return Err(Error::invalid_request(
                    method,
                    "list parameters must be a JSON object",
                ));
            }
        };
        Ok(Self {
            method: method.to_owned(),
            params,
            rows,
            id_field: id_field.to_owned(),
        })
    }

    /// Returns the REST method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Returns the parameters sent with every page.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// Reads the page at offset `start` (or the first page for `None`).
    pub async fn page(&self, client: &Client, start: Option<u64>) -> Result<Page<Value>> {
        let mut params = self.params.clone();
        if let Some(start) = start {
            params.insert("start".to_owned(), json!(start));
        }
        self.fetch(client, params).await
    }

    async fn fetch(&self, client: &Client, params: Map<String, Value>) -> Result<Page<Value>> {
        let envelope = client
            .call_envelope::<Value>(&self.method, &Value::Object(params))
            .await?;
        let rows = self.extract_rows(envelope.result)?;
        Ok(Page {
            rows,
            total: envelope.total,
            next: envelope.next,
        })
    }

    /// Takes the row list out of a `result`, accepting `[]`, `{}` and `null` for no rows.
    pub(crate) fn extract_rows(&self, result: Value) -> Result<Vec<Value>> {
        let (list, path) = match self.rows {
            Rows::Result => (result, "result".to_owned()),
            Rows::Field(key) => match result {
                Value::Object(mut map) => (
                    map.remove(key).unwrap_or(Value::Null),
                    format!("result.{key}"),
                ),
                Value::Array(items) if items.is_empty() => (Value::Null, "result".to_owned()),
                other => (other, "result".to_owned()),
            },
        };
        match list {
            Value::Null => Ok(Vec::new()),
            Value::Array(items) => Ok(items),
            Value::Object(map) if map.is_empty() => Ok(Vec::new()),
            // PHP sends a list with gaps in its keys as an object.
            Value::Object(map) => Ok(map.into_iter().map(|(_, row)| row).collect()),
            other => Err(Error::Decode {
                method: self.method.clone(),
                path,
                source: serde::de::Error::custom(format!("expected a list of rows, got {other}")),
            }),
        }
    }

    fn row_id(&self, row: &Value) -> Option<u64> {
        row.get(&self.id_field).and_then(de::u64_from_value)
    }

    /// Streams pages by following `next`, checking that nothing is lost or repeated.
    pub fn pages(&self, client: &Client) -> impl Stream<Item = Result<Page<Value>>> + Send + use<> {
        let state = OffsetPaging {
            client: client.clone(),
            query: self.clone(),
            start: 0,
            done: false,
            received: 0,
            seen: HashSet::new(),
        };
        stream::try_unfold(state, OffsetPaging::step)
    }

    /// Streams pages with `start=-1` and a `>ID` cursor taken from the largest id received.
    ///
    /// The query's own `order` is replaced by ascending id, and `start` is ignored.
    pub fn fast_pages(
        &self,
        client: &Client,
    ) -> impl Stream<Item = Result<Page<Value>>> + Send + use<> {
        let state = FastPaging {
            client: client.clone(),
            query: self.clone(),
            cursor: None,
            done: false,
        };
        stream::try_unfold(state, FastPaging::step)
    }

    /// Reads up to `max_pages` pages: the first alone (for `total`), the rest in one batch.
    ///
    /// Fails with [`Error::IncompleteListing`] when a page is missing or short,
    /// and with [`Error::InconsistentPaging`] when a row repeats.
    pub async fn batched(&self, client: &Client, max_pages: usize) -> Result<Chunk> {
        let first = self.page(client, Some(0)).await?;
        let total = match (first.total, first.next) {
            (Some(total), _) => total,
            (None, None) => first.rows.len() as u64,
            (None, Some(_)) => {
                return Err(
                    self.inconsistent("the first page has `next` but no `total`".to_owned())
                );
            }
        };

        let pages_needed = total.div_ceil(PAGE_SIZE).max(1);
        let pages = pages_needed.min(max_pages.clamp(1, crate::batch::MAX_COMMANDS + 1) as u64);
        let mut rows = first.rows;
        if pages > 1 {
            rows.extend(self.batch_pages(client, 1..pages).await?);
        }

        let expected = total.min(pages * PAGE_SIZE);
        if (rows.len() as u64) < expected {
            return Err(Error::IncompleteListing {
                method: self.method.clone(),
                expected,
                received: rows.len() as u64,
            });
        }
        self.check_unique(&rows)?;

        Ok(Chunk {
            rows,
            total,
            complete: pages == pages_needed,
        })
    }

    /// Reads up to `max_pages` pages (at most 50) from the first in one batch,
    /// with no lone first page: one request per 2,500 rows.
    ///
    /// Meant for a listing that is known to go on (the previous chunk ended
    /// full), where [`ListQuery::batched`]'s extra request for `total` would
    /// double the requests of a long listing. The total comes from the first
    /// command's `result_total`; without it, a batch that ends short is taken
    /// as the end. When the listing ends early, the remaining commands return
    /// no rows. Fails like [`ListQuery::batched`].
    pub async fn batched_continuation(&self, client: &Client, max_pages: usize) -> Result<Chunk> {
        let pages = max_pages.clamp(1, crate::batch::MAX_COMMANDS) as u64;
        let (rows, first_total) = self.batch_pages_with_total(client, 0..pages).await?;
        let received = rows.len() as u64;
        let total = match first_total {
            Some(total) => total,
            None if received < pages * PAGE_SIZE => received,
            None => {
                return Err(self
                    .inconsistent("a full batch of pages came without `result_total`".to_owned()));
            }
        };

        let expected = total.min(pages * PAGE_SIZE);
        if received < expected {
            return Err(Error::IncompleteListing {
                method: self.method.clone(),
                expected,
                received,
            });
        }
        self.check_unique(&rows)?;

        Ok(Chunk {
            rows,
            total,
            complete: total <= pages * PAGE_SIZE,
        })
    }

    async fn batch_pages(
        &self,
        client: &Client,
        pages: std::ops::Range<u64>,
    ) -> Result<Vec<Value>> {
        Ok(self.batch_pages_with_total(client, pages).await?.0)
    }

    /// Reads `pages` in one batch; returns their rows and the `result_total`
    /// of the first page's command, if the portal sent one.
    async fn batch_pages_with_total(
        &self,
        client: &Client,
        pages: std::ops::Range<u64>,
    ) -> Result<(Vec<Value>, Option<u64>)> {
        let mut batch = client.batch();
        for page in pages.clone() {
            let mut params = self.params.clone();
            params.insert("start".to_owned(), json!(page * PAGE_SIZE));
            batch.add(format!("p{page}"), &self.method, &Value::Object(params))?;
        }
        let mut results = batch.send().await?;

        let first_total = results.total(&format!("p{}", pages.start));
        let mut rows = Vec::new();
        for page in pages {
            let result = results.take(&format!("p{page}"))?;
            rows.extend(self.extract_rows(result)?);
        }
        Ok((rows, first_total))
    }

    fn check_unique(&self, rows: &[Value]) -> Result<()> {
        let mut seen = HashSet::new();
        for id in rows.iter().filter_map(|row| self.row_id(row)) {
            if !seen.insert(id) {
                return Err(self.inconsistent(format!("row {id} appears twice")));
            }
        }
        Ok(())
    }

    fn inconsistent(&self, detail: String) -> Error {
        Error::InconsistentPaging {
            method: self.method.clone(),
            detail,
        }
    }

    fn fast_params(&self, cursor: Option<u64>) -> Map<String, Value> {
        let mut params = self.params.clone();
        params.insert("start".to_owned(), json!(-1));
        let mut order = Map::new();
        order.insert(self.id_field.clone(), json!("ASC"));
        params.insert("order".to_owned(), Value::Object(order));

        if let Some(cursor) = cursor {
            let filter = params
                .entry("filter".to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !filter.is_object() {
                *filter = Value::Object(Map::new());
            }
            if let Value::Object(filter) = filter {
                filter.insert(format!(">{}", self.id_field), json!(cursor));
            }
        }
        params
    }
}

/// Decodes the rows of a page into `T`, naming the failing row.
pub fn decode_rows<T: DeserializeOwned>(method: &str, rows: Vec<Value>) -> Result<Vec<T>> {
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| decode_value(method, &format!("result[{index}]"), row))
        .collect()
}

/// Turns a page stream into a stream of decoded rows.
pub fn typed_rows<T, S>(method: &str, pages: S) -> impl Stream<Item = Result<T>> + Send + use<T, S>
where
    T: DeserializeOwned + Send + 'static,
    S: Stream<Item = Result<Page<Value>>> + Send + 'static,
{
    let method = method.to_owned();
    pages.flat_map(move |page| {
        let rows: Vec<Result<T>> = match page {
            Ok(page) => match decode_rows(&method, page.rows) {
                Ok(rows) => rows.into_iter().map(Ok).collect(),
                Err(error) => vec![Err(error)],
            },
            Err(error) => vec![Err(error)],
        };
        stream::iter(rows)
    })
}

struct OffsetPaging {
    client: Client,
    query: ListQuery,
    start: u64,
    done: bool,
    received: u64,
    seen: HashSet<u64>,
}

impl OffsetPaging {
    async fn step(mut self) -> Result<Option<(Page<Value>, Self)>> {
        if self.done {
            return Ok(None);
        }
        let page = self.query.page(&self.client, Some(self.start)).await?;
        self.received += page.rows.len() as u64;
        self.check_new_rows(&page)?;

        match page.next {
            Some(next) if next <= self.start => {
                return Err(self.query.inconsistent(format!(
                    "`next` = {next} does not move past `start` = {}",
                    self.start
                )));
            }
            Some(_) if page.rows.is_empty() => return Err(self.incomplete(page.total)),
            Some(next) => self.start = next,
            None => {
                self.done = true;
                if page.total.is_some_and(|total| self.received < total) {
                    return Err(self.incomplete(page.total));
                }
            }
        }
        Ok(Some((page, self)))
    }

    fn check_new_rows(&mut self, page: &Page<Value>) -> Result<()> {
        for id in page.rows.iter().filter_map(|row| self.query.row_id(row)) {
            if !self.seen.insert(id) {
                return Err(self.query.inconsistent(format!(
                    "row {id} repeats on the page at start = {}",
                    self.start
                )));
            }
        }
        Ok(())
    }

    fn incomplete(&self, total: Option<u64>) -> Error {
        Error::IncompleteListing {
            method: self.query.method.clone(),
            expected: total.unwrap_or(self.received + 1),
            received: self.received,
        }
    }
}

struct FastPaging {
    client: Client,
    query: ListQuery,
    cursor: Option<u64>,
    done: bool,
}

impl FastPaging {
    async fn step(mut self) -> Result<Option<(Page<Value>, Self)>> {
        if self.done {
            return Ok(None);
        }
        let params = self.query.fast_params(self.cursor);
        let page = self.query.fetch(&self.client, params).await?;

        let last = self.check_ids(&page.rows)?;
        self.done = (page.rows.len() as u64) < PAGE_SIZE;
        if page.rows.is_empty() {
            return Ok(None);
        }
        self.cursor = last.or(self.cursor);
        Ok(Some((page, self)))
    }

    /// Checks that every id is present, after the cursor and strictly
    /// increasing; returns the largest.
    fn check_ids(&self, rows: &[Value]) -> Result<Option<u64>> {
        let mut previous = self.cursor;
        for row in rows {
            let Some(id) = self.query.row_id(row) else {
                return Err(self.query.inconsistent(format!(
                    "a row has no `{}`; select it for cursor paging",
                    self.query.id_field
                )));
            };
            if previous.is_some_and(|previous| id <= previous) {
                return Err(self.query.inconsistent(format!(
                    "row {id} does not come after {}: the page repeats rows or ignores the order",
                    previous.unwrap_or_default()
                )));
            }
            previous = Some(id);
        }
        Ok(previous)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(rows: Rows) -> ListQuery {
        ListQuery::new(
            "crm.item.list",
            json!({"entityTypeId": 2, "filter": {"stageId": "NEW"}}),
            rows,
            "id",
        )
        .unwrap()
    }

    #[test]
    fn fast_params_add_cursor_and_order() {
        let params = query(Rows::Field("items")).fast_params(Some(662));

        assert_eq!(
            Value::Object(params),
            json!({
                "entityTypeId": 2,
                "filter": {"stageId": "NEW", ">id": 662},
                "order": {"id": "ASC"},
                "start": -1
            })
        );
    }

    #[test]
    fn rows_extracted_from_every_shape() {
        let items = query(Rows::Field("items"));
        let legacy = query(Rows::Result);

        assert_eq!(
            items
                .extract_rows(json!({"items": [{"id": 1}]}))
                .unwrap()
                .len(),
            1
        );
        assert_eq!(items.extract_rows(json!({"items": []})).unwrap().len(), 0);
        assert_eq!(items.extract_rows(json!([])).unwrap().len(), 0);
        assert_eq!(
            legacy
                .extract_rows(json!([{"ID": "1"}, {"ID": "2"}]))
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            legacy
                .extract_rows(json!({"0": {"ID": "1"}, "2": {"ID": "3"}}))
                .unwrap()
                .len(),
            2
        );
        assert!(legacy.extract_rows(json!("oops")).is_err());
    }
}
