//! Generation of logins, passwords and referral codes, and Argon2id hashing.
//!
//! Random characters come from the operating system's CSPRNG and from
//! alphabets without look-alike characters (no `0`/`O`/`o`, `1`/`l`/`I`/`i`),
//! because staff dictate credentials over the phone and clients retype them.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{self, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::TryRngCore;
use rand::rngs::OsRng;
use tokio::sync::Semaphore;

use crate::account::{Login, PasswordHash, ReferralCode};
use crate::config::AccountsConfig;
use crate::error::{Error, Result};
use crate::sync::Password;

/// Lower-case letters and digits for logins.
pub const LOGIN_ALPHABET: &str = "abcdefghjkmnpqrstuvwxyz23456789";
/// Capital letters allowed in passwords.
pub const PASSWORD_UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
/// Lower-case letters allowed in passwords.
pub const PASSWORD_LOWER: &str = "abcdefghjkmnpqrstuvwxyz";
/// Digits allowed in passwords and codes.
pub const DIGITS: &str = "23456789";
/// Capital letters and digits for referral codes.
pub const REFERRAL_ALPHABET: &str = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// Generates logins, passwords and referral codes by the `[accounts]` rules.
#[derive(Clone, Debug)]
pub struct CredentialGenerator {
    login_prefix: String,
    login_random_length: usize,
    password_length: usize,
    referral_prefix: String,
    referral_random_length: usize,
}

impl CredentialGenerator {
    /// Builds a generator from the `[accounts]` section.
    pub fn new(config: &AccountsConfig) -> Self {
        Self {
            login_prefix: config.login_prefix.to_lowercase(),
            login_random_length: to_usize(config.login_random_length),
            password_length: to_usize(config.password_length).max(3),
            referral_prefix: config.referral_prefix.to_uppercase(),
            referral_random_length: to_usize(config.referral_random_length),
        }
    }

    /// Generates a login: the prefix and random lower-case letters and digits.
    pub fn login(&self) -> Result<Login> {
        let random = random_string(LOGIN_ALPHABET, self.login_random_length)?;
        Ok(Login::new(&format!("{}{random}", self.login_prefix)))
    }

    /// Generates a password with at least one capital letter, one lower-case
    /// letter and one digit.
    pub fn password(&self) -> Result<Password> {
        let alphabet = format!("{PASSWORD_UPPER}{PASSWORD_LOWER}{DIGITS}");
        let mut chars: Vec<char> = Vec::with_capacity(self.password_length);
        chars.extend(random_string(PASSWORD_UPPER, 1)?.chars());
        chars.extend(random_string(PASSWORD_LOWER, 1)?.chars());
        chars.extend(random_string(DIGITS, 1)?.chars());
        chars.extend(random_string(&alphabet, self.password_length - 3)?.chars());

        shuffle(&mut chars)?;
        Ok(Password::new(chars.into_iter().collect()))
    }

    /// Generates a referral code: the prefix and random capital letters and digits.
    pub fn referral_code(&self) -> Result<ReferralCode> {
        let random = random_string(REFERRAL_ALPHABET, self.referral_random_length)?;
        Ok(ReferralCode(format!("{}{random}", self.referral_prefix)))
    }
}

