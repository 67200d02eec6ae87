//! The portal's data: records, pipelines, user fields, files, and the events
//! that changes produce.
//!
//! Everything here is synchronous and lives behind one mutex
//! ([`super::state::Shared`]); no code awaits while it holds the lock.

mod deals;
pub(crate) mod fields;
mod invoices;
pub(crate) mod pipelines;
pub(crate) mod table;
pub(crate) mod values;

use std::collections::HashMap;

use bytes::Bytes;
use jiff::Timestamp;
use jiff::tz::Offset;

pub(crate) use deals::{DealChange, NewDealRecord};
use fields::{EnumItem, UserField, UserFieldType};
pub(crate) use invoices::{NewLegacyInvoiceRecord, NewSmartInvoiceRecord};
use pipelines::{Category, StageSemantics, StageSpec, StatusRow};
use table::Table;

use super::error::{EmulatorError, Result};

/// A change the portal reports to outgoing webhooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortalEvent {
    pub(crate) name: String,
    pub(crate) id: u64,
    pub(crate) entity_type_id: Option<u32>,
}

/// A file stored in a file field.
#[derive(Clone, Debug)]
pub(crate) struct StoredFile {
    pub(crate) name: String,
    pub(crate) bytes: Bytes,
}

/// The whole portal state.
#[derive(Debug)]
pub(crate) struct PortalData {
    pub(crate) offset: Offset,
    pub(crate) deals: Table,
    pub(crate) smart_invoices: Table,
    pub(crate) legacy_invoices: Table,
    pub(crate) contacts: Table,
    pub(crate) deal_fields: Vec<UserField>,
    pub(crate) categories: Vec<Category>,
    pub(crate) statuses: Vec<StatusRow>,
    pub(crate) files: HashMap<u64, StoredFile>,
    next_file_id: u64,
    next_field_id: u64,
    next_enum_id: u64,
    next_status_row: u64,
    next_category_id: u64,
    pending_events: Vec<PortalEvent>,
}

impl PortalData {
    /// Creates the state of a fresh portal: the general deal pipeline, the
    /// smart-invoice pipeline, the standard directories and no records.
    pub(crate) fn fresh(offset: Offset) -> Self {
        let mut data = Self {
            offset,
            deals: Table::new(1, "DATE_MODIFY", &["CONTACT_ID"]),
            smart_invoices: Table::new(1, "UPDATED_TIME", &["PARENT_ID_2", "CONTACT_ID"]),
            legacy_invoices: Table::new(1, "DATE_UPDATE", &["UF_DEAL_ID", "UF_CONTACT_ID"]),
            contacts: Table::new(1, "DATE_MODIFY", &[]),
            deal_fields: Vec::new(),
            categories: Vec::new(),
            statuses: Vec::new(),
            files: HashMap::new(),
            next_file_id: 1001,
            next_field_id: 101,
            next_enum_id: 41,
            next_status_row: 1,
            next_category_id: 1,
            pending_events: Vec::new(),
        };
        data.add_directories();
        data.add_general_deal_pipeline();
        data.add_category(
            pipelines::SMART_INVOICE,
            "Счета",
            500,
            true,
            &pipelines::default_smart_invoice_stages(),
        );
        data
    }

