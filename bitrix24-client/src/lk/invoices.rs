//! Reading smart and legacy invoices for the core.

use std::collections::{BTreeMap, BTreeSet};

use bitrix_lk_core::{
    ContactId, DealId, Invoice, InvoiceId, InvoiceKind, InvoiceLinkage, InvoicePage,
    Result as CoreResult,
};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::batch::BatchResults;
use crate::entity::EntityType;
use crate::envelope::decode_value;
use crate::error::Result;
use crate::lk::LkCrm;
use crate::lk::errors::to_core;
use crate::lk::mapping::{self, MOSCOW};
use crate::lk::metadata::Sources;
use crate::methods::Order;
use crate::methods::invoices::LegacyInvoice;
use crate::methods::items::Item;
use crate::paging;
use crate::values::format_offset_datetime;

const SMART_SELECT: [&str; 11] = [
    "id",
    "title",
    "accountNumber",
    "stageId",
    "categoryId",
    "opportunity",
    "currencyId",
    "contactId",
    "parentId2",
    "updatedTime",
    "movedTime",
];

const LEGACY_SELECT: [&str; 11] = [
    "ID",
    "ACCOUNT_NUMBER",
    "ORDER_TOPIC",
    "STATUS_ID",
    "PRICE",
    "CURRENCY",
    "PAYED",
    "DATE_PAYED",
    "DATE_UPDATE",
    "UF_DEAL_ID",
    "UF_CONTACT_ID",
];

/// Pages read per `list_invoices` chunk.
const PAGES_PER_CHUNK: usize = crate::batch::MAX_COMMANDS;

/// One list command of an invoice read, with the owner its rows must have.
struct OwnerQuery {
    key: String,
    kind: InvoiceKind,
    owner: Owner,
}

#[derive(Clone, Copy)]
enum Owner {
    Deal(DealId),
    Contact(ContactId),
}

impl LkCrm {
    async fn sources(&self) -> Result<Sources> {
        self.metadata
            .sources(&self.client, self.config.invoices.source)
            .await
    }

    /// Converts smart invoices, reading the semantics of their stages.
    async fn smart_invoices(&self, items: &[Item]) -> Result<Vec<Invoice>> {
        let categories: BTreeSet<u64> = items
            .iter()
            .filter_map(|item| {
                item.category_id
                    .or_else(|| mapping::smart_stage_category(item.stage_id.as_deref()?))
            })
            .collect();
        let semantics = self
            .metadata
            .invoice_stages(&self.client, &categories)
            .await?;

        Ok(items
            .iter()
            .map(|item| {
                let stage_semantics = item
                    .stage_id
                    .as_ref()
                    .and_then(|stage| semantics.get(stage).copied());
                mapping::smart_invoice(item, stage_semantics)
            })
            .collect())
    }

    pub(super) async fn read_invoice(&self, id: InvoiceId) -> CoreResult<Option<Invoice>> {
        Ok(self.read_invoices(&[id]).await?.pop())
    }

    pub(super) async fn read_invoices(&self, ids: &[InvoiceId]) -> CoreResult<Vec<Invoice>> {
        let unique: BTreeSet<InvoiceId> = ids.iter().copied().collect();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        self.invoices_by_id(&unique).await.map_err(to_core)
    }

    /// Reads invoices by id in one batch; ids the portal does not know are left out.
    async fn invoices_by_id(&self, ids: &BTreeSet<InvoiceId>) -> Result<Vec<Invoice>> {
        let mut batch = self.client.batch();
        for id in ids {
            match id.kind {
                InvoiceKind::Smart => {
                    let params =
                        json!({"entityTypeId": EntityType::SmartInvoice.id(), "id": id.number});
                    batch.add(format!("s{}", id.number), "crm.item.get", &params)?
                }
                InvoiceKind::Legacy => batch.add(
                    format!("l{}", id.number),
                    "crm.invoice.get",
                    &json!({"id": id.number}),
                )?,
            };
        }
        let results = batch.send().await?;

        let mut items = Vec::new();
        let mut legacy = Vec::new();
        for id in ids {
            match id.kind {
                InvoiceKind::Smart => {
                    if let Some(wrapper) = found::<Value>(&results, &format!("s{}", id.number))? {
                        let item: Item =
                            decode_value("crm.item.get", "result.item", wrapper["item"].clone())?;
                        items.push(item);
                    }
                }
                InvoiceKind::Legacy => {
                    if let Some(invoice) =
                        found::<LegacyInvoice>(&results, &format!("l{}", id.number))?
                    {
                        legacy.push(mapping::legacy_invoice(&invoice));
                    }
                }
            }
        }

        let mut invoices = self.smart_invoices(&items).await?;
        invoices.extend(legacy);
        invoices.sort_by_key(|invoice| invoice.id);
        Ok(invoices)
    }

