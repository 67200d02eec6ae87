//! `batch`: up to 50 calls in one request.
//!
//! Each command is a method name and a PHP-style query string. The response
//! contains one section per kind of outcome (`result`, `result_error`,
//! `result_total`, `result_next`, `result_time`), each keyed by command key,
//! and each `[]` when empty. The HTTP status is 200 even when every command
//! failed, so [`BatchResults`] reports each command on its own. A command
//! that has neither a result nor an error is an error too: with `halt` the
//! portal stops at the first failure and leaves later keys out.
//!
//! More than 50 commands are sent as several batches, one after another.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::Deserialize;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::de;
use crate::envelope::{ResponseTime, decode_value};
use crate::error::{ApiError, Error, Result};
use crate::php_query;
use crate::response;
use crate::retry::Idempotency;

/// The maximum number of commands the portal runs in one batch.
pub const MAX_COMMANDS: usize = 50;

/// The default cap of one batch request body; larger batches are split.
const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// One command of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchCommand {
    /// The key the results are filed under.
    pub key: String,
    /// The REST method.
    pub method: String,
    /// The encoded parameters, without the leading `?`.
    pub query: String,
}

impl BatchCommand {
    /// Returns the command string sent in `cmd`: `method?query`.
    pub fn command_string(&self) -> String {
        if self.query.is_empty() {
            self.method.clone()
        } else {
            format!("{}?{}", self.method, self.query)
        }
    }
}

/// A batch under construction; send it with [`Batch::send`].
///
/// ```no_run
/// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
/// use serde_json::{json, Value};
///
/// let mut batch = client.batch();
/// batch.add("deal", "crm.deal.get", &json!({"id": 410}))?;
/// batch.add("stages", "crm.status.list", &json!({"filter": {"ENTITY_ID": "DEAL_STAGE"}}))?;
/// let results = batch.send().await?;
///
/// let deal: Value = results.get("deal")?;
/// let stages: Vec<Value> = results.get("stages")?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Batch {
    client: Client,
    commands: Vec<BatchCommand>,
    keys: HashSet<String>,
    halt: bool,
    idempotency: Option<Idempotency>,
    max_body_bytes: usize,
}

impl Batch {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            commands: Vec::new(),
            keys: HashSet::new(),
            halt: false,
            idempotency: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Adds a command under `key`, with the parameters encoded as PHP's
    /// `http_build_query` would. A string value that is exactly a batch
    /// reference such as `$result[deal][ID]` is passed through unescaped.
    ///
    /// Keys must be unique and made of Latin letters, digits and `_`.
    pub fn add(
        &mut self,
        key: impl Into<String>,
        method: &str,
        params: &impl Serialize,
    ) -> Result<&mut Self> {
        let key = key.into();
        check_key(&key, method)?;
        crate::client::check_method_name(method)?;
        if !self.keys.insert(key.clone()) {
            return Err(Error::invalid_request(
                "batch",
                format!("command key `{key}` is used twice"),
            ));
        }

        let params = serde_json::to_value(params).map_err(|error| {
            Error::invalid_request(method, format!("cannot serialize parameters: {error}"))
        })?;
        let query = match params {
            Value::Null => String::new(),
            ref object @ Value::Object(_) => php_query::encode_batch_params(object)?,
            _ => {
                return Err(Error::invalid_request(
                    method,
                    "parameters must serialize to a JSON object",
                ));
            }
        };

        self.commands.push(BatchCommand {
            key,
            method: method.to_owned(),
            query,
        });
        Ok(self)
    }

    /// Adds a command under the key `c<index>` and returns that key.
    pub fn push(&mut self, method: &str, params: &impl Serialize) -> Result<String> {
        let key = format!("c{}", self.commands.len());
        self.add(key.clone(), method, params)?;
        Ok(key)
    }

