//! Outgoing-webhook events: parsing the POST Bitrix24 sends, and checking its token.
//!
//! Bitrix24 posts events as `application/x-www-form-urlencoded` with PHP-style
//! keys (`data[FIELDS][ID]=662&auth[application_token]=...`), brackets either
//! literal or percent-encoded, every value a string. Some relays forward them
//! as JSON. Events carry ids only. There is no signature: the only proof of
//! origin is `auth[application_token]`, which [`EventVerifier`] compares in
//! constant time. Bitrix24 never resends an event, so a receiver should store
//! it and respond at once.

use std::collections::BTreeMap;
use std::fmt;

use bitrix_lk_core::DealId;
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::de;
use crate::entity::EntityType;
use crate::error::{Error, Result};
use crate::php_query::{self, DecodeLimits};

/// The largest event body parsed, in bytes; real events are under 2 KiB.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Bounds on a form-encoded event: far above the ten or so keys a real one has.
const EVENT_LIMITS: DecodeLimits = DecodeLimits {
    max_pairs: 256,
    max_depth: 8,
};

/// The change an event reports about its object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Created (`...ADD`).
    Add,
    /// Changed (`...UPDATE`); a deal's stage change is an update too.
    Update,
    /// Deleted (`...DELETE`).
    Delete,
    /// A legacy invoice changed status (`ONCRMINVOICESETSTATUS`).
    SetStatus,
    /// A deal moved to another pipeline (`ONCRMDEALMOVETOCATEGORY`, sent to applications only).
    MoveToCategory,
}

/// The object an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A deal event (`ONCRMDEAL*`).
    Deal {
        /// What happened.
        action: Action,
        /// The deal.
        id: DealId,
    },
    /// A legacy invoice event (`ONCRMINVOICE*`).
    LegacyInvoice {
        /// What happened.
        action: Action,
        /// The invoice id.
        id: u64,
    },
    /// A smart item event (`ONCRMDYNAMICITEM*`, also with a `_<type>` suffix);
    /// smart invoices are entity type 31.
    Item {
        /// What happened.
        action: Action,
        /// The item's entity type.
        entity_type: EntityType,
        /// The item id.
        id: u64,
    },
    /// Any other event; see [`Event::name`].
    Other,
}

