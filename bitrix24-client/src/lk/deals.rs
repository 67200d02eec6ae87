//! Reading deals, pipelines and field metadata for the core.

use std::collections::{BTreeSet, HashMap};

use bitrix_lk_core::{DealFilter, DealId, DealPage, FieldMeta, Pipeline, Result as CoreResult};
use serde_json::json;

use crate::entity::EntityType;
use crate::error::Result;
use crate::lk::LkCrm;
use crate::lk::errors::to_core;
use crate::lk::mapping::{self, MOSCOW};
use crate::methods::Order;
use crate::methods::deals::DealRecord;
use crate::methods::statuses::Status;
use crate::paging;
use crate::values::{FieldSpec, format_offset_datetime};

/// The standard deal fields the core needs, besides the configured user fields.
const DEAL_FIELDS: [&str; 6] = [
    "ID",
    "TITLE",
    "STAGE_ID",
    "CATEGORY_ID",
    "CONTACT_ID",
    "DATE_MODIFY",
];

/// Pages read per `list_deals` chunk. The first chunk reads its first page
/// alone (for `total`) and the rest in one batch. Later chunks read all in one batch.
const PAGES_PER_CHUNK: usize = crate::batch::MAX_COMMANDS;

impl LkCrm {
    fn deal_select(&self) -> Vec<String> {
        let mut select: Vec<String> = DEAL_FIELDS
            .iter()
            .map(|field| (*field).to_owned())
            .collect();
        select.extend(self.field_codes().into_iter().map(|code| code.0));
        select
    }

    async fn field_specs(&self) -> Result<std::sync::Arc<super::metadata::FieldTable>> {
        self.metadata.fields(&self.client, false).await
    }

    fn to_deals(
        &self,
        records: &[DealRecord],
        specs: &HashMap<String, FieldSpec>,
    ) -> Vec<bitrix_lk_core::Deal> {
        let codes = self.field_codes();
        records
            .iter()
            .map(|record| mapping::to_deal(record, &codes, specs))
            .collect()
    }

    pub(super) async fn read_deal(&self, id: DealId) -> CoreResult<Option<bitrix_lk_core::Deal>> {
        let record = match self.client.deals().get(id).await {
            Ok(record) => record,
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(to_core(error)),
        };
        let table = self.field_specs().await.map_err(to_core)?;
        Ok(self.to_deals(&[record], &table.specs).pop())
    }

    pub(super) async fn read_deals(&self, ids: &[DealId]) -> CoreResult<Vec<bitrix_lk_core::Deal>> {
        let unique: BTreeSet<u64> = ids.iter().map(|id| id.get()).collect();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        let records = self
            .records_by_id(&unique.into_iter().collect::<Vec<_>>())
            .await
            .map_err(to_core)?;
        let table = self.field_specs().await.map_err(to_core)?;
        Ok(self.to_deals(&records, &table.specs))
    }

    /// Reads deals by id: 50 ids per `crm.deal.list` command, up to 50 commands per batch.
    async fn records_by_id(&self, ids: &[u64]) -> Result<Vec<DealRecord>> {
        let chunks: Vec<&[u64]> = ids.chunks(paging::PAGE_SIZE as usize).collect();
        let params =
            |chunk: &[u64]| json!({ "filter": {"@ID": chunk}, "select": self.deal_select() });

        if let [only] = chunks.as_slice() {
            return self.client.call("crm.deal.list", &params(only)).await;
        }

        let mut batch = self.client.batch();
        for (index, chunk) in chunks.iter().enumerate() {
            batch.add(format!("ids{index}"), "crm.deal.list", &params(chunk))?;
        }
        let results = batch.send().await?;

        let mut records = Vec::with_capacity(ids.len());
        for index in 0..chunks.len() {
            let rows: Vec<DealRecord> = results.get(&format!("ids{index}"))?;
            records.extend(rows);
        }
        Ok(records)
    }

