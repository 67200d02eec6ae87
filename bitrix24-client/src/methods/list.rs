//! [`ListRequest`]: the builder shared by every list method.

use std::marker::PhantomData;

use futures::{Stream, TryStreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::paging::{self, ListQuery, Page, Rows};

/// A sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Ascending (`ASC`).
    Asc,
    /// Descending (`DESC`).
    Desc,
}

impl Order {
    fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "ASC",
            Order::Desc => "DESC",
        }
    }
}

/// A list call under construction: filter, select, order, then one page or all of them.
///
/// Filter keys carry Bitrix24's operators as prefixes (`>ID`, `>=DATE_MODIFY`,
/// `@ID` for "one of", `%TITLE` for "contains"). Beware that legacy methods
/// silently drop filter keys they do not know, which returns *every* row.
#[derive(Debug)]
#[must_use = "a list request does nothing until it is sent or streamed"]
pub struct ListRequest<'a, T> {
    client: &'a Client,
    method: &'static str,
    rows: Rows,
    id_field: &'static str,
    params: Map<String, Value>,
    filter: Map<String, Value>,
    order: Map<String, Value>,
    error: Option<Error>,
    row_type: PhantomData<fn() -> T>,
}

impl<'a, T> ListRequest<'a, T>
where
    T: DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(
        client: &'a Client,
        method: &'static str,
        rows: Rows,
        id_field: &'static str,
    ) -> Self {
        Self {
            client,
            method,
            rows,
            id_field,
            params: Map::new(),
            filter: Map::new(),
            order: Map::new(),
            error: None,
            row_type: PhantomData,
        }
    }

    /// Adds a filter condition. Default: no filter.
    pub fn filter(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.filter.insert(key, value);
            }
            Err(error) => self.fail(format!("cannot serialize filter `{key}`: {error}")),
        }
        self
    }

    /// Sets the fields to return, adding the row id when missing (`crm.item.list`
    /// returns only the selected keys, and a row without its id cannot be
    /// paged or matched). Default: the method's own default, which for legacy
    /// methods may leave out user fields, so name them.
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let fields: Vec<Value> = fields
            .into_iter()
            .map(|field| Value::String(field.into()))
            .collect();
        self.params
            .insert("select".to_owned(), Value::Array(fields));
        self.ensure_id_selected();
        self
    }

    /// Adds a sort key. Default: the portal's order (by id for most methods).
    pub fn order(mut self, field: impl Into<String>, direction: Order) -> Self {
        self.order.insert(field.into(), json!(direction.as_str()));
        self
    }

    /// Sets any other parameter of the method (not `filter` or `order`,
    /// which have their own setters). Default: none.
    pub fn param(mut self, key: impl Into<String>, value: impl Serialize) -> Self {
        let key = key.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.params.insert(key, value);
            }
            Err(error) => self.fail(format!("cannot serialize parameter `{key}`: {error}")),
        }
        self
    }

    /// Builds the underlying [`ListQuery`], for batched or custom paging.
    pub fn query(&self) -> Result<ListQuery> {
        if let Some(error) = &self.error {
            return Err(Error::invalid_request(self.method, error.to_string()));
        }
        let mut params = self.params.clone();
        if !self.filter.is_empty() {
            params.insert("filter".to_owned(), Value::Object(self.filter.clone()));
        }
        if !self.order.is_empty() {
            params.insert("order".to_owned(), Value::Object(self.order.clone()));
        }
        ListQuery::new(self.method, Value::Object(params), self.rows, self.id_field)
    }

    /// Reads the page at offset `start` (0 for the first page).
    pub async fn page(self, start: u64) -> Result<Page<T>> {
        let query = self.query()?;
        let page = query.page(self.client, Some(start)).await?;
        Ok(Page {
            rows: paging::decode_rows(self.method, page.rows)?,
            total: page.total,
            next: page.next,
        })
    }

    /// Streams every row, page by page through `next`, failing rather than
    /// ending early when pages go missing or repeat.
    pub fn stream(self) -> impl Stream<Item = Result<T>> + Send + use<T> {
        let method = self.method;
        let pages = self.query().map(|query| query.pages(self.client));
        flatten(method, pages)
    }

    /// Streams every row with the fast cursor (`start=-1`, ascending id,
    /// `>ID` of the largest id received).
    ///
    /// The portal does no COUNT query in this mode, which makes it the
    /// cheapest way through a large table; the order is always by id.
    pub fn stream_fast(self) -> impl Stream<Item = Result<T>> + Send + use<T> {
        let method = self.method;
        let pages = self.query().map(|query| query.fast_pages(self.client));
        flatten(method, pages)
    }

    /// Collects every row (through [`ListRequest::stream`]).
    pub async fn all(self) -> Result<Vec<T>> {
        self.stream().try_collect().await
    }

    fn ensure_id_selected(&mut self) {
        let id_field = self.id_field;
        if let Some(Value::Array(fields)) = self.params.get_mut("select") {
            let has_id = fields.iter().any(
                |field| matches!(field.as_str(), Some(name) if name == id_field || name == "*"),
            );
            if !has_id {
                fields.push(json!(id_field));
            }
        }
    }

    fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(Error::invalid_request(self.method, message));
        }
    }
}

fn flatten<T, S>(
    method: &'static str,
    pages: Result<S>,
) -> impl Stream<Item = Result<T>> + Send + use<T, S>
where
    T: DeserializeOwned + Send + 'static,
    S: Stream<Item = Result<Page<Value>>> + Send + 'static,
{
    use futures::future::Either;

    match pages {
        Ok(pages) => Either::Left(paging::typed_rows(method, pages)),
        Err(error) => Either::Right(futures::stream::once(async move { Err(error) })),
    }
}
