//! Account provisioning: exactly one account per deal, its credentials
//! queued for Bitrix24, and password resets and changes.
//!
//! The store creates the account and queues its write-backs in one
//! transaction keyed by the deal id, so concurrent events, resyncs and
//! several processes never create a second account or overwrite a password
//! that was handed out. Within one process, calls for the same deal also
//! wait for each other, so a burst of events costs one password hash, not
//! one per event.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::Timestamp;
use tracing::{debug, info, warn};

use crate::account::{Account, Login, PasswordHash};
use crate::config::LkConfig;
use crate::credentials::{Argon2Hasher, CredentialGenerator};
use crate::deal::Deal;
use crate::error::{Error, Result};
use crate::ids::DealId;
use crate::store::{CreateAccount, Store};
use crate::sync::{Password, WriteBack};

/// How many fresh login and referral-code pairs are tried when one is taken.
const MAX_CREATE_ATTEMPTS: u32 = 5;

/// The minimum length of a password the client chooses.
pub const MIN_PASSWORD_LENGTH: usize = 8;

/// The maximum length of a password the client chooses (a guard against
/// hashing megabytes).
pub const MAX_PASSWORD_LENGTH: usize = 128;

/// The result of [`Provisioner::provision`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProvisionOutcome {
    /// The trigger field does not ask for an account.
    NotTriggered,
    /// The deal already has an account; nothing was changed.
    AlreadyExists {
        /// The existing login.
        login: Login,
    },
    /// A new account was created and its credentials queued for Bitrix24.
    Created {
        /// The new login.
        login: Login,
    },
}

/// The result of [`Provisioner::change_password`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordChange {
    /// The password was changed and the deal's sessions ended.
    Changed,
    /// The current password given is wrong; nothing changed.
    WrongCurrentPassword,
    /// The new password breaks a rule; nothing changed.
    Rejected(PasswordRule),
}

/// A rule a new password must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordRule {
    /// Shorter than [`MIN_PASSWORD_LENGTH`] characters.
    TooShort,
    /// Longer than [`MAX_PASSWORD_LENGTH`] characters.
    TooLong,
    /// Equal to the login.
    SameAsLogin,
    /// Equal to the current password.
    SameAsCurrent,
}

/// Shows the rule as the client reads it, in Russian.
impl fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordRule::TooShort => {
                write!(
                    f,
                    "Пароль должен быть не короче {MIN_PASSWORD_LENGTH} символов."
                )
            }
            PasswordRule::TooLong => {
                write!(
                    f,
                    "Пароль должен быть не длиннее {MAX_PASSWORD_LENGTH} символов."
                )
            }
            PasswordRule::SameAsLogin => f.write_str("Пароль не должен совпадать с логином."),
            PasswordRule::SameAsCurrent => {
                f.write_str("Новый пароль должен отличаться от текущего.")
            }
        }
    }
}

/// Creates client accounts and changes their passwords.
///
/// Clones share the per-deal locks, so every clone serialises work on a deal.
#[derive(Clone)]
pub struct Provisioner {
    store: Arc<dyn Store>,
    config: Arc<LkConfig>,
    generator: CredentialGenerator,
    hasher: Argon2Hasher,
    deal_locks: Arc<DealLocks>,
}

impl fmt::Debug for Provisioner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provisioner")
            .field("generator", &self.generator)
            .field("hasher", &self.hasher)
            .finish_non_exhaustive()
    }
}

impl Provisioner {
    /// Builds a provisioner with the generator and hasher of `config.accounts`.
    ///
    /// A validated configuration always has usable hash parameters. When a
    /// configuration changed in code has unusable ones, the OWASP defaults
    /// are used and a warning is logged.
    pub fn new(store: Arc<dyn Store>, config: Arc<LkConfig>) -> Self {
        let generator = CredentialGenerator::new(&config.accounts);
        let hasher = Argon2Hasher::new(config.accounts.hash_params()).unwrap_or_else(|error| {
            warn!(%error, "unusable accounts.hash_* parameters, using the defaults");
            Argon2Hasher::default()
        });
        Self::with_parts(store, config, generator, hasher)
    }

