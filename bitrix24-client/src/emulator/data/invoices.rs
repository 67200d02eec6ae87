//! Smart invoices (entity type 31) and legacy invoices (`crm.invoice.*`).

use rust_decimal::Decimal;

use super::PortalData;
use super::pipelines::{self, StageSemantics};
use super::table::Record;
use super::values::Scalar;
use crate::emulator::clock;
use crate::emulator::error::{EmulatorError, Result};

/// A smart invoice to insert.
#[derive(Clone, Debug)]
pub(crate) struct NewSmartInvoiceRecord {
    pub(crate) title: String,
    pub(crate) deal_id: Option<u64>,
    pub(crate) contact_id: Option<u64>,
    pub(crate) amount: Decimal,
    pub(crate) currency: String,
    /// The full stage id (`DT31_1:P`); `None` for the first stage of the default pipeline.
    pub(crate) stage: Option<String>,
    pub(crate) user: u64,
}

/// A legacy invoice to insert.
#[derive(Clone, Debug)]
pub(crate) struct NewLegacyInvoiceRecord {
    pub(crate) topic: String,
    pub(crate) deal_id: Option<u64>,
    pub(crate) contact_id: Option<u64>,
    pub(crate) price: Decimal,
    pub(crate) currency: String,
    pub(crate) status: String,
    pub(crate) user: u64,
}

const SMART: Option<u32> = Some(pipelines::SMART_INVOICE);

impl PortalData {
    /// Inserts a smart invoice and reports `ONCRMDYNAMICITEMADD`; returns its id.
    pub(crate) fn create_smart_invoice(&mut self, new: NewSmartInvoiceRecord) -> Result<u64> {
        let category = match &new.stage {
            Some(stage) => self
                .category_of_stage(pipelines::SMART_INVOICE, stage)
                .ok_or_else(|| EmulatorError::UnknownStage {
                    stage: stage.clone(),
                    category: 0,
                })?,
            None => self.default_smart_category()?,
        };
        let stage = match new.stage {
            Some(stage) => stage,
            None => self.first_smart_stage(category)?,
        };
        let now = self.now();
        let id = self.smart_invoices.allocate_id();

        let mut record = Record {
            id,
            ..Record::default()
        };
        let user = Scalar::Int(new.user as i64);
        record.set("ID", Scalar::Int(id as i64));
        record.set("TITLE", Scalar::Str(new.title));
        record.set("ACCOUNT_NUMBER", Scalar::Str(id.to_string()));
        for name in ["CREATED_BY", "UPDATED_BY", "MOVED_BY", "ASSIGNED_BY_ID"] {
            record.set(name, user.clone());
        }
        for name in ["CREATED_TIME", "UPDATED_TIME", "MOVED_TIME"] {
            record.set(name, Scalar::DateTime(now));
        }
        record.set("CATEGORY_ID", Scalar::Int(category as i64));
        record.set("OPENED", Scalar::Str("Y".to_owned()));
        record.set("STAGE_ID", Scalar::Str(stage));
        record.set(
            "BEGINDATE",
            Scalar::Date(self.offset.to_datetime(now).date()),
        );
        let due = clock::days_after(now, 10);
        record.set(
            "CLOSEDATE",
            Scalar::Date(self.offset.to_datetime(due).date()),
        );
        record.set("COMPANY_ID", Scalar::Int(0));
        record.set(
            "CONTACT_ID",
            Scalar::Int(new.contact_id.unwrap_or(0) as i64),
        );
        record.set(
            "CONTACT_IDS",
            Scalar::IntList(new.contact_id.map(|c| vec![c as i64]).unwrap_or_default()),
        );
        record.set("OBSERVERS", Scalar::IntList(Vec::new()));
        record.set("OPPORTUNITY", Scalar::Decimal(new.amount));
        record.set("IS_MANUAL_OPPORTUNITY", Scalar::Str("Y".to_owned()));
        record.set("TAX_VALUE", Scalar::Decimal(Decimal::ZERO));
        record.set("CURRENCY_ID", Scalar::Str(new.currency));
        record.set("MYCOMPANY_ID", Scalar::Int(1));
        record.set_opt("PARENT_ID_2", new.deal_id.map(|d| Scalar::Int(d as i64)));
        self.smart_invoices.insert(record);

        self.emit_dynamic("ONCRMDYNAMICITEMADD", id);
        Ok(id)
    }