fn to_usize(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// Fills `buffer` from the OS generator.
fn fill_random(buffer: &mut [u8]) -> Result<()> {
    OsRng
        .try_fill_bytes(buffer)
        .map_err(|error| Error::PasswordHash {
            message: format!("the operating system's random generator failed: {error}"),
        })
}

/// Returns `length` characters drawn uniformly from `alphabet`.
///
/// Uses rejection sampling: bytes at or above the largest multiple of the
/// alphabet size are dropped, so every character is equally likely.
fn random_string(alphabet: &str, length: usize) -> Result<String> {
    let symbols: Vec<char> = alphabet.chars().collect();
    let mut out = String::with_capacity(length);
    let mut drawn = 0;
    let mut buffer = [0u8; 64];

    while drawn < length {
        fill_random(&mut buffer)?;
        for byte in buffer {
            if drawn == length {
                break;
            }
            if let Some(index) = uniform_index(byte, symbols.len()) {
                out.push(symbols[index]);
                drawn += 1;
            }
        }
    }
    Ok(out)
}

/// Maps a random byte to an index below `size`, or `None` when the byte must be dropped.
fn uniform_index(byte: u8, size: usize) -> Option<usize> {
    if size == 0 {
        return None;
    }
    let byte = usize::from(byte);
    let limit = 256 - 256 % size;
    (byte < limit).then(|| byte % size)
}

/// Shuffles `items` with Fisher-Yates, so the guaranteed characters of a
/// password are not always in front.
fn shuffle(items: &mut [char]) -> Result<()> {
    for last in (1..items.len()).rev() {
        let other = random_below(last + 1)?;
        items.swap(last, other);
    }
    Ok(())
}

/// Returns a uniform random number below `bound`, by rejection sampling on 32 bits.
fn random_below(bound: usize) -> Result<usize> {
    let bound = u64::try_from(bound).unwrap_or(u64::MAX).clamp(1, 1 << 32);
    let limit = (1u64 << 32) - (1u64 << 32) % bound;
    let mut bytes = [0u8; 4];
    loop {
        fill_random(&mut bytes)?;
        let value = u64::from(u32::from_le_bytes(bytes));
        if value < limit {
            return Ok(usize::try_from(value % bound).unwrap_or(0));
        }
    }
}

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Number of lanes.
    pub parallelism: u32,
}

impl Default for HashParams {
    /// Returns the OWASP recommendation for Argon2id: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Hashes and verifies passwords with Argon2id, off the async runtime.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
}

impl Default for Argon2Hasher {
    /// Returns a hasher with [`HashParams::default`].
    fn default() -> Self {
        Self {
            params: Params::DEFAULT,
        }
    }
}

impl Argon2Hasher {
    /// Builds a hasher; fails when argon2 rejects the parameters.
    pub fn new(params: HashParams) -> Result<Self> {
        let params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|error| Error::PasswordHash {
            message: format!("invalid Argon2id parameters: {error}"),
        })?;
        Ok(Self { params })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password into a PHC string with a fresh random salt, blocking the thread.
    pub fn hash_blocking(&self, password: &str) -> Result<PasswordHash> {
        let mut salt_bytes = [0u8; 16];
        fill_random(&mut salt_bytes)?;
        let salt = SaltString::encode_b64(&salt_bytes).map_err(hash_error)?;

        let hash = self
            .argon2()
            .hash_password(password.as_bytes(), &salt)
            .map_err(hash_error)?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// Checks a password against a PHC hash, blocking the thread.
    ///
    /// The cost parameters are read from the hash, so hashes made with older
    /// parameters keep working. The comparison is constant-time (argon2 does it).
    pub fn verify_blocking(&self, hash: &PasswordHash, password: &str) -> Result<bool> {
        let parsed = password_hash::PasswordHash::new(&hash.0).map_err(hash_error)?;
        match self.argon2().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(true),
            Err(password_hash::Error::Password) => Ok(false),
            Err(error) => Err(hash_error(error)),
        }
    }

    /// Hashes a password on the blocking thread pool.
    pub async fn hash(&self, password: &Password) -> Result<PasswordHash> {
        let hasher = self.clone();
        let password = password.clone();
        run_blocking(move || hasher.hash_blocking(password.expose())).await
    }

    /// Checks a password on the blocking thread pool.
    pub async fn verify(&self, hash: &PasswordHash, password: &str) -> Result<bool> {
        let hasher = self.clone();
        let hash = hash.clone();
        let password = Password::new(password.to_owned());
        run_blocking(move || hasher.verify_blocking(&hash, password.expose())).await
    }