    /// Returns the current time in whole seconds, the precision the portal stores.
    pub(crate) fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        Timestamp::from_second(now.as_second()).unwrap_or(now)
    }

    pub(crate) fn emit(&mut self, name: impl Into<String>, id: u64, entity_type_id: Option<u32>) {
        self.pending_events.push(PortalEvent {
            name: name.into(),
            id,
            entity_type_id,
        });
    }

    pub(crate) fn take_events(&mut self) -> Vec<PortalEvent> {
        std::mem::take(&mut self.pending_events)
    }

    fn add_directories(&mut self) {
        let sources = [
            ("CALL", "Звонок"),
            ("EMAIL", "Электронная почта"),
            ("WEB", "Веб-сайт"),
            ("ADVERTISING", "Реклама"),
            ("PARTNER", "Существующий клиент"),
            ("RECOMMENDATION", "По рекомендации"),
            ("OTHER", "Другое"),
        ];
        for (code, name) in sources {
            self.push_status("SOURCE", code, name, None, None, false);
        }

        let types = [
            ("SALE", "Продажа"),
            ("COMPLEX", "Комплексная продажа"),
            ("GOODS", "Продажа товара"),
            ("SERVICES", "Продажа услуги"),
            ("SERVICE", "Сервисное обслуживание"),
        ];
        for (code, name) in types {
            self.push_status("DEAL_TYPE", code, name, None, None, false);
        }

        let invoice_statuses = [
            ("N", "Новый", StageSemantics::Process),
            ("S", "Отправлен клиенту", StageSemantics::Process),
            ("P", "Оплачен", StageSemantics::Success),
            ("D", "Отклонён", StageSemantics::Failure),
        ];
        for (code, name, semantics) in invoice_statuses {
            self.push_status("INVOICE_STATUS", code, name, None, Some(semantics), true);
        }
    }

    fn add_general_deal_pipeline(&mut self) {
        self.categories.push(Category {
            id: 0,
            entity_type_id: pipelines::DEAL,
            name: "Общая".to_owned(),
            sort: 300,
            is_default: true,
        });
        for spec in pipelines::default_deal_stages() {
            self.push_stage(pipelines::DEAL, 0, &spec);
        }
    }

    fn push_status(
        &mut self,
        entity_id: &str,
        status_id: &str,
        name: &str,
        category_id: Option<u64>,
        semantics: Option<StageSemantics>,
        with_extra: bool,
    ) -> &mut StatusRow {
        let sort = 10
            + self
                .statuses
                .iter()
                .filter(|row| row.entity_id == entity_id)
                .map(|row| row.sort)
                .max()
                .unwrap_or(0);
        let row = StatusRow {
            row_id: self.next_status_row,
            entity_id: entity_id.to_owned(),
            status_id: status_id.to_owned(),
            name: name.to_owned(),
            name_init: name.to_owned(),
            sort,
            system: matches!(status_id, "NEW" | "WON" | "LOSE") || status_id.ends_with(":NEW"),
            category_id,
            color: semantics
                .map(StageSemantics::default_color)
                .unwrap_or("")
                .to_owned(),
            semantics,
            with_extra,
        };
        self.next_status_row += 1;
        self.statuses.push(row);
        let last = self.statuses.len() - 1;
        &mut self.statuses[last]
    }

    fn push_stage(&mut self, entity_type_id: u32, category: u64, spec: &StageSpec) -> String {
        let (entity, prefix, with_extra) = if entity_type_id == pipelines::DEAL {
            (
                pipelines::deal_stage_entity(category),
                pipelines::deal_stage_prefix(category),
                true,
            )
        } else {
            (
                pipelines::smart_invoice_stage_entity(category),
                pipelines::smart_invoice_stage_prefix(category),
                false,
            )
        };
        let status_id = format!("{prefix}{}", spec.code);
        let category_id = (category != 0 || entity_type_id != pipelines::DEAL).then_some(category);
        let row = self.push_status(
            &entity,
            &status_id,
            &spec.name,
            category_id,
            Some(spec.semantics),
            with_extra,
        );
        if let Some(sort) = spec.sort {
            row.sort = sort;
        }
        status_id
    }

    /// Makes the next pipeline get this id (ids of real portals are not 1, 2, 3).
    pub(crate) fn set_next_category_id(&mut self, id: u64) {
        self.next_category_id = self.next_category_id.max(id);
    }

    /// Renames a pipeline.
    pub(crate) fn rename_category(&mut self, entity_type_id: u32, id: u64, name: &str) {
        if let Some(category) = self
            .categories
            .iter_mut()
            .find(|c| c.entity_type_id == entity_type_id && c.id == id)
        {
            category.name = name.to_owned();
        }
    }

    /// Renames a stage.
    pub(crate) fn rename_stage(&mut self, status_id: &str, name: &str) {
        for row in self
            .statuses
            .iter_mut()
            .filter(|row| row.status_id == status_id)
        {
            row.name = name.to_owned();
        }
    }

    /// Adds a pipeline with its stages and returns its id.
    pub(crate) fn add_category(
        &mut self,
        entity_type_id: u32,
        name: &str,
        sort: i64,
        is_default: bool,
        stages: &[StageSpec],
    ) -> u64 {
        let id = self.next_category_id;
        self.next_category_id += 1;
        self.categories.push(Category {
            id,
            entity_type_id,
            name: name.to_owned(),
            sort,
            is_default,
        });
        for spec in stages {
            self.push_stage(entity_type_id, id, spec);
        }
        id
    }

    /// Adds a stage at the end of a pipeline and returns its full stage id.
    pub(crate) fn add_stage(
        &mut self,
        entity_type_id: u32,
        category: u64,
        spec: &StageSpec,
    ) -> Result<String> {
        if self.category(entity_type_id, category).is_none() {
            return Err(EmulatorError::NotFound {
                entity: "pipeline",
                id: category,
            });
        }
        Ok(self.push_stage(entity_type_id, category, spec))
    }

    pub(crate) fn category(&self, entity_type_id: u32, id: u64) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.entity_type_id == entity_type_id && c.id == id)
    }

    pub(crate) fn default_category(&self, entity_type_id: u32) -> Option<&Category> {
        self.categories
            .iter()
            .find(|c| c.entity_type_id == entity_type_id && c.is_default)
    }

    /// Returns the stages of a pipeline in sort order.
    pub(crate) fn stages(&self, entity_type_id: u32, category: u64) -> Vec<&StatusRow> {
        let entity = if entity_type_id == pipelines::DEAL {
            pipelines::deal_stage_entity(category)
        } else {
            pipelines::smart_invoice_stage_entity(category)
        };
        let mut rows: Vec<&StatusRow> = self
            .statuses
            .iter()
            .filter(|row| row.entity_id == entity)
            .collect();
        rows.sort_by_key(|row| (row.sort, row.row_id));
        rows
    }

    /// Finds the stage row of a stage id within a pipeline.
    pub(crate) fn stage_in(
        &self,
        entity_type_id: u32,
        category: u64,
        status_id: &str,
    ) -> Option<&StatusRow> {
        self.stages(entity_type_id, category)
            .into_iter()
            .find(|row| row.status_id == status_id)
    }

    /// Returns the pipeline of a stage id, searching every pipeline of the entity type.
    pub(crate) fn category_of_stage(&self, entity_type_id: u32, status_id: &str) -> Option<u64> {
        self.categories
            .iter()
            .filter(|c| c.entity_type_id == entity_type_id)
            .find(|c| self.stage_in(entity_type_id, c.id, status_id).is_some())
            .map(|c| c.id)
    }

    /// Adds a deal user field.
    pub(crate) fn add_user_field(
        &mut self,
        name: &str,
        kind: UserFieldType,
        multiple: bool,
        label: &str,
        items: &[String],
    ) -> Result<()> {
        if self.deal_field(name).is_some() {
            return Err(EmulatorError::DuplicateField(name.to_owned()));
        }
        if !name.starts_with("UF_CRM_") || name.len() <= "UF_CRM_".len() {
            return Err(EmulatorError::InvalidValue {
                field: name.to_owned(),
                reason: "deal user field codes start with UF_CRM_".to_owned(),
            });
        }

        let items = items
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let id = self.next_enum_id;
                self.next_enum_id += 2;
                EnumItem {
                    id,
                    value: value.clone(),
                    sort: 10 * (index as i64 + 1),
                    default: false,
                    xml_id: format!("{id:032x}"),
                }
            })
            .collect();
        let field = UserField {
            id: self.next_field_id,
            name: name.to_owned(),
            kind,
            multiple,
            mandatory: false,
            label: label.to_owned(),
            sort: 100 + 10 * self.deal_fields.len() as i64,
            items,
        };
        self.next_field_id += 2;
        self.deal_fields.push(field);
        Ok(())
    }

    pub(crate) fn deal_field(&self, name: &str) -> Option<&UserField> {
        self.deal_fields.iter().find(|f| f.name == name)
    }

    /// Stores a file and returns its id.
    pub(crate) fn store_file(&mut self, name: &str, bytes: Bytes) -> u64 {
        let id = self.next_file_id;
        self.next_file_id += 2;
        let name = if name.trim().is_empty() {
            format!("file_{id}")
        } else {
            name.to_owned()
        };
        self.files.insert(id, StoredFile { name, bytes });
        id
    }

    /// Deletes stored files that a field no longer references.
    pub(crate) fn drop_files(&mut self, ids: impl IntoIterator<Item = u64>) {
        for id in ids {
            self.files.remove(&id);
        }
    }
}
