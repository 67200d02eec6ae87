//! The cabinet's configuration: everything firm-specific, loaded from TOML.
//!
//! Every key has the firm's default built in, so an empty file is a valid
//! configuration apart from the Bitrix24 secrets, which may come from the
//! environment instead (see [`LkConfig::apply_env`]). Unknown keys and values
//! of the wrong form are rejected with the dotted key and the expected form.

mod accounts;
mod bitrix24;
mod check;
mod de;
mod fields;
mod pipeline;
mod template;
mod text;
mod web;

use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

pub use accounts::{AccountsConfig, BrandingConfig, InvoiceLinkage, InvoiceSource, InvoicesConfig};
pub use bitrix24::Bitrix24Config;
pub use fields::{DocumentConfig, FieldsConfig, TriggerConfig};
pub use pipeline::{PipelineConfig, StatusesConfig};
pub use web::{StoreConfig, SyncConfig, WebConfig};

use crate::error::{Error, Result};
use crate::pipeline::Pipeline;

/// The environment variable that overrides `bitrix24.webhook_url`.
pub const ENV_WEBHOOK_URL: &str = "LK_B24_WEBHOOK_URL";

/// The environment variable that overrides `bitrix24.application_tokens` (comma-separated).
pub const ENV_APPLICATION_TOKENS: &str = "LK_B24_APPLICATION_TOKENS";

/// Everything firm-specific, one field per section of `lk.toml`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LkConfig {
    /// `[bitrix24]`: the portal and its secrets.
    pub bitrix24: Bitrix24Config,
    /// `[web]`: the web server.
    pub web: WebConfig,
    /// `[store]`: the SQLite file.
    pub store: StoreConfig,
    /// `[fields]`: deal user-field codes.
    pub fields: FieldsConfig,
    /// `[trigger]`: when an account is created.
    pub trigger: TriggerConfig,
    /// `[[documents]]`: the document checklist in page order.
    pub documents: Vec<DocumentConfig>,
    /// `[pipeline]`: the case pipeline and the debtor stages.
    pub pipeline: PipelineConfig,
    /// `[statuses]`: the statuses page.
    pub statuses: StatusesConfig,
    /// `[invoices]`: which invoices are the client's.
    pub invoices: InvoicesConfig,
    /// `[accounts]`: login, password and referral code generation.
    pub accounts: AccountsConfig,
    /// `[sync]`: periodic resync.
    pub sync: SyncConfig,
    /// `[branding]`: the firm's name, contacts and page texts.
    pub branding: BrandingConfig,
}

impl Default for LkConfig {
    fn default() -> Self {
        Self {
            bitrix24: Bitrix24Config::default(),
            web: WebConfig::default(),
            store: StoreConfig::default(),
            fields: FieldsConfig::default(),
            trigger: TriggerConfig::default(),
            documents: fields::default_documents(),
            pipeline: PipelineConfig::default(),
            statuses: StatusesConfig::default(),
            invoices: InvoicesConfig::default(),
            accounts: AccountsConfig::default(),
            sync: SyncConfig::default(),
            branding: BrandingConfig::default(),
        }
    }
}

impl LkConfig {
    /// Parses and validates a configuration from TOML text.
    ///
    /// Missing keys take the defaults. Fails with [`Error::ConfigSyntax`] for
    /// invalid TOML or an unknown key and with [`Error::ConfigValue`] for a
    /// value of the wrong form, both naming the dotted key.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        let config: Self = de::parse(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::ConfigSyntax {
            message: format!("cannot read {}: {error}", path.display()),
        })?;

        Self::from_toml_str(&text).map_err(|error| match error {
            Error::ConfigSyntax { message } => Error::ConfigSyntax {
                message: format!("{}: {message}", path.display()),
            },
            other => other,
        })
    }

    /// Applies the secrets given in the environment over the file's values.
    ///
    /// `lookup` returns a variable's value (`|name| std::env::var(name).ok()`
    /// in binaries, a map in tests). [`ENV_WEBHOOK_URL`] replaces the webhook
    /// URL; [`ENV_APPLICATION_TOKENS`] replaces the token list with its
    /// comma-separated items. Unset or blank variables change nothing. Fails
    /// when the webhook URL from the environment is not an http(s) URL.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(url) = lookup(ENV_WEBHOOK_URL).filter(|url| !url.trim().is_empty()) {
            let url = SecretString::from(url.trim());
            bitrix24::validate_webhook_url(ENV_WEBHOOK_URL, &url)?;
            self.bitrix24.webhook_url = Some(url);
        }

        if let Some(list) = lookup(ENV_APPLICATION_TOKENS) {
            let tokens: Vec<SecretString> = list
                .split(',')
                .map(str::trim)
                .filter(|token| !token.is_empty())
                .map(SecretString::from)
                .collect();
            if !tokens.is_empty() {
                self.bitrix24.application_tokens = tokens;
            }
        }
        Ok(())
    }

    /// Checks every value; [`LkConfig::from_toml_str`] calls it, and callers
    /// that build or change a configuration in code may call it too.
    pub fn validate(&self) -> Result<()> {
        self.bitrix24.validate()?;
        self.web.validate()?;
        self.store.validate()?;
        self.fields.validate()?;
        fields::validate_distinct(&self.fields)?;
        self.trigger.validate()?;
        fields::validate_documents(&self.documents, &self.fields)?;
        self.pipeline.validate()?;
        self.statuses.validate()?;
        self.accounts.validate()?;
        self.sync.validate()?;
        self.branding.validate()?;
        Ok(())
    }

    /// Returns a commented `lk.toml` with every key at its default, for `lk-cli config init`.
    pub fn template_toml() -> String {
        template::render(&Self::default())
    }

    /// Returns the configured case pipeline among `pipelines`, if present.
    pub fn find_pipeline<'a>(&self, pipelines: &'a [Pipeline]) -> Option<&'a Pipeline> {
        self.pipeline.find(pipelines)
    }
}

#[cfg(test)]
mod tests;
