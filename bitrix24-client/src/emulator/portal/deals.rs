//! Pipelines, user fields, contacts, deals and their files.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use bytes::Bytes;
use jiff::Timestamp;
use serde_json::Value;

use super::inputs::{NewContact, NewDeal, UfValue, UserFieldSpec, to_scalars};
use super::{Portal, STAFF_USER};
use crate::emulator::data::fields::{UserField, UserFieldType};
use crate::emulator::data::pipelines::{self, StageSemantics, StageSpec};
use crate::emulator::data::values::Scalar;
use crate::emulator::data::{DealChange, NewDealRecord, PortalData};
use crate::emulator::error::{EmulatorError, Result};
use crate::emulator::methods::render::{self, LegacyStyle};

/// A pipeline and its stages in sort order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipelineInfo {
    /// The category id (0 for the general deal pipeline).
    pub id: u64,
    /// The pipeline name.
    pub name: String,
    /// The stages in sort order.
    pub stages: Vec<StageInfo>,
}

/// One stage of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageInfo {
    /// The full stage id, e.g. `C7:NEW`.
    pub id: String,
    /// The stage name.
    pub name: String,
    /// The sort order.
    pub sort: i64,
    /// The stage's meaning.
    pub semantics: StageSemantics,
}

/// A deal as staff see it, for assertions.
#[derive(Clone, Debug, PartialEq)]
pub struct DealSnapshot {
    /// The deal id.
    pub id: u64,
    /// The title.
    pub title: String,
    /// The pipeline (category) id.
    pub pipeline: u64,
    /// The full stage id.
    pub stage: String,
    /// The primary contact id.
    pub contact_id: Option<u64>,
    /// `DATE_MODIFY`.
    pub modified: Timestamp,
    /// User fields as `crm.deal.get` renders them (omitted when the portal omits them).
    pub fields: BTreeMap<String, Value>,
}

/// A stored file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFileInfo {
    /// The file id.
    pub id: u64,
    /// The file name.
    pub name: String,
    /// The contents.
    pub bytes: Bytes,
}

fn pipeline_info(data: &PortalData, entity_type_id: u32, id: u64, name: &str) -> PipelineInfo {
    let stages = data
        .stages(entity_type_id, id)
        .into_iter()
        .map(|row| StageInfo {
            id: row.status_id.clone(),
            name: row.name.clone(),
            sort: row.sort,
            semantics: row.semantics.unwrap_or(StageSemantics::Process),
        })
        .collect();
    PipelineInfo {
        id,
        name: name.to_owned(),
        stages,
    }
}

fn field_def(data: &PortalData, code: &str) -> Result<UserField> {
    data.deal_field(code)
        .cloned()
        .ok_or_else(|| EmulatorError::UnknownField(code.to_owned()))
}

impl Portal {
    /// Adds a deal pipeline with the given stages and returns its id.
    pub fn add_deal_pipeline(&self, name: &str, stages: &[StageSpec]) -> u64 {
        self.shared.mutate(|data| {
            let sort = 100 + 100 * data.categories.len() as i64;
            data.add_category(pipelines::DEAL, name, sort, false, stages)
        })
    }

    /// Adds a stage at the end of a deal pipeline; returns the full stage id.
    pub fn add_stage(&self, pipeline: u64, stage: StageSpec) -> Result<String> {
        self.shared
            .mutate(|data| data.add_stage(pipelines::DEAL, pipeline, &stage))
    }

    /// Returns every deal pipeline with its stages.
    pub fn deal_pipelines(&self) -> Vec<PipelineInfo> {
        self.shared.read(|data| {
            data.categories
                .iter()
                .filter(|c| c.entity_type_id == pipelines::DEAL)
                .map(|c| pipeline_info(data, pipelines::DEAL, c.id, &c.name))
                .collect()
        })
    }

    /// Returns the default smart-invoice pipeline with its stages.
    pub fn smart_invoice_pipeline(&self) -> Option<PipelineInfo> {
        self.shared.read(|data| {
            let category = data.default_category(pipelines::SMART_INVOICE)?;
            Some(pipeline_info(
                data,
                pipelines::SMART_INVOICE,
                category.id,
                &category.name,
            ))
        })
    }

    /// Finds a deal pipeline by name.
    pub fn deal_pipeline_by_name(&self, name: &str) -> Option<u64> {
        self.deal_pipelines()
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
    }

    /// Adds a deal user field.
    pub fn add_user_field(&self, spec: UserFieldSpec) -> Result<()> {
        self.shared.mutate(|data| {
            data.add_user_field(
                &spec.code,
                spec.kind,
                spec.multiple,
                &spec.label,
                &spec.items,
            )
        })
    }

