//! Creating, changing and deleting deals and contacts.

use std::collections::BTreeSet;

use rust_decimal::Decimal;

use super::PortalData;
use super::fields::UserFieldType;
use super::pipelines::{self, StageSemantics};
use super::table::Record;
use super::values::Scalar;
use crate::emulator::clock;
use crate::emulator::error::{EmulatorError, Result};

/// A deal to insert.
#[derive(Clone, Debug)]
pub(crate) struct NewDealRecord {
    pub(crate) title: String,
    pub(crate) category: u64,
    pub(crate) stage: Option<String>,
    pub(crate) contact_id: Option<u64>,
    pub(crate) opportunity: Decimal,
    pub(crate) currency: String,
    pub(crate) uf: Vec<(String, Vec<Scalar>)>,
    pub(crate) user: u64,
}

/// A change to a deal: standard fields, user fields, a new stage or pipeline.
#[derive(Clone, Debug, Default)]
pub(crate) struct DealChange {
    pub(crate) std: Vec<(&'static str, Option<Scalar>)>,
    pub(crate) uf: Vec<(String, Vec<Scalar>)>,
    pub(crate) stage: Option<String>,
    pub(crate) category: Option<u64>,
}

impl PortalData {
    /// Inserts a deal and reports `ONCRMDEALADD`; returns its id.
    pub(crate) fn create_deal(&mut self, new: NewDealRecord) -> Result<u64> {
        let id = self.insert_deal(new)?;
        self.emit("ONCRMDEALADD", id, None);
        Ok(id)
    }

    /// Inserts a deal without reporting it (bulk generation for benchmarks).
    pub(crate) fn insert_deal(&mut self, new: NewDealRecord) -> Result<u64> {
        if self.category(pipelines::DEAL, new.category).is_none() {
            return Err(EmulatorError::NotFound {
                entity: "deal pipeline",
                id: new.category,
            });
        }
        let stage = self.resolve_deal_stage(new.category, new.stage.as_deref())?;
        let semantics = self.stage_semantics(new.category, &stage);
        let now = self.now();
        let id = self.deals.allocate_id();

        let mut record = Record {
            id,
            ..Record::default()
        };
        let user = Scalar::Int(new.user as i64);
        record.set("ID", Scalar::Int(id as i64));
        record.set("TITLE", Scalar::Str(new.title));
        record.set("TYPE_ID", Scalar::Str("SALE".to_owned()));
        record.set("CURRENCY_ID", Scalar::Str(new.currency));
        record.set("OPPORTUNITY", Scalar::Decimal(new.opportunity));
        record.set("IS_MANUAL_OPPORTUNITY", Scalar::Str("N".to_owned()));
        record.set("TAX_VALUE", Scalar::Decimal(Decimal::ZERO));
        record.set("COMPANY_ID", Scalar::Int(0));
        record.set_opt("CONTACT_ID", new.contact_id.map(|c| Scalar::Int(c as i64)));
        record.set(
            "CONTACT_IDS",
            Scalar::IntList(new.contact_id.map(|c| vec![c as i64]).unwrap_or_default()),
        );
        record.set("OBSERVERS", Scalar::IntList(Vec::new()));
        record.set(
            "BEGINDATE",
            Scalar::Date(self.offset.to_datetime(now).date()),
        );
        let close = clock::days_after(now, 7);
        record.set(
            "CLOSEDATE",
            Scalar::Date(self.offset.to_datetime(close).date()),
        );
        for name in [
            "ASSIGNED_BY_ID",
            "CREATED_BY_ID",
            "MODIFY_BY_ID",
            "MOVED_BY_ID",
            "LAST_ACTIVITY_BY",
        ] {
            record.set(name, user.clone());
        }
        for name in [
            "DATE_CREATE",
            "DATE_MODIFY",
            "MOVED_TIME",
            "LAST_ACTIVITY_TIME",
        ] {
            record.set(name, Scalar::DateTime(now));
        }
        for (name, flag) in [
            ("OPENED", "Y"),
            ("IS_NEW", "Y"),
            ("IS_RECURRING", "N"),
            ("IS_RETURN_CUSTOMER", "N"),
            ("IS_REPEATED_APPROACH", "N"),
        ] {
            record.set(name, Scalar::Str(flag.to_owned()));
        }
        record.set("SOURCE_ID", Scalar::Str("CALL".to_owned()));
        record.set("CATEGORY_ID", Scalar::Int(new.category as i64));
        set_stage_fields(&mut record, stage, semantics);

        for (code, values) in new.uf {
            self.check_field(&code)?;
            record.uf.insert(code, values);
        }
        self.deals.insert(record);
        Ok(id)
    }