/// A parsed outgoing-webhook event.
#[derive(Clone, Debug)]
pub struct Event {
    /// The event name in upper case, such as `ONCRMDEALUPDATE`.
    pub name: String,
    /// The object and action.
    pub kind: EventKind,
    /// `event_handler_id`, the portal's id of the subscription.
    pub handler_id: Option<u64>,
    /// `ts`: when the portal's queue sent the event.
    pub sent_at: Option<Timestamp>,
    /// The `auth` block.
    pub auth: EventAuth,
    /// The scalar values of `data[FIELDS]`, as sent.
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// Returns the deal id of a deal event.
    pub fn deal_id(&self) -> Option<DealId> {
        match self.kind {
            EventKind::Deal { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Returns a key naming this change: event name, object and `ts`, such as
    /// `ONCRMDEALUPDATE:662:1724140800`. Bitrix24 never redelivers an event,
    /// but relays and resyncs can report one change twice; the key lets a
    /// receiver store each change once.
    pub fn dedup_key(&self) -> String {
        let object = match self.kind {
            EventKind::Deal { id, .. } => id.to_string(),
            EventKind::LegacyInvoice { id, .. } => id.to_string(),
            EventKind::Item {
                entity_type, id, ..
            } => format!("{entity_type}-{id}"),
            EventKind::Other => self.fields.get("ID").cloned().unwrap_or_default(),
        };
        let sent_at = self
            .sent_at
            .map(|at| at.as_second().to_string())
            .unwrap_or_default();
        format!("{}:{object}:{sent_at}", self.name)
    }

    /// Returns whether the event is about a smart invoice (entity type 31).
    pub fn is_smart_invoice(&self) -> bool {
        matches!(
            self.kind,
            EventKind::Item {
                entity_type: EntityType::SmartInvoice,
                ..
            }
        )
    }
}

/// The `auth` block of an event. Outgoing webhooks send no OAuth tokens.
#[derive(Clone, Default)]
pub struct EventAuth {
    /// `auth[domain]`: the portal, such as `example.bitrix24.ru`.
    pub domain: Option<String>,
    /// `auth[member_id]`: the portal's unique id.
    pub member_id: Option<String>,
    /// `auth[client_endpoint]`: `https://PORTAL/rest/`.
    pub client_endpoint: Option<String>,
    /// `auth[server_endpoint]`: the OAuth server.
    pub server_endpoint: Option<String>,
    /// `auth[application_token]`: the secret shown when the outgoing webhook was created.
    pub application_token: Option<SecretString>,
}

impl fmt::Debug for EventAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventAuth")
            .field("domain", &self.domain)
            .field("member_id", &self.member_id)
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field(
                "application_token",
                &self.application_token.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// Parses the body of an outgoing-webhook POST.
///
/// `content_type` is the request's `Content-Type`: form-encoded or JSON;
/// when missing or something else, the body is sniffed (`{` means JSON).
/// Bodies over [`MAX_EVENT_BYTES`] and malformed events fail with
/// [`Error::InvalidEvent`]; parsing never panics.
///
/// ```
/// use bitrix24_client::event::{parse_event, EventKind, Action};
///
/// let body = b"event=ONCRMDEALUPDATE&data%5BFIELDS%5D%5BID%5D=662&ts=1724140800\
///     &auth%5Bdomain%5D=example.bitrix24.com&auth%5Bapplication_token%5D=t1";
/// let event = parse_event(Some("application/x-www-form-urlencoded"), body)?;
/// assert!(matches!(event.kind, EventKind::Deal { action: Action::Update, .. }));
/// # Ok::<(), bitrix24_client::Error>(())
/// ```
pub fn parse_event(content_type: Option<&str>, body: &[u8]) -> Result<Event> {
    if body.len() > MAX_EVENT_BYTES {
        return Err(invalid(format!(
            "the body is larger than {MAX_EVENT_BYTES} bytes"
        )));
    }
    let payload = match body_format(content_type, body) {
        Format::Json => serde_json::from_slice::<Value>(body)
            .map_err(|error| invalid(format!("the JSON body is malformed: {error}")))?,
        Format::Form => {
            let text = String::from_utf8_lossy(body);
            php_query::decode_with(text.trim(), EVENT_LIMITS)
                .map_err(|error| invalid(format!("the form body is malformed: {error}")))?
        }
        Format::Unsupported(kind) => {
            return Err(invalid(format!("the content type {kind} is not supported")));
        }
    };
    event_from_payload(&payload)
}

enum Format {
    Json,
    Form,
    Unsupported(String),
}

fn body_format(content_type: Option<&str>, body: &[u8]) -> Format {
    let media_type = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media_type.as_str() {
        "application/json" => Format::Json,
        "application/x-www-form-urlencoded" => Format::Form,
        "multipart/form-data" => Format::Unsupported(media_type),
        _ => {
            let first = body.iter().find(|byte| !byte.is_ascii_whitespace());
            if first == Some(&b'{') {
                Format::Json
            } else {
                Format::Form
            }
        }
    }
}

fn event_from_payload(payload: &Value) -> Result<Event> {
    if !payload.is_object() {
        return Err(invalid("the body is not a key/value structure".to_owned()));
    }
    let name = event_name(payload)?;
    let fields = data_fields(payload);
    let kind = event_kind(&name, &fields)?;

    Ok(Event {
        kind,
        handler_id: payload.get("event_handler_id").and_then(de::u64_from_value),
        sent_at: payload
            .get("ts")
            .and_then(de::i64_from_value)
            .and_then(|second| Timestamp::from_second(second).ok()),
        auth: event_auth(payload.get("auth")),
        fields,
        name,
    })
}

fn event_name(payload: &Value) -> Result<String> {
    let name = payload
        .get("event")
        .and_then(de::text_from_value)
        .map(|name| name.trim().to_ascii_uppercase())
        .unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(name)
    } else {
        Err(invalid(
            "the `event` name is missing or not a Bitrix24 event name".to_owned(),
        ))
    }
}

fn data_fields(payload: &Value) -> BTreeMap<String, String> {
    let Some(Value::Object(fields)) = payload.get("data").and_then(|data| data.get("FIELDS"))
    else {
        return BTreeMap::new();
    };
    fields
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), de::text_from_value(value)?)))
        .collect()
}