    pub(super) async fn read_invoices_of(
        &self,
        deals: &[(DealId, Option<ContactId>)],
    ) -> CoreResult<Vec<Invoice>> {
        if deals.is_empty() {
            return Ok(Vec::new());
        }
        self.invoices_of_owners(deals).await.map_err(to_core)
    }

    /// Reads the invoices of deals (and contacts, with that linkage) in one
    /// batch: one list command per owner and subsystem.
    async fn invoices_of_owners(
        &self,
        deals: &[(DealId, Option<ContactId>)],
    ) -> Result<Vec<Invoice>> {
        let sources = self.sources().await?;
        let queries = self.owner_queries(deals, sources);

        let mut batch = self.client.batch();
        for query in &queries {
            let (method, params) = owner_params(query);
            batch.add(query.key.clone(), method, &params)?;
        }
        let results = batch.send().await?;

        let mut items = Vec::new();
        let mut legacy = Vec::new();
        for query in &queries {
            match query.kind {
                InvoiceKind::Smart => {
                    let rows: Vec<Item> = self.owner_rows(&results, query).await?;
                    items.extend(
                        rows.into_iter()
                            .filter(|item| smart_owned_by(item, query.owner)),
                    );
                }
                InvoiceKind::Legacy => {
                    let rows: Vec<LegacyInvoice> = self.owner_rows(&results, query).await?;
                    legacy.extend(
                        rows.into_iter()
                            .filter(|invoice| legacy_owned_by(invoice, query.owner)),
                    );
                }
            }
        }

        let mut invoices = self.smart_invoices(&items).await?;
        invoices.extend(legacy.iter().map(mapping::legacy_invoice));
        Ok(dedupe(invoices))
    }

    fn owner_queries(
        &self,
        deals: &[(DealId, Option<ContactId>)],
        sources: Sources,
    ) -> Vec<OwnerQuery> {
        let with_contact = self.config.invoices.linkage == InvoiceLinkage::DealAndContact;
        let mut owners = Vec::new();
        for (deal, contact) in deals {
            owners.push(Owner::Deal(*deal));
            if let (true, Some(contact)) = (with_contact, contact) {
                owners.push(Owner::Contact(*contact));
            }
        }

        let mut queries = Vec::new();
        for (index, owner) in owners.into_iter().enumerate() {
            if sources.smart {
                queries.push(OwnerQuery {
                    key: format!("s{index}"),
                    kind: InvoiceKind::Smart,
                    owner,
                });
            }
            if sources.legacy {
                queries.push(OwnerQuery {
                    key: format!("l{index}"),
                    kind: InvoiceKind::Legacy,
                    owner,
                });
            }
        }
        queries
    }

    /// Takes the rows of one owner's command, reading further pages when it has more than 50.
    async fn owner_rows<T: DeserializeOwned + Send + 'static>(
        &self,
        results: &BatchResults,
        query: &OwnerQuery,
    ) -> Result<Vec<T>> {
        let (method, params) = owner_params(query);
        let (rows_shape, id_field) = match query.kind {
            InvoiceKind::Smart => (paging::Rows::Field("items"), "id"),
            InvoiceKind::Legacy => (paging::Rows::Result, "ID"),
        };
        let list = paging::ListQuery::new(method, params, rows_shape, id_field)?;

        if results.next(&query.key).is_some() {
            let pages: Vec<paging::Page<Value>> =
                futures::TryStreamExt::try_collect(list.pages(&self.client)).await?;
            let rows = pages.into_iter().flat_map(|page| page.rows).collect();
            return paging::decode_rows(method, rows);
        }
        let rows = list.extract_rows(results.value(&query.key)?.clone())?;
        paging::decode_rows(method, rows)
    }

    pub(super) async fn list_invoice_chunk(
        &self,
        since: Option<Timestamp>,
        after: Option<InvoiceId>,
    ) -> CoreResult<InvoicePage> {
        let sources = self.sources().await.map_err(to_core)?;
        let in_smart = sources.smart && after.is_none_or(|after| after.kind == InvoiceKind::Smart);

        if in_smart {
            let after_number = after.map(|after| after.number);
            let mut page = self
                .list_smart(since, after_number)
                .await
                .map_err(to_core)?;
            if page.next_after.is_none() && sources.legacy {
                page.next_after = Some(InvoiceId::legacy(0));
            }
            return Ok(page);
        }
        if sources.legacy {
            let after_number = after
                .filter(|after| after.kind == InvoiceKind::Legacy)
                .map(|after| after.number);
            return self.list_legacy(since, after_number).await.map_err(to_core);
        }
        Ok(InvoicePage::default())
    }

    async fn list_smart(
        &self,
        since: Option<Timestamp>,
        after: Option<u64>,
    ) -> Result<InvoicePage> {
        let mut request = self
            .client
            .items()
            .list(EntityType::SmartInvoice)
            .select(SMART_SELECT)
            .order("id", Order::Asc);
        if let Some(after) = after {
            request = request.filter(">id", after);
        }
        if let Some(since) = since {
            request = request.filter(">=updatedTime", format_offset_datetime(since, MOSCOW)?);
        }
        let chunk = request
            .query()?
            .batched(&self.client, PAGES_PER_CHUNK)
            .await?;

        let items: Vec<Item> = paging::decode_rows("crm.item.list", chunk.rows)?;
        let last = items.iter().map(|item| item.id).max();
        let kept: Vec<Item> = items
            .into_iter()
            .filter(|item| {
                after.is_none_or(|after| item.id > after) && changed_since(item.updated_time, since)
            })
            .collect();

        Ok(InvoicePage {
            invoices: self.smart_invoices(&kept).await?,
            next_after: if chunk.complete {
                None
            } else {
                last.map(InvoiceId::smart)
            },
        })
    }

    async fn list_legacy(
        &self,
        since: Option<Timestamp>,
        after: Option<u64>,
    ) -> Result<InvoicePage> {
        let mut request = self
            .client
            .legacy_invoices()
            .list()
            .select(LEGACY_SELECT)
            .order("ID", Order::Asc);
        if let Some(after) = after {
            request = request.filter(">ID", after);
        }
        if let Some(since) = since {
            request = request.filter(">=DATE_UPDATE", format_offset_datetime(since, MOSCOW)?);
        }
        let chunk = request
            .query()?
            .batched(&self.client, PAGES_PER_CHUNK)
            .await?;

        let rows: Vec<LegacyInvoice> = paging::decode_rows("crm.invoice.list", chunk.rows)?;
        let last = rows.iter().map(|invoice| invoice.id).max();
        let invoices = rows
            .iter()
            .filter(|invoice| {
                after.is_none_or(|after| invoice.id > after)
                    && changed_since(invoice.date_update, since)
            })
            .map(mapping::legacy_invoice)
            .collect();

        Ok(InvoicePage {
            invoices,
            next_after: if chunk.complete {
                None
            } else {
                last.map(InvoiceId::legacy)
            },
        })
    }
}