    /// Stops at the first failing command (`halt=1`). Default: `false`, every command runs.
    pub fn halt_on_error(mut self, halt: bool) -> Self {
        self.halt = halt;
        self
    }

    /// Sets how safe it is to repeat the whole batch. Default: the least safe
    /// of [`Idempotency::of_method`] over the commands.
    pub fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = Some(idempotency);
        self
    }

    /// Sets the largest request body before the commands are split into
    /// another batch, in bytes. Default: 1 MiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes.max(1);
        self
    }

    /// Returns the commands added so far.
    pub fn commands(&self) -> &[BatchCommand] {
        &self.commands
    }

    /// Returns the number of commands.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Returns whether no command was added.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Sends the commands, 50 (or fewer, to respect the body cap) per request,
    /// one request after another, and merges the results.
    ///
    /// With `halt` set, chunks after a chunk with a failed command are not sent.
    // NOTE: when a later request fails, the error is returned and the results
    // of the requests before it are dropped, although the portal ran them.
    pub async fn send(self) -> Result<BatchResults> {
        let idempotency = self
            .idempotency
            .unwrap_or_else(|| self.inferred_idempotency());
        let mut results = BatchResults::default();

        for chunk in self.chunks() {
            let part = self.send_chunk(chunk, idempotency).await?;
            let failed = !part.errors.is_empty();
            results.merge(part);
            if self.halt && failed {
                break;
            }
        }
        Ok(results)
    }

    fn inferred_idempotency(&self) -> Idempotency {
        self.commands
            .iter()
            .map(|command| Idempotency::of_method(&command.method))
            .fold(Idempotency::Read, Idempotency::combine)
    }

    /// Splits the commands into chunks of at most 50 and at most the body cap.
    fn chunks(&self) -> Vec<&[BatchCommand]> {
        let mut chunks = Vec::new();
        let mut start = 0;
        let mut size = 0;

        for (index, command) in self.commands.iter().enumerate() {
            let command_size = command.key.len() + command.method.len() + command.query.len() + 8;
            let full = index - start == MAX_COMMANDS
                || (index > start && size + command_size > self.max_body_bytes);
            if full {
                chunks.push(&self.commands[start..index]);
                start = index;
                size = 0;
            }
            size += command_size;
        }
        if start < self.commands.len() {
            chunks.push(&self.commands[start..]);
        }
        chunks
    }

    async fn send_chunk(
        &self,
        chunk: &[BatchCommand],
        idempotency: Idempotency,
    ) -> Result<BatchResults> {
        let body = request_body(chunk, self.halt)?;
        let methods: BTreeSet<&str> = chunk
            .iter()
            .map(|command| command.method.as_str())
            .collect();
        let gated: Vec<&str> = methods.into_iter().collect();

        let envelope = self
            .client
            .execute("batch", body, idempotency, &gated)
            .await?;
        let sections: Sections = decode_value("batch", "result", envelope.result)?;

        let results = BatchResults::from_sections(chunk, sections, self.client.webhook().secret());
        for (key, time) in &results.times {
            if let Some(command) = chunk.iter().find(|command| &command.key == key) {
                self.client.limiter().record(&command.method, time);
            }
        }
        Ok(results)
    }
}

fn check_key(key: &str, method: &str) -> Result<()> {
    let valid = !key.is_empty()
        && key.len() <= 100
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_request(
            method,
            format!("batch key {key:?} must be 1 to 100 Latin letters, digits or '_'"),
        ))
    }
}

/// Writes `{"halt":0,"cmd":{...}}` keeping the commands in order, because the
/// portal runs them in the order of the JSON object.
fn request_body(chunk: &[BatchCommand], halt: bool) -> Result<Vec<u8>> {
    let mut body = format!("{{\"halt\":{},\"cmd\":{{", u8::from(halt));
    for (index, command) in chunk.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        let key = serde_json::to_string(&command.key)
            .map_err(|error| Error::invalid_request("batch", error.to_string()))?;
        let value = serde_json::to_string(&command.command_string())
            .map_err(|error| Error::invalid_request("batch", error.to_string()))?;
        body.push_str(&key);
        body.push(':');
        body.push_str(&value);
    }
    body.push_str("}}");
    Ok(body.into_bytes())
}