    /// Builds a provisioner with an explicit generator and hasher.
    pub fn with_parts(
        store: Arc<dyn Store>,
        config: Arc<LkConfig>,
        generator: CredentialGenerator,
        hasher: Argon2Hasher,
    ) -> Self {
        Self {
            store,
            config,
            generator,
            hasher,
            deal_locks: Arc::default(),
        }
    }

    /// Returns the password hasher, for checking logins.
    pub fn hasher(&self) -> &Argon2Hasher {
        &self.hasher
    }

    /// Creates the deal's account when the trigger field requests one and
    /// the deal has none yet.
    ///
    /// The account is stored together with the write-backs of the login and
    /// password (and of the referral code when `fields.referral_code` is
    /// set). A login or referral code taken by another deal is regenerated a
    /// few times. An existing account is never changed.
    pub async fn provision(&self, deal: &Deal) -> Result<ProvisionOutcome> {
        if !self
            .config
            .trigger
            .is_triggered(deal.field(&self.config.fields.trigger))
        {
            return Ok(ProvisionOutcome::NotTriggered);
        }

        let _guard = self.deal_locks.lock(deal.id).await;
        if let Some(account) = self.store.account_by_deal(deal.id).await? {
            debug!(deal.id = %deal.id, "deal already has an account");
            return Ok(ProvisionOutcome::AlreadyExists {
                login: account.login,
            });
        }

        let password = self.generator.password()?;
        let password_hash = self.hasher.hash(&password).await?;

        for attempt in 1..=MAX_CREATE_ATTEMPTS {
            let outcome = self
                .try_create(deal.id, &password, &password_hash, attempt)
                .await?;
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
        }

        Err(Error::Conflict {
            what: format!(
                "a free login and referral code for deal {} after {MAX_CREATE_ATTEMPTS} attempts",
                deal.id
            ),
        })
    }