    /// Returns the id of an enumeration item by its label.
    pub fn enum_item_id(&self, code: &str, label: &str) -> Option<u64> {
        self.shared.read(|data| {
            data.deal_field(code)?
                .items
                .iter()
                .find(|item| item.value == label)
                .map(|item| item.id)
        })
    }

    /// Creates a contact and returns its id.
    pub fn add_contact(&self, contact: NewContact) -> u64 {
        self.shared.mutate(|data| {
            data.create_contact(
                &contact.name,
                &contact.last_name,
                &contact.phone,
                &contact.email,
            )
        })
    }

    /// Creates a deal (sends `ONCRMDEALADD`) and returns its id.
    pub fn create_deal(&self, deal: NewDeal) -> Result<u64> {
        self.shared.mutate(|data| {
            let record = deal_record(data, deal)?;
            data.create_deal(record)
        })
    }

    /// Creates `count` deals from a template without sending events (for benchmarks).
    ///
    /// Titles get ` #N` appended. Returns the range of new ids.
    pub fn generate_deals(&self, count: u64, template: &NewDeal) -> Result<RangeInclusive<u64>> {
        self.shared.mutate(|data| {
            let mut first = None;
            let mut last = 0;
            for n in 1..=count {
                let mut deal = template.clone();
                deal.title = format!("{} #{n}", template.title);
                let record = deal_record(data, deal)?;
                last = data.insert_deal(record)?;
                first.get_or_insert(last);
            }
            Ok(first.unwrap_or(last + 1)..=last)
        })
    }

    /// Sets one user field (sends `ONCRMDEALUPDATE`).
    pub fn set_field(&self, deal: u64, code: &str, value: UfValue) -> Result<()> {
        self.set_fields(deal, vec![(code.to_owned(), value)])
    }

    /// Sets several user fields in one change (one `ONCRMDEALUPDATE`).
    pub fn set_fields(&self, deal: u64, values: Vec<(String, UfValue)>) -> Result<()> {
        self.shared.mutate(|data| {
            let mut change = DealChange::default();
            for (code, value) in values {
                let field = field_def(data, &code)?;
                change.uf.push((code, to_scalars(data, &field, value)?));
            }
            data.update_deal(deal, change, STAFF_USER)
        })
    }

    /// Renames a deal (sends `ONCRMDEALUPDATE`).
    pub fn set_title(&self, deal: u64, title: &str) -> Result<()> {
        let change = DealChange {
            std: vec![("TITLE", Some(Scalar::Str(title.to_owned())))],
            ..DealChange::default()
        };
        self.shared
            .mutate(|data| data.update_deal(deal, change, STAFF_USER))
    }

    /// Moves a deal to another stage of its pipeline (sends `ONCRMDEALUPDATE`).
    pub fn move_stage(&self, deal: u64, stage: &str) -> Result<()> {
        let change = DealChange {
            stage: Some(stage.to_owned()),
            ..DealChange::default()
        };
        self.shared
            .mutate(|data| data.update_deal(deal, change, STAFF_USER))
    }

    /// Moves a deal to another pipeline, into `stage` or the first stage.
    ///
    /// Like the real portal, this sends no `ONCRMDEALUPDATE`: only polling notices it.
    pub fn move_to_pipeline(&self, deal: u64, pipeline: u64, stage: Option<&str>) -> Result<()> {
        let change = DealChange {
            stage: stage.map(str::to_owned),
            category: Some(pipeline),
            ..DealChange::default()
        };
        self.shared
            .mutate(|data| data.update_deal(deal, change, STAFF_USER))
    }

    /// Deletes a deal and its files (sends `ONCRMDEALDELETE`).
    pub fn delete_deal(&self, deal: u64) -> Result<()> {
        self.shared.mutate(|data| data.delete_deal(deal))
    }

    /// Attaches a file to a file field: appended to a multiple field, replacing a single one.
    ///
    /// Returns the new file id; sends `ONCRMDEALUPDATE`.
    pub fn attach_file(
        &self,
        deal: u64,
        code: &str,
        name: &str,
        bytes: impl Into<Bytes>,
    ) -> Result<u64> {
        let bytes = bytes.into();
        self.shared.mutate(|data| {
            let field = field_def(data, code)?;
            if field.kind != UserFieldType::File {
                return Err(EmulatorError::InvalidValue {
                    field: code.to_owned(),
                    reason: "not a file field".to_owned(),
                });
            }
            let record = data.deals.get(deal).ok_or(EmulatorError::NotFound {
                entity: "deal",
                id: deal,
            })?;
            let mut values = if field.multiple {
                record.uf_values(code).to_vec()
            } else {
                Vec::new()
            };
            let id = data.store_file(name, bytes);
            values.push(Scalar::File(id));
            let change = DealChange {
                uf: vec![(code.to_owned(), values)],
                ..DealChange::default()
            };
            data.update_deal(deal, change, STAFF_USER)?;
            Ok(id)
        })
    }

