//! The success envelope of a REST call: `result`, `next`, `total` and `time`.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::de;
use crate::error::{Error, Result};

/// A decoded success response.
#[derive(Clone, Debug)]
pub struct Envelope<T> {
    /// The method's payload.
    pub result: T,
    /// The `start` value of the next page, present on list methods when another page exists.
    pub next: Option<u64>,
    /// The number of rows matching a listing (0 when the call used `start=-1`).
    pub total: Option<u64>,
    /// The portal's timing of the call, including the method's operating time.
    pub time: Option<ResponseTime>,
}

/// The `time` block of a response.
///
/// `operating` is the method's server time used in the last ten minutes and
/// drives the client's slow-down before the portal returns `OPERATION_TIME_LIMIT`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ResponseTime {
    /// Unix time the portal started the call, in seconds.
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub start: Option<f64>,
    /// Unix time the portal finished the call, in seconds.
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub finish: Option<f64>,
    /// Wall time of the call in seconds.
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub duration: Option<f64>,
    /// Processing time of the call in seconds.
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub processing: Option<f64>,
    /// Server time this method used in the current ten-minute window, in seconds.
    #[serde(default, deserialize_with = "de::opt_f64")]
    pub operating: Option<f64>,
    /// Unix time when the oldest minute of `operating` expires.
    #[serde(default, deserialize_with = "de::opt_i64")]
    pub operating_reset_at: Option<i64>,
    /// Start of the call in the portal's time zone, as sent.
    #[serde(default)]
    pub date_start: Option<String>,
    /// End of the call in the portal's time zone, as sent.
    #[serde(default)]
    pub date_finish: Option<String>,
}

impl ResponseTime {
    /// Returns `operating_reset_at` as an instant.
    pub fn operating_reset_at(&self) -> Option<Timestamp> {
        self.operating_reset_at
            .and_then(|second| Timestamp::from_second(second).ok())
    }
}

impl Envelope<Value> {
    /// Splits a success body into the envelope parts, keeping `result` as JSON.
    pub(crate) fn from_body(method: &str, body: Value) -> Result<Self> {
        let Value::Object(mut map) = body else {
            return Err(Error::Decode {
                method: method.to_owned(),
                path: ".".to_owned(),
                source: serde::de::Error::custom("expected a JSON object"),
            });
        };

        let result = map.remove("result").ok_or_else(|| Error::Decode {
            method: method.to_owned(),
            path: "result".to_owned(),
            source: serde::de::Error::missing_field("result"),
        })?;
        let next = map.get("next").and_then(de::u64_from_value);
        let total = map.get("total").and_then(de::u64_from_value);
        let time = map
            .remove("time")
            .and_then(|time| serde_json::from_value(time).ok());

        Ok(Self {
            result,
            next,
            total,
            time,
        })
    }

    /// Decodes `result` into `T`; a failure names the JSON path under `result`.
    pub fn decode<T: DeserializeOwned>(self, method: &str) -> Result<Envelope<T>> {
        let result = decode_value(method, "result", self.result)?;
        Ok(Envelope {
            result,
            next: self.next,
            total: self.total,
            time: self.time,
        })
    }
}

/// Decodes a JSON value into `T`, naming the failing path below `prefix`.
pub(crate) fn decode_value<'de, T, D>(method: &str, prefix: &str, value: D) -> Result<T>
where
    T: Deserialize<'de>,
    D: Deserializer<'de, Error = serde_json::Error>,
{
    serde_path_to_error::deserialize(value).map_err(|error| {
        let inner = error.path().to_string();
        let path = if inner == "." {
            prefix.to_owned()
        } else if inner.starts_with('[') {
            format!("{prefix}{inner}")
        } else {
            format!("{prefix}.{inner}")
        };
        Error::Decode {
            method: method.to_owned(),
            path,
            source: error.into_inner(),
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn envelope_reads_paging_and_time() {
        let body = json!({
            "result": [1, 2],
            "next": 50,
            "total": "120",
            "time": {"start": 1.0, "operating": 3.3, "operating_reset_at": 1778747792}
        });

        let envelope = Envelope::from_body("crm.deal.list", body).unwrap();

        assert_eq!(envelope.next, Some(50));
        assert_eq!(envelope.total, Some(120));
        let time = envelope.time.unwrap();
        assert_eq!(time.operating, Some(3.3));
        assert_eq!(time.operating_reset_at().unwrap().as_second(), 1778747792);
    }

    #[test]
    fn missing_result_is_a_decode_error() {
        let error = Envelope::from_body("crm.deal.get", json!({"time": {}})).unwrap_err();

        assert!(matches!(error, Error::Decode { ref path, .. } if path == "result"));
    }

    #[test]
    fn decode_names_the_path() {
        let envelope =
            Envelope::from_body("x.list", json!({"result": [{"n": 1}, {"n": "x"}]})).unwrap();

        #[derive(Debug, serde::Deserialize)]
        struct Row {
            #[allow(dead_code)]
            n: u64,
        }
        let error = envelope.decode::<Vec<Row>>("x.list").unwrap_err();

        assert!(
            matches!(error, Error::Decode { ref path, .. } if path == "result[1].n"),
            "{error:?}"
        );
    }
}