/// The `result` of a batch response. Every section may be `[]` when empty.
#[derive(Debug, Default, Deserialize)]
struct Sections {
    #[serde(default, deserialize_with = "de::php_map")]
    result: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "de::php_map")]
    result_error: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "de::php_map")]
    result_total: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "de::php_map")]
    result_next: BTreeMap<String, Value>,
    #[serde(default, deserialize_with = "de::php_map")]
    result_time: BTreeMap<String, Value>,
}

/// The outcome of every command of a batch, by key.
#[derive(Clone, Debug, Default)]
pub struct BatchResults {
    /// Command keys in the order they were sent, with their methods.
    sent: Vec<(String, String)>,
    results: BTreeMap<String, Value>,
    errors: BTreeMap<String, ApiError>,
    totals: BTreeMap<String, u64>,
    nexts: BTreeMap<String, u64>,
    times: BTreeMap<String, ResponseTime>,
}

impl BatchResults {
    fn from_sections(chunk: &[BatchCommand], sections: Sections, secret: &str) -> Self {
        let errors = sections
            .result_error
            .into_iter()
            .map(|(key, body)| {
                let error =
                    response::api_error_in(&body, None, secret).unwrap_or_else(|| ApiError {
                        status: None,
                        code: String::new(),
                        description: response::excerpt(body.to_string().as_bytes(), secret),
                    });
                (key, error)
            })
            .collect();

        Self {
            sent: chunk
                .iter()
                .map(|command| (command.key.clone(), command.method.clone()))
                .collect(),
            results: sections.result,
            errors,
            totals: numbers(sections.result_total),
            nexts: numbers(sections.result_next),
            times: sections
                .result_time
                .into_iter()
                .filter_map(|(key, time)| Some((key, serde_json::from_value(time).ok()?)))
                .collect(),
        }
    }

    fn merge(&mut self, other: BatchResults) {
        self.sent.extend(other.sent);
        self.results.extend(other.results);
        self.errors.extend(other.errors);
        self.totals.extend(other.totals);
        self.nexts.extend(other.nexts);
        self.times.extend(other.times);
    }

    /// Decodes the result of one command into `T`.
    ///
    /// Fails with the command's classified error when it failed (for example
    /// [`Error::Auth`] for `insufficient_scope`), and with
    /// [`Error::MissingBatchResult`] when the portal returned nothing for it.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let value = self.value(key)?;
        let method = self.method_of(key);
        decode_value(method, &format!("result.result.{key}"), value)
    }

    /// Moves the raw result of one command out, failing as [`BatchResults::get`]
    /// does. A later call for the same key fails with
    /// [`Error::MissingBatchResult`].
    ///
    /// Long listings take their pages one by one this way, so a page is never
    /// held twice.
    pub fn take(&mut self, key: &str) -> Result<Value> {
        self.value(key)?;
        Ok(self.results.remove(key).unwrap_or(Value::Null))
    }

    /// Returns the raw result of one command, or its error as [`BatchResults::get`] does.
    pub fn value(&self, key: &str) -> Result<&Value> {
        let method = self.method_of(key);
        if let Some(error) = self.errors.get(key) {
            return Err(response::classify(method, error.clone(), None, None));
        }
        self.results
            .get(key)
            .ok_or_else(|| Error::MissingBatchResult {
                key: key.to_owned(),
                method: method.to_owned(),
            })
    }

    /// Returns the portal's error for a command, if it failed.
    pub fn error(&self, key: &str) -> Option<&ApiError> {
        self.errors.get(key)
    }

    /// Returns `total` of a list command.
    pub fn total(&self, key: &str) -> Option<u64> {
        self.totals.get(key).copied()
    }

    /// Returns `next` of a list command that has another page.
    pub fn next(&self, key: &str) -> Option<u64> {
        self.nexts.get(key).copied()
    }

    /// Returns the portal's timing of a command that succeeded.
    pub fn time(&self, key: &str) -> Option<&ResponseTime> {
        self.times.get(key)
    }

    /// Returns the keys of the commands sent, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.sent.iter().map(|(key, _)| key.as_str())
    }

    /// Returns whether any command failed or is missing.
    pub fn has_failures(&self) -> bool {
        self.sent
            .iter()
            .any(|(key, _)| self.errors.contains_key(key) || !self.results.contains_key(key))
    }

    /// Returns every command's outcome in the order sent.
    pub fn into_results(mut self) -> Vec<(String, Result<Value>)> {
        let keys: Vec<String> = self.sent.iter().map(|(key, _)| key.clone()).collect();
        keys.into_iter()
            .map(|key| {
                let outcome = self.take(&key);
                (key, outcome)
            })
            .collect()
    }

    fn method_of(&self, key: &str) -> &str {
        self.sent
            .iter()
            .find(|(sent, _)| sent == key)
            .map(|(_, method)| method.as_str())
            .unwrap_or("batch")
    }
}