    /// Checks a login attempt in about the same time whether or not the
    /// account exists: without a hash, the password is hashed and `false`
    /// returned, so timing does not tell which logins exist.
    pub async fn verify_or_dummy(
        &self,
        hash: Option<&PasswordHash>,
        password: &str,
    ) -> Result<bool> {
        match hash {
            Some(hash) => self.verify(hash, password).await,
            None => {
                self.hash(&Password::new(password.to_owned())).await?;
                Ok(false)
            }
        }
    }
}

/// Returns the permits for hashes running at once in this process: one per
/// core. Each Argon2id hash uses its memory cost (19 MiB by default) while it
/// runs, so without a bound a burst of logins, real or not, takes that much
/// memory per request, and hashes beyond the core count only slow each other.
fn hash_permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs a hash or a verification on the blocking thread pool, at most one
/// per core at a time (see [`hash_permits`]).
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    let permit = Arc::clone(hash_permits())
        .acquire_owned()
        .await
        .map_err(|error| Error::Task(Box::new(error)))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|error| Error::Task(Box::new(error)))?
}

fn hash_error(error: password_hash::Error) -> Error {
    Error::PasswordHash {
        message: error.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashSet;

    use rstest::rstest;

    use super::*;

    /// Cheap parameters: the rules are the same, and debug builds stay fast.
    pub(crate) fn fast_hasher() -> Argon2Hasher {
        Argon2Hasher::new(HashParams {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    fn generator() -> CredentialGenerator {
        CredentialGenerator::new(&AccountsConfig::default())
    }

    #[rstest]
    #[case(LOGIN_ALPHABET)]
    #[case(PASSWORD_UPPER)]
    #[case(PASSWORD_LOWER)]
    #[case(DIGITS)]
    #[case(REFERRAL_ALPHABET)]
    fn alphabets_have_no_look_alikes(#[case] alphabet: &str) {
        for ambiguous in ['0', 'O', 'o', '1', 'l', 'I', 'i'] {
            assert!(
                !alphabet.contains(ambiguous),
                "{alphabet} contains {ambiguous}"
            );
        }
    }

    #[test]
    fn login_has_prefix_and_length() {
        let login = generator().login().unwrap();

        let random = login.as_str().strip_prefix("lk").unwrap();
        assert_eq!(random.chars().count(), 6);
        assert!(
            random.chars().all(|c| LOGIN_ALPHABET.contains(c)),
            "{login}"
        );
    }

    #[test]
    fn password_has_every_class() {
        let generator = generator();
        for _ in 0..200 {
            let password = generator.password().unwrap();
            let text = password.expose();

            assert_eq!(text.chars().count(), 10);
            assert!(text.chars().any(|c| PASSWORD_UPPER.contains(c)), "{text}");
            assert!(text.chars().any(|c| PASSWORD_LOWER.contains(c)), "{text}");
            assert!(text.chars().any(|c| DIGITS.contains(c)), "{text}");
            assert!(text.chars().all(|c| c.is_ascii_alphanumeric()), "{text}");
        }
    }

    #[test]
    fn password_length_follows_config() {
        let config = AccountsConfig {
            password_length: 24,
            ..AccountsConfig::default()
        };

        let password = CredentialGenerator::new(&config).password().unwrap();

        assert_eq!(password.expose().chars().count(), 24);
    }

    #[test]
    fn referral_code_has_prefix_and_alphabet() {
        let config = AccountsConfig {
            referral_prefix: "REF-".to_owned(),
            ..AccountsConfig::default()
        };

        let code = CredentialGenerator::new(&config).referral_code().unwrap();

        let random = code.as_str().strip_prefix("REF-").unwrap();
        assert_eq!(random.chars().count(), 8);
        assert!(
            random.chars().all(|c| REFERRAL_ALPHABET.contains(c)),
            "{code}"
        );
    }

    #[test]
    fn draws_do_not_repeat() {
        let generator = generator();
        let mut logins = HashSet::new();
        let mut passwords = HashSet::new();
        let mut codes = HashSet::new();

        for _ in 0..2000 {
            logins.insert(generator.login().unwrap());
            passwords.insert(generator.password().unwrap().expose().to_owned());
            codes.insert(generator.referral_code().unwrap());
        }

        // 31^6 logins: a repeat among 2000 draws has a chance of about 0.2%,
        // so allow one; passwords and codes have far more room.
        assert!(logins.len() >= 1999, "{} distinct logins", logins.len());
        assert_eq!(passwords.len(), 2000);
        assert_eq!(codes.len(), 2000);
    }

    #[test]
    fn every_alphabet_character_appears() {
        let text = random_string(REFERRAL_ALPHABET, 5000).unwrap();

        for symbol in REFERRAL_ALPHABET.chars() {
            assert!(text.contains(symbol), "{symbol} never drawn");
        }
    }

    #[rstest]
    #[case(0, 31, Some(0))]
    #[case(247, 31, Some(30))]
    #[case(248, 31, None)]
    #[case(255, 31, None)]
    #[case(255, 256, Some(255))]
    #[case(7, 0, None)]
    fn uniform_index_rejects_the_biased_tail(
        #[case] byte: u8,
        #[case] size: usize,
        #[case] expected: Option<usize>,
    ) {
        assert_eq!(uniform_index(byte, size), expected);
    }

    #[tokio::test]
    async fn hash_then_verify_round_trips() {
        let hasher = fast_hasher();
        let password = Password::new("Qw3rtyPass".to_owned());

        let hash = hasher.hash(&password).await.unwrap();

        assert!(
            hash.0.starts_with("$argon2id$v=19$m=64,t=1,p=1$"),
            "{}",
            hash.0
        );
        assert!(hasher.verify(&hash, "Qw3rtyPass").await.unwrap());
    }

    #[tokio::test]
    async fn wrong_password_is_rejected() {
        let hasher = fast_hasher();
        let hash = hasher
            .hash(&Password::new("Qw3rtyPass".to_owned()))
            .await
            .unwrap();

        assert!(!hasher.verify(&hash, "qw3rtypass").await.unwrap());
        assert!(!hasher.verify(&hash, "").await.unwrap());
    }

    #[tokio::test]
    async fn same_password_gets_distinct_salts() {
        let hasher = fast_hasher();
        let password = Password::new("Qw3rtyPass".to_owned());

        let first = hasher.hash(&password).await.unwrap();
        let second = hasher.hash(&password).await.unwrap();

        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn verify_reads_params_from_hash() {
        let strong = Argon2Hasher::new(HashParams {
            memory_kib: 128,
            iterations: 2,
            parallelism: 1,
        })
        .unwrap();
        let hash = strong
            .hash(&Password::new("Secret42x".to_owned()))
            .await
            .unwrap();

        assert!(fast_hasher().verify(&hash, "Secret42x").await.unwrap());
    }

    #[tokio::test]
    async fn malformed_hash_is_an_error() {
        let result = fast_hasher()
            .verify(&PasswordHash("not-a-hash".to_owned()), "x")
            .await;

        assert!(matches!(result, Err(Error::PasswordHash { .. })));
    }

    #[tokio::test]
    async fn missing_account_never_verifies() {
        assert!(
            !fast_hasher()
                .verify_or_dummy(None, "anything")
                .await
                .unwrap()
        );
    }

    #[test]
    fn bad_params_are_rejected() {
        let result = Argon2Hasher::new(HashParams {
            memory_kib: 1,
            iterations: 1,
            parallelism: 1,
        });

        assert!(matches!(result, Err(Error::PasswordHash { .. })));
    }

    #[test]
    fn default_params_are_owasp() {
        assert_eq!(
            HashParams::default(),
            HashParams {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }
}