    /// Applies a change to a deal.
    ///
    /// Reports `ONCRMDEALUPDATE`, except when the deal moved to another
    /// pipeline: the portal then fires only `ONCRMDEALMOVETOCATEGORY`, which
    /// outgoing webhooks cannot receive. Files no longer referenced are deleted.
    pub(crate) fn update_deal(&mut self, id: u64, change: DealChange, user: u64) -> Result<()> {
        let Some(current) = self.deals.get(id) else {
            return Err(EmulatorError::NotFound { entity: "deal", id });
        };
        let old_category = current.int("CATEGORY_ID").unwrap_or(0) as u64;
        let new_category = change.category.unwrap_or(old_category);
        let moved = new_category != old_category;
        if moved && self.category(pipelines::DEAL, new_category).is_none() {
            return Err(EmulatorError::NotFound {
                entity: "deal pipeline",
                id: new_category,
            });
        }

        let stage = match (&change.stage, moved) {
            (Some(stage), _) => Some(self.resolve_deal_stage(new_category, Some(stage))?),
            (None, true) => Some(self.resolve_deal_stage(new_category, None)?),
            (None, false) => None,
        };
        let semantics = stage
            .as_deref()
            .map(|stage| self.stage_semantics(new_category, stage));
        let orphaned = self.orphaned_files(current, &change.uf);
        let now = self.now();

        self.deals.update(id, |record| {
            for (name, value) in change.std {
                record.set_opt(name, value);
            }
            for (code, values) in change.uf {
                record.uf.insert(code, values);
            }
            if let (Some(stage), Some(semantics)) = (stage, semantics)
                && record.text("STAGE_ID") != Some(stage.as_str())
            {
                set_stage_fields(record, stage, semantics);
                record.set("MOVED_TIME", Scalar::DateTime(now));
                record.set("MOVED_BY_ID", Scalar::Int(user as i64));
                record.set("IS_NEW", Scalar::Str("N".to_owned()));
            }
            record.set("CATEGORY_ID", Scalar::Int(new_category as i64));
            record.set("DATE_MODIFY", Scalar::DateTime(now));
            record.set("MODIFY_BY_ID", Scalar::Int(user as i64));
        });
        self.drop_files(orphaned);

        if !moved {
            self.emit("ONCRMDEALUPDATE", id, None);
        }
        Ok(())
    }

    /// Deletes a deal and its files, and reports `ONCRMDEALDELETE`.
    pub(crate) fn delete_deal(&mut self, id: u64) -> Result<()> {
        let Some(record) = self.deals.remove(id) else {
            return Err(EmulatorError::NotFound { entity: "deal", id });
        };
        let files: Vec<u64> = record
            .uf
            .values()
            .flatten()
            .filter_map(Scalar::as_file)
            .collect();
        self.drop_files(files);
        self.emit("ONCRMDEALDELETE", id, None);
        Ok(())
    }

    /// Inserts a contact and reports `ONCRMCONTACTADD`; returns its id.
    pub(crate) fn create_contact(
        &mut self,
        name: &str,
        last_name: &str,
        phone: &str,
        email: &str,
    ) -> u64 {
        let id = self.contacts.allocate_id();
        let now = self.now();
        let mut record = Record {
            id,
            ..Record::default()
        };
        record.set("ID", Scalar::Int(id as i64));
        record.set("NAME", Scalar::Str(name.to_owned()));
        record.set("LAST_NAME", Scalar::Str(last_name.to_owned()));
        record.set("PHONE", Scalar::Str(phone.to_owned()));
        record.set("EMAIL", Scalar::Str(email.to_owned()));
        record.set("DATE_CREATE", Scalar::DateTime(now));
        record.set("DATE_MODIFY", Scalar::DateTime(now));
        self.contacts.insert(record);
        self.emit("ONCRMCONTACTADD", id, None);
        id
    }

    fn check_field(&self, code: &str) -> Result<()> {
        match self.deal_field(code) {
            Some(_) => Ok(()),
            None => Err(EmulatorError::UnknownField(code.to_owned())),
        }
    }

    /// Returns the stage to use: the requested one if it is in the pipeline, else the first stage.
    fn resolve_deal_stage(&self, category: u64, stage: Option<&str>) -> Result<String> {
        match stage {
            Some(stage) => self
                .stage_in(pipelines::DEAL, category, stage)
                .map(|row| row.status_id.clone())
                .ok_or_else(|| EmulatorError::UnknownStage {
                    stage: stage.to_owned(),
                    category,
                }),
            None => self
                .stages(pipelines::DEAL, category)
                .first()
                .map(|row| row.status_id.clone())
                .ok_or_else(|| EmulatorError::UnknownStage {
                    stage: "<first stage>".to_owned(),
                    category,
                }),
        }
    }

    fn stage_semantics(&self, category: u64, stage: &str) -> StageSemantics {
        self.stage_in(pipelines::DEAL, category, stage)
            .and_then(|row| row.semantics)
            .unwrap_or(StageSemantics::Process)
    }

    /// Returns the ids of files that the new user-field values no longer reference.
    fn orphaned_files(&self, current: &Record, changes: &[(String, Vec<Scalar>)]) -> Vec<u64> {
        let mut orphaned = Vec::new();
        for (code, values) in changes {
            let is_file = self
                .deal_field(code)
                .is_some_and(|f| f.kind == UserFieldType::File);
            if !is_file {
                continue;
            }
            let still_referenced: BTreeSet<u64> =
                values.iter().filter_map(Scalar::as_file).collect();
            orphaned.extend(
                current
                    .uf_values(code)
                    .iter()
                    .filter_map(Scalar::as_file)
                    .filter(|id| !still_referenced.contains(id)),
            );
        }
        orphaned
    }
}

fn set_stage_fields(record: &mut Record, stage: String, semantics: StageSemantics) {
    record.set("STAGE_ID", Scalar::Str(stage));
    record.set(
        "STAGE_SEMANTIC_ID",
        Scalar::Str(semantics.semantic_id().to_owned()),
    );
    let closed = if semantics == StageSemantics::Process {
        "N"
    } else {
        "Y"
    };
    record.set("CLOSED", Scalar::Str(closed.to_owned()));
}