fn event_auth(auth: Option<&Value>) -> EventAuth {
    let text = |key: &str| {
        auth.and_then(|auth| auth.get(key))
            .and_then(de::text_from_value)
    };
    EventAuth {
        domain: text("domain"),
        member_id: text("member_id"),
        client_endpoint: text("client_endpoint"),
        server_endpoint: text("server_endpoint"),
        application_token: text("application_token").map(SecretString::from),
    }
}

fn event_kind(name: &str, fields: &BTreeMap<String, String>) -> Result<EventKind> {
    if let Some(action) = name.strip_prefix("ONCRMDEAL").and_then(action_of) {
        return Ok(EventKind::Deal {
            action,
            id: DealId(object_id(name, fields)?),
        });
    }
    if let Some(action) = name.strip_prefix("ONCRMINVOICE").and_then(action_of) {
        return Ok(EventKind::LegacyInvoice {
            action,
            id: object_id(name, fields)?,
        });
    }
    if let Some(rest) = name.strip_prefix("ONCRMDYNAMICITEM") {
        return item_kind(name, rest, fields);
    }
    Ok(EventKind::Other)
}

fn action_of(suffix: &str) -> Option<Action> {
    match suffix {
        "ADD" => Some(Action::Add),
        "UPDATE" => Some(Action::Update),
        "DELETE" => Some(Action::Delete),
        "SETSTATUS" => Some(Action::SetStatus),
        "MOVETOCATEGORY" => Some(Action::MoveToCategory),
        _ => None,
    }
}

/// Reads `ONCRMDYNAMICITEMUPDATE` or `ONCRMDYNAMICITEMUPDATE_31`.
fn item_kind(name: &str, rest: &str, fields: &BTreeMap<String, String>) -> Result<EventKind> {
    let (action_text, suffix_type) = match rest.split_once('_') {
        Some((action, entity_type)) => (action, Some(entity_type)),
        None => (rest, None),
    };
    let Some(action) = action_of(action_text)
        .filter(|action| matches!(action, Action::Add | Action::Update | Action::Delete))
    else {
        return Ok(EventKind::Other);
    };

    let from_suffix = match suffix_type {
        Some(text) => Some(
            text.parse::<u32>()
                .map_err(|_| invalid(format!("event {name} has a malformed entity type suffix")))?,
        ),
        None => None,
    };
    let from_data = match fields.get("ENTITY_TYPE_ID") {
        Some(text) => Some(text.trim().parse::<u32>().map_err(|_| {
            invalid(format!(
                "event {name} has a malformed data[FIELDS][ENTITY_TYPE_ID]"
            ))
        })?),
        None => None,
    };
    let entity_type = match (from_suffix, from_data) {
        (Some(a), Some(b)) if a != b => {
            return Err(invalid(format!(
                "event {name} names entity type {a} but data[FIELDS][ENTITY_TYPE_ID] is {b}"
            )));
        }
        (Some(id), _) | (None, Some(id)) => EntityType::from_id(id),
        (None, None) => {
            return Err(invalid(format!(
                "event {name} has no data[FIELDS][ENTITY_TYPE_ID]"
            )));
        }
    };

    Ok(EventKind::Item {
        action,
        entity_type,
        id: object_id(name, fields)?,
    })
}

