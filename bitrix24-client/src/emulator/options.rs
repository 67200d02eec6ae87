//! Start-up options of the emulator.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use jiff::tz::Offset;
use rand::Rng;
use rand::distr::Alphanumeric;

use super::seed::{self, Seed};

/// The credentials of one incoming webhook: `/rest/{user_id}/{secret}/`.
#[derive(Clone)]
pub struct WebhookCredentials {
    user_id: u64,
    secret: String,
    scopes: Vec<String>,
}

impl WebhookCredentials {
    /// Creates credentials for the employee `user_id` with the `crm` scope.
    pub fn new(user_id: u64, secret: impl Into<String>) -> Self {
        Self {
            user_id,
            secret: secret.into(),
            scopes: vec!["crm".to_owned()],
        }
    }

    /// Creates credentials for user 1 with a random 16-character secret and the `crm` scope.
    pub fn random() -> Self {
        Self::new(1, random_token(16))
    }

    /// Replaces the scopes ticked on the webhook (default: `crm` only).
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Returns the id of the employee who owns the webhook.
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// Returns the secret part of the webhook path.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Returns the scopes ticked on the webhook.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    pub(crate) fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

impl fmt::Debug for WebhookCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookCredentials")
            .field("user_id", &self.user_id)
            .field("secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// The portal's request-rate limit (a leaky bucket per portal).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RateLimit {
    /// No limit: every request is served.
    Off,
    /// Each request adds 1 to a counter that drains by `per_second`; a request
    /// that finds the counter at `burst` or above gets 503 `QUERY_LIMIT_EXCEEDED`.
    Bucket {
        /// How fast the counter drains, in requests per second.
        per_second: f64,
        /// The counter level at which requests are rejected.
        burst: u32,
    },
}

impl RateLimit {
    /// Returns the limit of ordinary cloud plans: 2 requests per second, burst 50.
    pub fn standard() -> Self {
        RateLimit::Bucket {
            per_second: 2.0,
            burst: 50,
        }
    }

    /// Returns the limit of Enterprise plans: 5 requests per second, burst 250.
    pub fn enterprise() -> Self {
        RateLimit::Bucket {
            per_second: 5.0,
            burst: 250,
        }
    }
}

/// The per-method operation-time budget that answers 429 `OPERATION_TIME_LIMIT`.
///
/// The real portal sums the server time each method used over the last ten
/// one-minute buckets. Emulated calls take microseconds, so each call is
/// charged `charge_per_call` on top of its measured time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatingLimit {
    /// The time a method may use within the ten-minute window.
    pub budget: Duration,
    /// The time added to every call of a method, to make the budget reachable in tests.
    pub charge_per_call: Duration,
}

/// The fields the staff panel edits with dedicated controls.
#[derive(Clone, Debug)]
pub struct StaffPanelFields {
    /// The «Создать ЛК клиенту» trigger field.
    pub trigger: String,
    /// The label of the trigger value (an enumeration item or a plain string).
    pub trigger_value: String,
    /// The «Логин ЛК клиента» field.
    pub login: String,
    /// The «Пароль ЛК клиента» field.
    pub password: String,
    /// The «Статус для ЛК клиента» field.
    pub status: String,
    /// The «Сообщение клиенту от компании» field.
    pub message: String,
    /// The «Ссылка на дело в Кад. Арбитр» field.
    pub court_link: String,
    /// The «Сумма договора» field.
    pub contract_sum: String,
}

impl Default for StaffPanelFields {
    fn default() -> Self {
        Self {
            trigger: seed::FIELD_CREATE_ACCOUNT.to_owned(),
            trigger_value: seed::CREATE_ACCOUNT_VALUE.to_owned(),
            login: seed::FIELD_LOGIN.to_owned(),
            password: seed::FIELD_PASSWORD.to_owned(),
            status: seed::FIELD_STATUS.to_owned(),
            message: seed::FIELD_MESSAGE.to_owned(),
            court_link: seed::FIELD_COURT_LINK.to_owned(),
            contract_sum: seed::FIELD_CONTRACT_SUM.to_owned(),
        }
    }
}

/// Options for [`Emulator::start`](super::Emulator::start).
///
/// Every setter states its default.
#[derive(Clone, Debug)]
pub struct EmulatorOptions {
    pub(crate) listen: SocketAddr,
    pub(crate) webhooks: Vec<WebhookCredentials>,
    pub(crate) rate_limit: RateLimit,
    pub(crate) operating_limit: Option<OperatingLimit>,
    pub(crate) offset: Offset,
    pub(crate) domain: Option<String>,
    pub(crate) member_id: String,
    pub(crate) seed: Seed,
    pub(crate) delivery_timeout: Duration,
    pub(crate) max_body_bytes: usize,
    pub(crate) staff_fields: StaffPanelFields,
    pub(crate) request_log_capacity: usize,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            webhooks: vec![WebhookCredentials::random()],
            rate_limit: RateLimit::standard(),
            operating_limit: None,
            offset: Offset::constant(3),
            domain: None,
            member_id: random_hex(32),
            seed: Seed::Empty,
            delivery_timeout: Duration::from_secs(10),
            max_body_bytes: 64 * 1024 * 1024,
            staff_fields: StaffPanelFields::default(),
            request_log_capacity: 10_000,
        }
    }
}

impl EmulatorOptions {
    /// Sets the listening address (default `127.0.0.1:0`, a free loopback port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Replaces the incoming webhooks (default: one for user 1 with a random secret and scope `crm`).
    ///
    /// The first webhook is the one [`Emulator::webhook_url`](super::Emulator::webhook_url) returns.
    pub fn webhooks(mut self, webhooks: Vec<WebhookCredentials>) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// Sets the request-rate limit (default [`RateLimit::standard`]: 2/s, burst 50).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Enables the per-method operation-time budget (default: off).
    pub fn operating_limit(mut self, limit: OperatingLimit) -> Self {
        self.operating_limit = Some(limit);
        self
    }

    /// Sets the portal's UTC offset used to render dates and datetimes (default `+03:00`).
    pub fn utc_offset(mut self, offset: Offset) -> Self {
        self.offset = offset;
        self
    }

    /// Sets the portal domain sent in events as `auth[domain]` (default: the listening `host:port`).
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// Sets the portal's `member_id` sent in events (default: 32 random hex digits).
    pub fn member_id(mut self, member_id: impl Into<String>) -> Self {
        self.member_id = member_id.into();
        self
    }

    /// Sets the data the portal starts with (default [`Seed::Empty`]).
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = seed;
        self
    }

    /// Sets how long one outgoing-webhook POST may take before it counts as failed (default 10 s).
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.delivery_timeout = timeout;
        self
    }

    /// Sets the largest request body the portal accepts, in bytes (default 64 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets the fields the staff panel edits with dedicated controls (default: the firm's codes).
    pub fn staff_panel_fields(mut self, fields: StaffPanelFields) -> Self {
        self.staff_fields = fields;
        self
    }

    /// Sets how many recent requests the request log keeps (default 10,000).
    pub fn request_log_capacity(mut self, capacity: usize) -> Self {
        self.request_log_capacity = capacity;
        self
    }
}

/// Returns a random token of lowercase letters and digits, like Bitrix24 secrets and tokens.
pub(crate) fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(|byte| char::from(byte).to_ascii_lowercase())
        .collect()
}

fn random_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}