    /// Removes one file from a file field (sends `ONCRMDEALUPDATE`).
    pub fn remove_file(&self, deal: u64, code: &str, file_id: u64) -> Result<()> {
        self.shared.mutate(|data| {
            let record = data.deals.get(deal).ok_or(EmulatorError::NotFound {
                entity: "deal",
                id: deal,
            })?;
            let values: Vec<Scalar> = record
                .uf_values(code)
                .iter()
                .filter(|s| s.as_file() != Some(file_id))
                .cloned()
                .collect();
            let change = DealChange {
                uf: vec![(code.to_owned(), values)],
                ..DealChange::default()
            };
            data.update_deal(deal, change, STAFF_USER)
        })
    }

    /// Returns a deal's current state.
    pub fn deal(&self, id: u64) -> Option<DealSnapshot> {
        self.shared.read(|data| {
            let record = data.deals.get(id)?;
            let fields = data
                .deal_fields
                .iter()
                .filter_map(|f| {
                    let value = render::legacy_uf(
                        f,
                        record.uf_values(&f.name),
                        LegacyStyle::Get,
                        id,
                        data.offset,
                    )?;
                    Some((f.name.clone(), value))
                })
                .collect();
            Some(DealSnapshot {
                id,
                title: record.text("TITLE").unwrap_or_default().to_owned(),
                pipeline: record.int("CATEGORY_ID").unwrap_or(0) as u64,
                stage: record.text("STAGE_ID").unwrap_or_default().to_owned(),
                contact_id: record.int("CONTACT_ID").map(|c| c as u64),
                modified: match record.get("DATE_MODIFY") {
                    Some(Scalar::DateTime(ts)) => *ts,
                    _ => Timestamp::UNIX_EPOCH,
                },
                fields,
            })
        })
    }

    /// Returns a user field as text: strings as they are, an enumeration as its label,
    /// dates and datetimes as the portal renders them; `None` when empty.
    pub fn field_text(&self, deal: u64, code: &str) -> Option<String> {
        self.shared.read(|data| {
            let field = data.deal_field(code)?;
            let value = data.deals.get(deal)?.uf_values(code).first()?.clone();
            let text = match value {
                Scalar::Int(id) if field.kind == UserFieldType::Enumeration => field
                    .items
                    .iter()
                    .find(|item| item.id as i64 == id)
                    .map(|item| item.value.clone())
                    .unwrap_or_else(|| id.to_string()),
                other => match render::legacy_std(Some(&other), data.offset) {
                    Value::String(text) => text,
                    other => other.to_string(),
                },
            };
            Some(text).filter(|t| !t.is_empty())
        })
    }

    /// Returns the files in a deal's file field, in order.
    pub fn files(&self, deal: u64, code: &str) -> Vec<StoredFileInfo> {
        self.shared.read(|data| {
            let Some(record) = data.deals.get(deal) else {
                return Vec::new();
            };
            record
                .uf_values(code)
                .iter()
                .filter_map(Scalar::as_file)
                .filter_map(|id| file_info(data, id))
                .collect()
        })
    }

    /// Returns a stored file by id.
    pub fn file(&self, id: u64) -> Option<StoredFileInfo> {
        self.shared.read(|data| file_info(data, id))
    }

    /// Returns the number of deals.
    pub fn deal_count(&self) -> usize {
        self.shared.read(|data| data.deals.len())
    }

    /// Returns every deal id in ascending order.
    pub fn deal_ids(&self) -> Vec<u64> {
        self.shared
            .read(|data| data.deals.rows().keys().copied().collect())
    }
}

fn file_info(data: &PortalData, id: u64) -> Option<StoredFileInfo> {
    let file = data.files.get(&id)?;
    Some(StoredFileInfo {
        id,
        name: file.name.clone(),
        bytes: file.bytes.clone(),
    })
}

fn deal_record(data: &mut PortalData, deal: NewDeal) -> Result<NewDealRecord> {
    let mut uf = Vec::new();
    for (code, value) in deal.fields {
        let field = field_def(data, &code)?;
        uf.push((code, to_scalars(data, &field, value)?));
    }
    Ok(NewDealRecord {
        title: deal.title,
        category: deal.pipeline,
        stage: deal.stage,
        contact_id: deal.contact_id,
        opportunity: deal.amount,
        currency: deal.currency,
        uf,
        user: STAFF_USER,
    })
}