fn numbers(section: BTreeMap<String, Value>) -> BTreeMap<String, u64> {
    section
        .into_iter()
        .filter_map(|(key, value)| Some((key, de::u64_from_value(&value)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn client() -> Client {
        Client::new("https://example.bitrix24.ru/rest/1/hookkey/").unwrap()
    }

    #[test]
    fn body_keeps_command_order() {
        let mut batch = client().batch();
        batch.add("zeta", "user.current", &()).unwrap();
        batch
            .add(
                "alpha",
                "department.get",
                &json!({"ID": "$result[zeta][UF_DEPARTMENT][0]"}),
            )
            .unwrap();

        let body = request_body(batch.commands(), false).unwrap();

        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"halt":0,"cmd":{"zeta":"user.current","alpha":"department.get?ID=$result[zeta][UF_DEPARTMENT][0]"}}"#
        );
    }

    #[test]
    fn halt_is_sent_as_one() {
        let body = request_body(&[], true).unwrap();

        assert_eq!(String::from_utf8(body).unwrap(), r#"{"halt":1,"cmd":{}}"#);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let mut batch = client().batch();
        batch.add("a", "crm.deal.get", &json!({"id": 1})).unwrap();

        assert!(batch.add("a", "crm.deal.get", &json!({"id": 2})).is_err());
        assert!(batch.add("a b", "crm.deal.get", &json!({"id": 2})).is_err());
        assert!(batch.add("", "crm.deal.get", &json!({"id": 2})).is_err());
    }

    #[test]
    fn chunks_by_count_and_size() {
        let mut batch = client().batch().max_body_bytes(200);
        for index in 0..120 {
            batch.push("crm.deal.get", &json!({"id": index})).unwrap();
        }
        let by_size = batch.chunks().len();

        let mut batch = client().batch();
        for index in 0..120 {
            batch.push("crm.deal.get", &json!({"id": index})).unwrap();
        }
        let sizes: Vec<usize> = batch.chunks().iter().map(|chunk| chunk.len()).collect();

        assert_eq!(sizes, vec![50, 50, 20]);
        assert!(by_size > 3);
    }

    #[test]
    fn idempotency_is_the_least_safe() {
        let mut batch = client().batch();
        batch.push("crm.deal.get", &json!({"id": 1})).unwrap();
        assert_eq!(batch.inferred_idempotency(), Idempotency::Read);

        batch.push("crm.deal.add", &json!({"fields": {}})).unwrap();
        assert_eq!(batch.inferred_idempotency(), Idempotency::Write);
    }
}
