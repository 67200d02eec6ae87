//! The `[invoices]`, `[accounts]` and `[branding]` sections.

use serde::Deserialize;

use super::check;
use crate::credentials::HashParams;
use crate::deal::Deal;
use crate::error::Result;
use crate::ids::ContactId;

/// Rules that decide which invoices are the client's.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvoicesConfig {
    /// Whether invoices billed to the deal's contact count too.
    pub linkage: InvoiceLinkage,
    /// The invoice subsystem the portal uses.
    pub source: InvoiceSource,
}

/// The link between an invoice and a client that makes the invoice count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceLinkage {
    /// Only invoices bound to the client's deal.
    #[default]
    Deal,
    /// Invoices bound to the deal and those billed to the deal's contact.
    DealAndContact,
}

impl InvoiceLinkage {
    /// Returns the contact whose invoices count for the deal, if any.
    pub fn contact_of(self, deal: &Deal) -> Option<ContactId> {
        match self {
            InvoiceLinkage::Deal => None,
            InvoiceLinkage::DealAndContact => deal.contact_id,
        }
    }
}

/// The Bitrix24 invoice subsystem to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceSource {
    /// Smart invoices (`crm.item.*`, entity type 31).
    Smart,
    /// Legacy invoices (`crm.invoice.*`).
    Legacy,
    /// Both subsystems.
    Both,
    /// Detect which subsystem has invoices.
    #[default]
    Auto,
}

/// Rules for generating logins, passwords and referral codes, and for hashing passwords.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// The start of every login (lower-case Latin letters, digits, `_` or `-`).
    pub login_prefix: String,
    /// Random characters after the prefix.
    pub login_random_length: u32,
    /// Length of generated passwords.
    pub password_length: u32,
    /// The start of every referral code (capital Latin letters, digits or `-`).
    pub referral_prefix: String,
    /// Random characters after the referral prefix.
    pub referral_random_length: u32,
    /// Argon2id memory cost in KiB.
    pub hash_memory_kib: u32,
    /// Argon2id iterations.
    pub hash_iterations: u32,
    /// Argon2id lanes.
    pub hash_parallelism: u32,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        let hash = HashParams::default();
        Self {
            login_prefix: "lk".to_owned(),
            login_random_length: 6,
            password_length: 10,
            referral_prefix: String::new(),
            referral_random_length: 8,
            hash_memory_kib: hash.memory_kib,
            hash_iterations: hash.iterations,
            hash_parallelism: hash.parallelism,
        }
    }
}

impl AccountsConfig {
    /// Returns the Argon2id parameters.
    pub fn hash_params(&self) -> HashParams {
        HashParams {
            memory_kib: self.hash_memory_kib,
            iterations: self.hash_iterations,
            parallelism: self.hash_parallelism,
        }
    }

    pub(super) fn validate(&self) -> Result<()> {
        check::charset(
            "accounts.login_prefix",
            &self.login_prefix,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-',
            16,
            "lower-case Latin letters, digits, _ or -",
        )?;
        check::charset(
            "accounts.referral_prefix",
            &self.referral_prefix,
            |c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-',
            16,
            "capital Latin letters, digits or -",
        )?;
        check::range(
            "accounts.login_random_length",
            self.login_random_length,
            4,
            32,
        )?;
        check::range("accounts.password_length", self.password_length, 8, 64)?;
        check::range(
            "accounts.referral_random_length",
            self.referral_random_length,
            4,
            32,
        )?;
        check::range("accounts.hash_parallelism", self.hash_parallelism, 1, 16)?;
        check::range("accounts.hash_iterations", self.hash_iterations, 1, 16)?;
        // Argon2 needs at least 8 KiB per lane.
        check::range(
            "accounts.hash_memory_kib",
            self.hash_memory_kib,
            8 * self.hash_parallelism,
            1_048_576,
        )?;
        Ok(())
    }
}

/// The firm's name and contacts, and texts shown on the pages.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrandingConfig {
    /// The firm's name in page headers.
    pub company_name: String,
    /// A phone number for clients; hidden when empty.
    pub phone: String,
    /// An e-mail address for clients; hidden when empty.
    pub email: String,
    /// How to contact the firm, shown on the debtor page.
    pub contact_text: String,
    /// The reason for the blocked cabinet, shown on the debtor page.
    pub debtor_text: String,
}

impl Default for BrandingConfig {
    fn default() -> Self {
        Self {
            company_name: "Юридическая компания".to_owned(),
            phone: String::new(),
            email: String::new(),
            contact_text: "Чтобы погасить задолженность или уточнить сумму, \
                           свяжитесь с вашим юристом или с офисом компании."
                .to_owned(),
            debtor_text: "Доступ к личному кабинету приостановлен: по договору есть \
                          задолженность по оплате. После оплаты кабинет снова откроется."
                .to_owned(),
        }
    }
}

impl BrandingConfig {
    /// Returns the phone number, when set.
    pub fn phone(&self) -> Option<&str> {
        non_blank(&self.phone)
    }

    /// Returns the e-mail address, when set.
    pub fn email(&self) -> Option<&str> {
        non_blank(&self.email)
    }

    pub(super) fn validate(&self) -> Result<()> {
        check::not_blank(
            "branding.company_name",
            &self.company_name,
            "the firm's name",
        )?;
        check::not_blank(
            "branding.contact_text",
            &self.contact_text,
            "a contact text",
        )?;
        check::not_blank(
            "branding.debtor_text",
            &self.debtor_text,
            "a text for the debtor page",
        )?;
        if let Some(email) = self.email()
            && !is_email(email)
        {
            return Err(check::invalid(
                "branding.email",
                format!(
                    "an e-mail address such as office@example.ru, or an empty string, \
                     found {email:?}"
                ),
            ));
        }
        Ok(())
    }
}

fn non_blank(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

fn is_email(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !text.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("office@example.ru", true)]
    #[case("юрист@пример.рф", true)]
    #[case("office@example", false)]
    #[case("office.example.ru", false)]
    #[case("a@b@example.ru", false)]
    #[case("office @example.ru", false)]
    #[case("@example.ru", false)]
    fn email_form(#[case] text: &str, #[case] valid: bool) {
        assert_eq!(is_email(text), valid);
    }
}
