//! Writing back to the client's deal: credentials, last login, referral code, documents.

use bitrix_lk_core::{DealId, FieldCode, FieldWrite, Result as CoreResult};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::entity::EntityType;
use crate::error::{Error, Result};
use crate::lk::LkCrm;
use crate::lk::errors::{copy_to_core, to_core};
use crate::lk::mapping;
use crate::retry::Idempotency;

/// The outcome of preparing one write.
enum Prepared {
    /// Send these fields to the deal.
    Fields(Map<String, Value>),
    /// Nothing to write (no referral-code field configured).
    Nothing,
}

impl LkCrm {
    /// Builds the `fields` of one write, with the last login in the field's own type.
    async fn prepare(&self, write: &FieldWrite) -> Result<Prepared> {
        let codes = &self.config.fields;
        let mut fields = Map::new();
        match write {
            FieldWrite::Credentials {
                login, password, ..
            } => {
                fields.insert(codes.login.0.clone(), json!(login.as_str()));
                fields.insert(codes.password.0.clone(), json!(password.expose()));
            }
            FieldWrite::LastLogin { at, .. } => {
                fields.insert(
                    codes.last_login.0.clone(),
                    json!(self.last_login_text(*at).await?),
                );
            }
            FieldWrite::ReferralCode { code, .. } => match &codes.referral_code {
                Some(field) => {
                    fields.insert(field.0.clone(), json!(code.as_str()));
                }
                None => return Ok(Prepared::Nothing),
            },
        }
        Ok(Prepared::Fields(fields))
    }

    async fn last_login_text(&self, at: Timestamp) -> Result<String> {
        let table = self.metadata.fields(&self.client, false).await?;
        let kind = table
            .specs
            .get(self.config.fields.last_login.as_str())
            .map(|spec| &spec.kind);
        mapping::last_login_text(kind, at)
    }

    pub(super) async fn write_one(&self, write: &FieldWrite) -> CoreResult<()> {
        let fields = match self.prepare(write).await.map_err(to_core)? {
            Prepared::Fields(fields) => fields,
            Prepared::Nothing => return Ok(()),
        };

        let mut update = self
            .client
            .deals()
            .update(write.deal())
            .register_sonet_event(false);
        for (name, value) in fields {
            update = update.field(name, value);
        }
        update.send().await.map_err(to_core)?;
        tracing::info!(deal = %write.deal(), write = write_name(write), "wrote deal fields");
        Ok(())
    }

    /// Sends several writes as `crm.deal.update` commands of one batch (50 per request).
    pub(super) async fn write_many(&self, writes: &[FieldWrite]) -> Vec<CoreResult<()>> {
        if let [only] = writes {
            return vec![self.write_one(only).await];
        }

        let mut outcomes: Vec<Option<CoreResult<()>>> = Vec::with_capacity(writes.len());
        let mut batch = self
            .client
            .batch()
            .idempotency(Idempotency::IdempotentWrite);
        for (index, write) in writes.iter().enumerate() {
            let outcome = match self.prepare(write).await {
                Ok(Prepared::Fields(fields)) => {
                    let params = json!({"id": write.deal().get(), "fields": fields, "params": {"REGISTER_SONET_EVENT": "N"}});
                    batch
                        .add(format!("w{index}"), "crm.deal.update", &params)
                        .err()
                        .map(to_core)
                        .map(Err)
                }
                Ok(Prepared::Nothing) => Some(Ok(())),
                Err(error) => Some(Err(to_core(error))),
            };
            outcomes.push(outcome);
        }
        if batch.is_empty() {
            return outcomes
                .into_iter()
                .map(|outcome| outcome.unwrap_or(Ok(())))
                .collect();
        }

        let results = batch.send().await;
        writes
            .iter()
            .zip(outcomes)
            .enumerate()
            .map(|(index, (write, outcome))| {
                outcome.unwrap_or_else(|| match &results {
                    Ok(results) => {
                        command_outcome(results.get::<Value>(&format!("w{index}")), write)
                    }
                    Err(error) => Err(copy_to_core(error)),
                })
            })
            .collect()
    }

    pub(super) async fn attach(
        &self,
        deal: DealId,
        field: &FieldCode,
        file_name: &str,
        bytes: &[u8],
    ) -> CoreResult<()> {
        let multiple = match self.metadata.fields(&self.client, false).await {
            Ok(table) => table
                .specs
                .get(field.as_str())
                .is_none_or(|spec| spec.multiple),
            Err(error) => return Err(to_core(error)),
        };

        let outcome = self
            .client
            .items()
            .attach_file(EntityType::Deal, deal.get(), field.as_str())
            .multiple(multiple)
            .send(file_name, bytes)
            .await
            .map_err(to_core)?;
        tracing::info!(deal = %deal, field = field.as_str(), files = outcome.after.len(), "attached a document");
        Ok(())
    }
}

fn command_outcome(result: Result<Value>, write: &FieldWrite) -> CoreResult<()> {
    match result {
        Ok(Value::Bool(true)) => {
            tracing::info!(deal = %write.deal(), write = write_name(write), "wrote deal fields");
            Ok(())
        }
        Ok(other) => Err(to_core(Error::WriteNotApplied {
            method: "crm.deal.update".to_owned(),
            detail: format!("deal {} returned {other} instead of true", write.deal()),
        })),
        Err(error) => Err(to_core(error)),
    }
}

fn write_name(write: &FieldWrite) -> &'static str {
    match write {
        FieldWrite::Credentials { .. } => "credentials",
        FieldWrite::LastLogin { .. } => "last_login",
        FieldWrite::ReferralCode { .. } => "referral_code",
    }
}