/// Returns a command's decoded result, or `None` when the portal reports that the object does not exist.
fn found<T: DeserializeOwned>(results: &BatchResults, key: &str) -> Result<Option<T>> {
    match results.get(key) {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error),
    }
}

fn owner_params(query: &OwnerQuery) -> (&'static str, Value) {
    match (query.kind, query.owner) {
        (InvoiceKind::Smart, Owner::Deal(deal)) => (
            "crm.item.list",
            json!({"entityTypeId": EntityType::SmartInvoice.id(), "filter": {"parentId2": deal.get()}, "select": SMART_SELECT, "order": {"id": "ASC"}}),
        ),
        (InvoiceKind::Smart, Owner::Contact(contact)) => (
            "crm.item.list",
            json!({"entityTypeId": EntityType::SmartInvoice.id(), "filter": {"contactId": contact.get()}, "select": SMART_SELECT, "order": {"id": "ASC"}}),
        ),
        (InvoiceKind::Legacy, Owner::Deal(deal)) => (
            "crm.invoice.list",
            json!({"filter": {"UF_DEAL_ID": deal.get()}, "select": LEGACY_SELECT, "order": {"ID": "ASC"}}),
        ),
        (InvoiceKind::Legacy, Owner::Contact(contact)) => (
            "crm.invoice.list",
            json!({"filter": {"UF_CONTACT_ID": contact.get()}, "select": LEGACY_SELECT, "order": {"ID": "ASC"}}),
        ),
    }
}

/// Keeps only rows of the owner asked for: a legacy list drops filter keys it
/// does not know and then returns every invoice of the portal.
fn smart_owned_by(item: &Item, owner: Owner) -> bool {
    let owned = match owner {
        Owner::Deal(deal) => item.parent_id(EntityType::Deal) == Some(deal.get()),
        Owner::Contact(contact) => item.contact_id == Some(contact.get()),
    };
    if !owned {
        tracing::debug!(invoice = item.id, "dropping an invoice of another owner");
    }
    owned
}

fn legacy_owned_by(invoice: &LegacyInvoice, owner: Owner) -> bool {
    let owned = match owner {
        Owner::Deal(deal) => invoice.uf_deal_id == Some(deal.get()),
        Owner::Contact(contact) => invoice.uf_contact_id == Some(contact.get()),
    };
    if !owned {
        tracing::debug!(invoice = invoice.id, "dropping an invoice of another owner");
    }
    owned
}

/// Checks the change time again, because `crm.item.list` may ignore a
/// datetime filter written with an offset.
fn changed_since(updated: Option<Timestamp>, since: Option<Timestamp>) -> bool {
    match (since, updated) {
        (Some(since), Some(updated)) => updated >= since,
        _ => true,
    }
}

fn dedupe(invoices: Vec<Invoice>) -> Vec<Invoice> {
    let unique: BTreeMap<InvoiceId, Invoice> = invoices
        .into_iter()
        .map(|invoice| (invoice.id, invoice))
        .collect();
    unique.into_values().collect()
}