    pub(super) async fn list_deal_chunk(
        &self,
        filter: &DealFilter,
        after: Option<DealId>,
    ) -> CoreResult<DealPage> {
        let query = self.deal_list_query(filter, after).map_err(to_core)?;
        // After a full chunk the listing goes on, so the next chunk needs no
        // lone first page for `total`: one request per 2,500 deals.
        let chunk = match after {
            None => query.batched(&self.client, PAGES_PER_CHUNK).await,
            Some(_) => {
                query
                    .batched_continuation(&self.client, PAGES_PER_CHUNK)
                    .await
            }
        }
        .map_err(to_core)?;

        let records: Vec<DealRecord> =
            paging::decode_rows("crm.deal.list", chunk.rows).map_err(to_core)?;
        let last_id = records.iter().map(|record| record.id).max();
        let kept: Vec<DealRecord> = records
            .into_iter()
            .filter(|record| matches_filter(record, filter, after))
            .collect();

        let table = self.field_specs().await.map_err(to_core)?;
        let deals = self.to_deals(&kept, &table.specs);
        let next_after = if chunk.complete { None } else { last_id };
        tracing::debug!(
            deals = deals.len(),
            total = chunk.total,
            complete = chunk.complete,
            "listed deals"
        );
        Ok(DealPage { deals, next_after })
    }

    fn deal_list_query(
        &self,
        filter: &DealFilter,
        after: Option<DealId>,
    ) -> Result<paging::ListQuery> {
        let mut request = self
            .client
            .deals()
            .list()
            .select(self.deal_select())
            .order("ID", Order::Asc);
        if let Some(after) = after {
            request = request.filter(">ID", after.get());
        }
        if let Some(since) = filter.modified_since {
            request = request.filter(">=DATE_MODIFY", format_offset_datetime(since, MOSCOW)?);
        }
        if let Some(category) = filter.category {
            request = request.filter("CATEGORY_ID", category.get());
        }
        request.query()
    }

    pub(super) async fn read_pipelines(&self) -> CoreResult<Vec<Pipeline>> {
        let categories = self
            .client
            .categories()
            .all(EntityType::Deal)
            .await
            .map_err(to_core)?;
        let stages = self
            .stages_of(
                &categories
                    .iter()
                    .map(|category| category.id.get())
                    .collect::<Vec<_>>(),
            )
            .await
            .map_err(to_core)?;

        let mut pipelines: Vec<Pipeline> = categories
            .into_iter()
            .map(|category| {
                let mut stages: Vec<_> = stages
                    .get(&category.id.get())
                    .map(|rows| rows.iter().map(mapping::to_stage).collect())
                    .unwrap_or_default();
                stages.sort_by_key(|stage: &bitrix_lk_core::Stage| stage.sort);
                Pipeline {
                    id: category.id,
                    name: category.name.unwrap_or_default(),
                    stages,
                }
            })
            .collect();
        pipelines.sort_by_key(|pipeline| pipeline.id);
        Ok(pipelines)
    }

    /// Reads the stages of several deal pipelines in one batch.
    async fn stages_of(&self, categories: &[u64]) -> Result<HashMap<u64, Vec<Status>>> {
        let directory = |category: u64| match category {
            0 => "DEAL_STAGE".to_owned(),
            other => format!("DEAL_STAGE_{other}"),
        };
        let mut batch = self.client.batch();
        for category in categories {
            let params =
                json!({"filter": {"ENTITY_ID": directory(*category)}, "order": {"SORT": "ASC"}});
            batch.add(format!("stages{category}"), "crm.status.list", &params)?;
        }
        let results = batch.send().await?;

        let mut stages = HashMap::new();
        for category in categories {
            let key = format!("stages{category}");
            let rows: Vec<Status> = if results.next(&key).is_some() {
                self.client
                    .statuses()
                    .directory(&directory(*category))
                    .await?
            } else {
                results.get(&key)?
            };
            stages.insert(*category, rows);
        }
        Ok(stages)
    }

    pub(super) async fn read_deal_fields(&self) -> CoreResult<Vec<FieldMeta>> {
        let table = self
            .metadata
            .fields(&self.client, true)
            .await
            .map_err(to_core)?;
        Ok(table.fields.iter().map(mapping::field_meta).collect())
    }
}

/// Checks a listed deal against the filter again, because the portal may
/// drop a filter it does not understand and return everything.
fn matches_filter(record: &DealRecord, filter: &DealFilter, after: Option<DealId>) -> bool {
    let after_ok = after.is_none_or(|after| record.id > after);
    let since_ok = filter
        .modified_since
        .is_none_or(|since| record.date_modify.is_none_or(|modified| modified >= since));
    let category_ok = filter
        .category
        .is_none_or(|category| record.category_id.is_none_or(|id| id == category));
    if !(after_ok && since_ok && category_ok) {
        tracing::debug!(deal = %record.id, "dropping a listed deal outside the filter");
    }
    after_ok && since_ok && category_ok
}
