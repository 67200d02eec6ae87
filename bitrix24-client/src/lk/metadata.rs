//! Cached portal metadata: deal user fields, smart-invoice stages, and which
//! invoice subsystem the portal uses.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use bitrix_lk_core::{InvoiceSource, StageSemantics};
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::client::Client;
use crate::entity::EntityType;
use crate::error::Result;
use crate::lk::mapping::to_semantics;
use crate::methods::statuses::Status;
use crate::methods::userfields::UserField;
use crate::values::FieldSpec;

/// How long metadata is reused before it is read again. Enumeration labels
/// and stages change rarely, and a stale label only shows an old name.
const METADATA_TTL: Duration = Duration::from_secs(600);

/// The deal user fields, by code.
#[derive(Debug)]
pub(crate) struct FieldTable {
    pub(crate) fields: Vec<UserField>,
    pub(crate) specs: HashMap<String, FieldSpec>,
}

/// The invoice subsystems the adapter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sources {
    pub(crate) smart: bool,
    pub(crate) legacy: bool,
}

#[derive(Debug)]
struct Cached<T> {
    loaded: Instant,
    value: T,
}

impl<T> Cached<T> {
    fn fresh(&self) -> bool {
        self.loaded.elapsed() < METADATA_TTL
    }
}

/// The caches of one adapter.
#[derive(Debug, Default)]
pub(crate) struct Metadata {
    fields: Mutex<Option<Cached<Arc<FieldTable>>>>,
    stages: Mutex<HashMap<u64, Cached<HashMap<String, StageSemantics>>>>,
    sources: Mutex<Option<Sources>>,
}

impl Metadata {
    /// Returns the deal user fields, reading them when the cache is empty,
    /// stale, or `refresh` is set.
    pub(crate) async fn fields(&self, client: &Client, refresh: bool) -> Result<Arc<FieldTable>> {
        let mut cache = self.fields.lock().await;
        if let Some(cached) = cache.as_ref().filter(|cached| !refresh && cached.fresh()) {
            return Ok(cached.value.clone());
        }

        let fields = client.deal_userfields().all().await?;
        let specs = fields
            .iter()
            .map(|field| (field.field_name.clone(), FieldSpec::from(field)))
            .collect();
        let table = Arc::new(FieldTable { fields, specs });
        *cache = Some(Cached {
            loaded: Instant::now(),
            value: table.clone(),
        });
        tracing::debug!(fields = table.fields.len(), "read deal user fields");
        Ok(table)
    }

    /// Returns the semantics of every stage of the given smart-invoice
    /// pipelines, reading the missing ones in one batch.
    pub(crate) async fn invoice_stages(
        &self,
        client: &Client,
        categories: &BTreeSet<u64>,
    ) -> Result<HashMap<String, StageSemantics>> {
        let mut cache = self.stages.lock().await;
        let missing: Vec<u64> = categories
            .iter()
            .copied()
            .filter(|category| !cache.get(category).is_some_and(Cached::fresh))
            .collect();

        if !missing.is_empty() {
            for (category, stages) in read_invoice_stages(client, &missing).await? {
                cache.insert(
                    category,
                    Cached {
                        loaded: Instant::now(),
                        value: stages,
                    },
                );
            }
        }

        let mut all = HashMap::new();
        for category in categories {
            if let Some(cached) = cache.get(category) {
                all.extend(
                    cached
                        .value
                        .iter()
                        .map(|(stage, semantics)| (stage.clone(), *semantics)),
                );
            }
        }
        Ok(all)
    }

    /// Returns which invoice subsystems to read, detecting them once for `Auto`.
    pub(crate) async fn sources(
        &self,
        client: &Client,
        configured: InvoiceSource,
    ) -> Result<Sources> {
        match configured {
            InvoiceSource::Smart => {
                return Ok(Sources {
                    smart: true,
                    legacy: false,
                });
            }
            InvoiceSource::Legacy => {
                return Ok(Sources {
                    smart: false,
                    legacy: true,
                });
            }
            InvoiceSource::Both => {
                return Ok(Sources {
                    smart: true,
                    legacy: true,
                });
            }
            _ => {}
        }

        let mut cache = self.sources.lock().await;
        if let Some(sources) = *cache {
            return Ok(sources);
        }
        let (sources, certain) = detect_sources(client).await?;
        if certain {
            *cache = Some(sources);
        }
        Ok(sources)
    }
}

/// Reads `SMART_INVOICE_STAGE_<category>` for each category in one batch.
async fn read_invoice_stages(
    client: &Client,
    categories: &[u64],
) -> Result<Vec<(u64, HashMap<String, StageSemantics>)>> {
    let mut batch = client.batch();
    for category in categories {
        let params = json!({
            "filter": {"ENTITY_ID": format!("SMART_INVOICE_STAGE_{category}")},
            "order": {"SORT": "ASC"}
        });
        batch.add(format!("stages{category}"), "crm.status.list", &params)?;
    }
    let results = batch.send().await?;

    let mut read = Vec::new();
    for category in categories {
        let key = format!("stages{category}");
        let rows: Vec<Status> = if results.next(&key).is_some() {
            client
                .statuses()
                .directory(&format!("SMART_INVOICE_STAGE_{category}"))
                .await?
        } else {
            results.get(&key)?
        };
        let stages = rows
            .iter()
            .map(|row| (row.status_id.clone(), to_semantics(row.semantics)))
            .collect();
        read.push((*category, stages));
    }
    Ok(read)
}

/// Requests one invoice from both subsystems. Returns the subsystems to read
/// and whether the result is certain (some invoice exists), so an empty
/// portal is checked again later. A subsystem that fails (disabled, method missing) counts as empty.
async fn detect_sources(client: &Client) -> Result<(Sources, bool)> {
    let mut batch = client.batch();
    batch.add(
        "smart",
        "crm.item.list",
        &json!({"entityTypeId": EntityType::SmartInvoice.id(), "select": ["id"], "start": -1}),
    )?;
    batch.add(
        "legacy",
        "crm.invoice.list",
        &json!({"select": ["ID"], "order": {"ID": "DESC"}, "start": -1}),
    )?;
    let results = batch.send().await?;

    let has_rows = |key: &str| -> bool {
        match results.value(key) {
            Ok(value) => {
                let rows = value.get("items").unwrap_or(value);
                rows.as_array().is_some_and(|rows| !rows.is_empty())
                    || rows.as_object().is_some_and(|rows| !rows.is_empty())
            }
            Err(error) => {
                tracing::info!(subsystem = key, error = %error, "invoice subsystem probe failed");
                false
            }
        }
    };
    let smart = has_rows("smart");
    let legacy = has_rows("legacy");
    tracing::info!(smart, legacy, "detected the portal's invoice subsystems");

    let sources = match (smart, legacy) {
        (false, false) => Sources {
            smart: true,
            legacy: false,
        },
        (smart, legacy) => Sources { smart, legacy },
    };
    Ok((sources, smart || legacy))
}