    /// Makes one attempt with a fresh login and referral code. Returns `None`
    /// when another deal has taken either of them, so the caller retries.
    async fn try_create(
        &self,
        deal: DealId,
        password: &Password,
        password_hash: &PasswordHash,
        attempt: u32,
    ) -> Result<Option<ProvisionOutcome>> {
        let now = Timestamp::now();
        let account = Account {
            deal_id: deal,
            login: self.generator.login()?,
            password_hash: password_hash.clone(),
            referral_code: self.generator.referral_code()?,
            created_at: now,
            password_changed_at: now,
            last_login_at: None,
        };
        let writes = self.creation_writes(&account, password);

        match self.store.create_account(&account, &writes).await {
            Ok(CreateAccount::Created) => {
                info!(deal.id = %deal, login = %account.login, "client account created");
                Ok(Some(ProvisionOutcome::Created {
                    login: account.login,
                }))
            }
            Ok(CreateAccount::AlreadyExists(existing)) => {
                debug!(deal.id = %deal, "account created concurrently elsewhere");
                Ok(Some(ProvisionOutcome::AlreadyExists {
                    login: existing.login,
                }))
            }
            Err(Error::Conflict { what: conflict }) => {
                // A unique-key race with another process may also surface as
                // a conflict, so check whether the deal got its account.
                if let Some(existing) = self.store.account_by_deal(deal).await? {
                    return Ok(Some(ProvisionOutcome::AlreadyExists {
                        login: existing.login,
                    }));
                }
                warn!(
                    deal.id = %deal,
                    attempt,
                    %conflict,
                    "generated credentials are taken, retrying"
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    fn creation_writes(&self, account: &Account, password: &Password) -> Vec<WriteBack> {
        let mut writes = vec![WriteBack::Credentials {
            deal_id: account.deal_id,
            login: account.login.clone(),
            password: password.clone(),
        }];
        if self.config.fields.referral_code.is_some() {
            writes.push(WriteBack::ReferralCode {
                deal_id: account.deal_id,
                code: account.referral_code.clone(),
            });
        }
        writes
    }

    /// Sets a new random password for the deal's account and queues it for
    /// the deal's credential fields, for the administrator's CLI. Ends the
    /// deal's sessions. Fails with [`Error::NotFound`] when the deal has no account.
    pub async fn reset_password(&self, deal: DealId) -> Result<Login> {
        let _guard = self.deal_locks.lock(deal).await;
        let account = self.require_account(deal).await?;

        let password = self.generator.password()?;
        let hash = self.hasher.hash(&password).await?;
        let writes = [WriteBack::Credentials {
            deal_id: deal,
            login: account.login.clone(),
            password,
        }];
        self.store
            .set_password(deal, &hash, Timestamp::now(), &writes)
            .await?;

        info!(deal.id = %deal, "password reset by administrator");
        Ok(account.login)
    }

    /// Changes the password at the client's request after checking the
    /// current one. The new password is not written to the deal: staff must
    /// not see a password the client chose. Ends the deal's sessions, so the
    /// caller starts a fresh one. Fails with [`Error::NotFound`] when the
    /// deal has no account.
    pub async fn change_password(
        &self,
        deal: DealId,
        current: &str,
        new: &str,
    ) -> Result<PasswordChange> {
        let _guard = self.deal_locks.lock(deal).await;
        let account = self.require_account(deal).await?;

        if !self.hasher.verify(&account.password_hash, current).await? {
            info!(deal.id = %deal, "password change rejected: wrong current password");
            return Ok(PasswordChange::WrongCurrentPassword);
        }
        if let Some(rule) = broken_rule(&account.login, current, new) {
            return Ok(PasswordChange::Rejected(rule));
        }

        let hash = self.hasher.hash(&Password::new(new.to_owned())).await?;
        let now = Timestamp::now();
        // Staff read the password field to help the client; a note replaces
        // the handed-out password there, so no one reads out a stale one.
        let note = WriteBack::Credentials {
            deal_id: deal,
            login: account.login.clone(),
            password: Password::new(client_changed_note(now)),
        };
        self.store.set_password(deal, &hash, now, &[note]).await?;

        info!(deal.id = %deal, "password changed by client");
        Ok(PasswordChange::Changed)
    }

    /// Checks a login attempt: returns the account when the login exists and
    /// the password matches. Takes about as long for an unknown login, so the
    /// response time does not reveal which logins exist. Throttling is the
    /// caller's job.
    pub async fn authenticate(&self, login: &Login, password: &str) -> Result<Option<Account>> {
        let account = self.store.account_by_login(login).await?;
        let hash = account.as_ref().map(|account| &account.password_hash);

        let valid = self.hasher.verify_or_dummy(hash, password).await?;
        Ok(account.filter(|_| valid))
    }

    async fn require_account(&self, deal: DealId) -> Result<Account> {
        self.store
            .account_by_deal(deal)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("account of deal {deal}"),
            })
    }
}

/// Returns the first rule a client's new password breaks.
fn broken_rule(login: &Login, current: &str, new: &str) -> Option<PasswordRule> {
    let length = new.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Some(PasswordRule::TooShort);
    }
    if length > MAX_PASSWORD_LENGTH {
        return Some(PasswordRule::TooLong);
    }
    if new.trim().to_lowercase() == login.as_str() {
        return Some(PasswordRule::SameAsLogin);
    }
    if new == current {
        return Some(PasswordRule::SameAsCurrent);
    }
    None
}

/// One async lock per deal, dropped when no task holds or waits for it.
#[derive(Default)]
struct DealLocks {
    locks: Mutex<HashMap<DealId, Arc<tokio::sync::Mutex<()>>>>,
}

impl DealLocks {
    async fn lock(&self, deal: DealId) -> DealGuard<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(deal).or_default())
        };
        let guard = Arc::clone(&lock).lock_owned().await;
        DealGuard {
            owner: self,
            deal,
            lock,
            _guard: guard,
        }
    }
}

struct DealGuard<'a> {
    owner: &'a DealLocks,
    deal: DealId,
    lock: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for DealGuard<'_> {
    fn drop(&mut self) {
        let mut locks = self
            .owner
            .locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The map, this guard's `lock` and the owned guard hold the Arc; any
        // further reference is a caller waiting for this deal.
        if Arc::strong_count(&self.lock) <= 3 {
            locks.remove(&self.deal);
        }
    }
}

/// Returns the text written into the deal's password field when the client
/// chose their own password: «изменён клиентом 04.12.2026» (Moscow date).
fn client_changed_note(at: Timestamp) -> String {
    let date = jiff::tz::TimeZone::get("Europe/Moscow")
        .map(|zone| at.to_zoned_datetime(zone).strftime("%d.%m.%Y").to_string())
        .unwrap_or_default();
    format!("изменён клиентом {date}").trim_end().to_owned()
}

#[cfg(test)]
mod tests;