    /// Changes fields and the stage of a smart invoice and reports `ONCRMDYNAMICITEMUPDATE`.
    pub(crate) fn update_smart_invoice(
        &mut self,
        id: u64,
        std: Vec<(&'static str, Option<Scalar>)>,
        stage: Option<String>,
        user: u64,
    ) -> Result<()> {
        let Some(current) = self.smart_invoices.get(id) else {
            return Err(EmulatorError::NotFound {
                entity: "smart invoice",
                id,
            });
        };
        let category = current.int("CATEGORY_ID").unwrap_or(0) as u64;
        if let Some(stage) = &stage
            && self
                .stage_in(pipelines::SMART_INVOICE, category, stage)
                .is_none()
        {
            return Err(EmulatorError::UnknownStage {
                stage: stage.clone(),
                category,
            });
        }
        let now = self.now();

        self.smart_invoices.update(id, |record| {
            for (name, value) in std {
                record.set_opt(name, value);
            }
            if let Some(stage) = stage
                && record.text("STAGE_ID") != Some(stage.as_str())
            {
                let previous = record.get("STAGE_ID").cloned();
                record.set_opt("PREVIOUS_STAGE_ID", previous);
                record.set("STAGE_ID", Scalar::Str(stage));
                record.set("MOVED_TIME", Scalar::DateTime(now));
                record.set("MOVED_BY", Scalar::Int(user as i64));
            }
            record.set("UPDATED_TIME", Scalar::DateTime(now));
            record.set("UPDATED_BY", Scalar::Int(user as i64));
        });
        self.emit_dynamic("ONCRMDYNAMICITEMUPDATE", id);
        Ok(())
    }

    /// Moves a smart invoice to the success stage of its pipeline.
    pub(crate) fn pay_smart_invoice(&mut self, id: u64, user: u64) -> Result<()> {
        let Some(current) = self.smart_invoices.get(id) else {
            return Err(EmulatorError::NotFound {
                entity: "smart invoice",
                id,
            });
        };
        let category = current.int("CATEGORY_ID").unwrap_or(0) as u64;
        let paid = self
            .stages(pipelines::SMART_INVOICE, category)
            .into_iter()
            .find(|row| row.semantics == Some(StageSemantics::Success))
            .map(|row| row.status_id.clone())
            .ok_or_else(|| EmulatorError::UnknownStage {
                stage: "<success stage>".to_owned(),
                category,
            })?;
        self.update_smart_invoice(id, Vec::new(), Some(paid), user)
    }

    /// Deletes a smart invoice and reports `ONCRMDYNAMICITEMDELETE`.
    pub(crate) fn delete_smart_invoice(&mut self, id: u64) -> Result<()> {
        if self.smart_invoices.remove(id).is_none() {
            return Err(EmulatorError::NotFound {
                entity: "smart invoice",
                id,
            });
        }
        self.emit_dynamic("ONCRMDYNAMICITEMDELETE", id);
        Ok(())
    }

    /// Inserts a legacy invoice and reports `ONCRMINVOICEADD`; returns its id.
    pub(crate) fn create_legacy_invoice(&mut self, new: NewLegacyInvoiceRecord) -> Result<u64> {
        self.check_invoice_status(&new.status)?;
        let now = self.now();
        let id = self.legacy_invoices.allocate_id();

        let mut record = Record {
            id,
            ..Record::default()
        };
        record.set("ID", Scalar::Int(id as i64));
        record.set("ACCOUNT_NUMBER", Scalar::Str(format!("{id}")));
        record.set("ORDER_TOPIC", Scalar::Str(new.topic));
        record.set("PRICE", Scalar::Decimal(new.price));
        record.set("CURRENCY", Scalar::Str(new.currency));
        record.set(
            "DATE_BILL",
            Scalar::Date(self.offset.to_datetime(now).date()),
        );
        let due = clock::days_after(now, 10);
        record.set(
            "DATE_PAY_BEFORE",
            Scalar::Date(self.offset.to_datetime(due).date()),
        );
        record.set("DATE_INSERT", Scalar::DateTime(now));
        record.set("DATE_UPDATE", Scalar::DateTime(now));
        record.set("PERSON_TYPE_ID", Scalar::Int(1));
        record.set("RESPONSIBLE_ID", Scalar::Int(new.user as i64));
        record.set("UF_DEAL_ID", Scalar::Int(new.deal_id.unwrap_or(0) as i64));
        record.set(
            "UF_CONTACT_ID",
            Scalar::Int(new.contact_id.unwrap_or(0) as i64),
        );
        record.set("UF_COMPANY_ID", Scalar::Int(0));
        record.set("UF_MYCOMPANY_ID", Scalar::Int(1));
        apply_invoice_status(&mut record, new.status, now);
        self.legacy_invoices.insert(record);

        self.emit("ONCRMINVOICEADD", id, None);
        Ok(id)
    }

    /// Sets a legacy invoice's status; `P` marks it paid.
    ///
    /// Reports `ONCRMINVOICEUPDATE` and `ONCRMINVOICESETSTATUS`.
    // NOTE: whether the portal sends both events for one status change is not
    // documented; the server code fires each from its own operation.
    pub(crate) fn set_legacy_invoice_status(&mut self, id: u64, status: &str) -> Result<()> {
        self.check_invoice_status(status)?;
        let now = self.now();
        let updated = self.legacy_invoices.update(id, |record| {
            apply_invoice_status(record, status.to_owned(), now);
            record.set("DATE_UPDATE", Scalar::DateTime(now));
        });
        if updated.is_none() {
            return Err(EmulatorError::NotFound {
                entity: "legacy invoice",
                id,
            });
        }
        self.emit("ONCRMINVOICEUPDATE", id, None);
        self.emit("ONCRMINVOICESETSTATUS", id, None);
        Ok(())
    }

    /// Deletes a legacy invoice and reports `ONCRMINVOICEDELETE`.
    pub(crate) fn delete_legacy_invoice(&mut self, id: u64) -> Result<()> {
        if self.legacy_invoices.remove(id).is_none() {
            return Err(EmulatorError::NotFound {
                entity: "legacy invoice",
                id,
            });
        }
        self.emit("ONCRMINVOICEDELETE", id, None);
        Ok(())
    }

    pub(crate) fn default_smart_category(&self) -> Result<u64> {
        self.default_category(pipelines::SMART_INVOICE)
            .map(|c| c.id)
            .ok_or(EmulatorError::NotFound {
                entity: "smart-invoice pipeline",
                id: 0,
            })
    }

    fn first_smart_stage(&self, category: u64) -> Result<String> {
        self.stages(pipelines::SMART_INVOICE, category)
            .first()
            .map(|row| row.status_id.clone())
            .ok_or_else(|| EmulatorError::UnknownStage {
                stage: "<first stage>".to_owned(),
                category,
            })
    }

    fn check_invoice_status(&self, status: &str) -> Result<()> {
        let known = self
            .statuses
            .iter()
            .any(|row| row.entity_id == "INVOICE_STATUS" && row.status_id == status);
        if known {
            Ok(())
        } else {
            Err(EmulatorError::InvalidValue {
                field: "STATUS_ID".to_owned(),
                reason: format!("unknown invoice status {status:?}"),
            })
        }
    }

    /// Reports a smart-invoice event under its generic and its per-type name.
    fn emit_dynamic(&mut self, name: &str, id: u64) {
        self.emit(name, id, SMART);
        self.emit(format!("{name}_{}", pipelines::SMART_INVOICE), id, SMART);
    }
}

fn apply_invoice_status(record: &mut Record, status: String, now: jiff::Timestamp) {
    let paid = status == "P";
    record.set("STATUS_ID", Scalar::Str(status));
    record.set("DATE_STATUS", Scalar::DateTime(now));
    record.set(
        "PAYED",
        Scalar::Str(if paid { "Y" } else { "N" }.to_owned()),
    );
    record.set_opt("DATE_PAYED", paid.then_some(Scalar::DateTime(now)));
}