/// Reads `data[FIELDS][ID]`: a positive id that also fits a signed 64-bit
/// integer, the range of Bitrix24's ids and of the cabinet's SQLite store.
fn object_id(name: &str, fields: &BTreeMap<String, String>) -> Result<u64> {
    fields
        .get("ID")
        .and_then(|id| id.trim().parse::<u64>().ok())
        .filter(|id| *id > 0 && i64::try_from(*id).is_ok())
        .ok_or_else(|| {
            invalid(format!(
                "event {name} has no data[FIELDS][ID] between 1 and {}",
                i64::MAX
            ))
        })
}

fn invalid(reason: String) -> Error {
    Error::InvalidEvent { reason }
}

/// Accepts events whose `application_token` is one of the configured tokens.
///
/// Each outgoing webhook of a portal has its own token, so a receiver of
/// several webhooks accepts a list. Comparison is in constant time for
/// tokens of equal length, and every accepted token is always compared.
///
/// ```
/// use bitrix24_client::event::{parse_event, EventVerifier};
///
/// let verifier = EventVerifier::new(["t1", "t2"]);
/// let event = parse_event(None, b"event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token]=t2")?;
/// verifier.verify(&event)?;
/// # Ok::<(), bitrix24_client::Error>(())
/// ```
#[derive(Clone)]
pub struct EventVerifier {
    tokens: Vec<SecretString>,
    domains: Vec<String>,
}

impl EventVerifier {
    /// Creates a verifier accepting these tokens; empty tokens are ignored.
    pub fn new<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tokens = tokens
            .into_iter()
            .map(Into::into)
            .filter(|token| !token.trim().is_empty())
            .map(|token| SecretString::from(token.trim().to_owned()))
            .collect();
        Self {
            tokens,
            domains: Vec::new(),
        }
    }

    /// Also requires `auth[domain]` to be one of these portals (case-insensitive).
    /// Default: any domain.
    pub fn with_domains<I, S>(mut self, domains: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.domains = domains
            .into_iter()
            .map(|domain| domain.into().trim().to_ascii_lowercase())
            .collect();
        self
    }

    /// Checks the event's token (and domain, when configured).
    ///
    /// Fails with [`Error::UntrustedEvent`] when the token is missing or
    /// matches no accepted token, including when none is configured.
    pub fn verify(&self, event: &Event) -> Result<()> {
        let Some(token) = &event.auth.application_token else {
            return Err(Error::UntrustedEvent);
        };
        if !self.token_matches(token.expose_secret().as_bytes()) {
            return Err(Error::UntrustedEvent);
        }
        if !self.domains.is_empty() {
            let domain = event
                .auth
                .domain
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !self.domains.contains(&domain) {
                return Err(Error::UntrustedEvent);
            }
        }
        Ok(())
    }

    /// Parses and verifies in one step.
    pub fn parse_verified(&self, content_type: Option<&str>, body: &[u8]) -> Result<Event> {
        let event = parse_event(content_type, body)?;
        self.verify(&event)?;
        Ok(event)
    }

    fn token_matches(&self, candidate: &[u8]) -> bool {
        let mut matched = subtle::Choice::from(0);
        for token in &self.tokens {
            matched |= token.expose_secret().as_bytes().ct_eq(candidate);
        }
        bool::from(matched)
    }
}

impl fmt::Debug for EventVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventVerifier")
            .field("tokens", &format_args!("{} accepted", self.tokens.len()))
            .field("domains", &self.domains)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    fn form(body: &str) -> Result<Event> {
        parse_event(Some("application/x-www-form-urlencoded"), body.as_bytes())
    }

    #[rstest]
    #[case("ONCRMDEALADD", Action::Add)]
    #[case("ONCRMDEALUPDATE", Action::Update)]
    #[case("ONCRMDEALDELETE", Action::Delete)]
    #[case("onCrmDealUpdate", Action::Update)]
    fn deal_events(#[case] name: &str, #[case] action: Action) {
        let event = form(&format!("event={name}&data[FIELDS][ID]=7405")).unwrap();

        assert_eq!(
            event.kind,
            EventKind::Deal {
                action,
                id: DealId(7405)
            }
        );
    }

    #[rstest]
    #[case("ONCRMINVOICEADD", Action::Add)]
    #[case("ONCRMINVOICEUPDATE", Action::Update)]
    #[case("ONCRMINVOICEDELETE", Action::Delete)]
    #[case("ONCRMINVOICESETSTATUS", Action::SetStatus)]
    fn legacy_invoice_events(#[case] name: &str, #[case] action: Action) {
        let event = form(&format!("event={name}&data[FIELDS][ID]=17")).unwrap();

        assert_eq!(event.kind, EventKind::LegacyInvoice { action, id: 17 });
    }

    #[rstest]
    #[case(
        "event=ONCRMDYNAMICITEMUPDATE&data[FIELDS][ID]=24&data[FIELDS][ENTITY_TYPE_ID]=31",
        Action::Update,
        31
    )]
    #[case("event=ONCRMDYNAMICITEMADD_31&data[FIELDS][ID]=24", Action::Add, 31)]
    #[case(
        "event=ONCRMDYNAMICITEMDELETE_31&data[FIELDS][ID]=24&data[FIELDS][ENTITY_TYPE_ID]=31",
        Action::Delete,
        31
    )]
    #[case(
        "event=ONCRMDYNAMICITEMUPDATE&data[FIELDS][ID]=24&data[FIELDS][ENTITY_TYPE_ID]=1220",
        Action::Update,
        1220
    )]
    fn item_events(#[case] body: &str, #[case] action: Action, #[case] entity_type: u32) {
        let event = form(body).unwrap();

        assert_eq!(
            event.kind,
            EventKind::Item {
                action,
                entity_type: EntityType::from_id(entity_type),
                id: 24
            }
        );
        assert_eq!(event.is_smart_invoice(), entity_type == 31);
    }

    #[rstest]
    #[case("event=ONCRMDEALUPDATE")]
    #[case("event=ONCRMDEALUPDATE&data[FIELDS][ID]=abc")]
    #[case("event=ONCRMDYNAMICITEMUPDATE&data[FIELDS][ID]=24")]
    #[case("event=ONCRMDYNAMICITEMUPDATE_31&data[FIELDS][ID]=24&data[FIELDS][ENTITY_TYPE_ID]=177")]
    #[case("data[FIELDS][ID]=1")]
    #[case("event=<script>&data[FIELDS][ID]=1")]
    fn malformed_events_are_rejected(#[case] body: &str) {
        assert!(matches!(form(body), Err(Error::InvalidEvent { .. })));
    }

    #[test]
    fn other_events_are_kept_by_name() {
        let event = form("event=ONCRMCONTACTUPDATE&data[FIELDS][ID]=5").unwrap();

        assert_eq!(event.kind, EventKind::Other);
        assert_eq!(event.name, "ONCRMCONTACTUPDATE");
    }

    #[test]
    fn debug_hides_the_token() {
        let event = form("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token]=s3cr3t")
            .unwrap();

        assert!(!format!("{event:?}").contains("s3cr3t"));
    }

    #[test]
    fn verifier_rejects_without_tokens() {
        let event =
            form("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token]=").unwrap();

        assert!(
            EventVerifier::new(Vec::<String>::new())
                .verify(&event)
                .is_err()
        );
        assert!(EventVerifier::new([""]).verify(&event).is_err());
    }

    #[test]
    fn verifier_checks_domain_when_asked() {
        let event = form("event=ONCRMDEALUPDATE&data[FIELDS][ID]=1&auth[application_token]=t&auth[domain]=A.bitrix24.ru").unwrap();

        assert!(
            EventVerifier::new(["t"])
                .with_domains(["a.bitrix24.ru"])
                .verify(&event)
                .is_ok()
        );
        assert!(
            EventVerifier::new(["t"])
                .with_domains(["b.bitrix24.ru"])
                .verify(&event)
                .is_err()
        );
    }

    #[test]
    fn oversized_body_is_rejected() {
        let body = vec![b'a'; MAX_EVENT_BYTES + 1];

        assert!(matches!(
            parse_event(None, &body),
            Err(Error::InvalidEvent { .. })
        ));
    }
}
