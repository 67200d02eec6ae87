//! Status directories, pipeline stages included, through `crm.status.list`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::client::Client;
use crate::de;
use crate::error::Result;
use crate::methods::{ListRequest, Order};
use crate::paging::Rows;

/// The `crm.status.*` methods; get it with [`Client::statuses`].
#[derive(Clone, Copy, Debug)]
pub struct Statuses<'a> {
    client: &'a Client,
}

impl<'a> Statuses<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Starts a `crm.status.list` request. Unfiltered, it returns every
    /// directory (sources, contact types, ...), not only stages.
    pub fn list(&self) -> ListRequest<'a, Status> {
        ListRequest::new(self.client, "crm.status.list", Rows::Result, "ID")
    }

    /// Reads one directory in display order, such as `DEAL_STAGE` (pipeline 0),
    /// `DEAL_STAGE_5` or `SMART_INVOICE_STAGE_1`.
    ///
    /// ```no_run
    /// # async fn run(client: bitrix24_client::Client) -> bitrix24_client::Result<()> {
    /// use bitrix24_client::Semantics;
    ///
    /// let stages = client.statuses().directory("DEAL_STAGE_5").await?;
    /// let won = stages.iter().find(|stage| stage.semantics == Semantics::Success);
    /// # Ok(()) }
    /// ```
    pub async fn directory(&self, entity_id: &str) -> Result<Vec<Status>> {
        self.list()
            .filter("ENTITY_ID", entity_id)
            .order("SORT", Order::Asc)
            .all()
            .await
    }
}

/// One row of a status directory; for a pipeline, one stage.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Status {
    /// `ID`: the row id, not the stage code.
    #[serde(rename = "ID", deserialize_with = "de::u64_required")]
    pub id: u64,
    /// `ENTITY_ID`: the directory, such as `DEAL_STAGE_5`.
    #[serde(rename = "ENTITY_ID", default)]
    pub entity_id: String,
    /// `STATUS_ID`: the code that appears in `STAGE_ID`, such as `C5:NEW`.
    #[serde(rename = "STATUS_ID", deserialize_with = "text")]
    pub status_id: String,
    /// `NAME`.
    #[serde(rename = "NAME", default, deserialize_with = "text")]
    pub name: String,
    /// `SORT`.
    #[serde(rename = "SORT", default, deserialize_with = "de::opt_i64")]
    pub sort: Option<i64>,
    /// `SYSTEM`: whether the portal created the row.
    #[serde(rename = "SYSTEM", default, deserialize_with = "de::bool_or_false")]
    pub system: bool,
    /// `CATEGORY_ID`: the pipeline of a stage (`null` for pipeline 0).
    #[serde(rename = "CATEGORY_ID", default, deserialize_with = "de::opt_u64")]
    pub category_id: Option<u64>,
    /// `COLOR`, such as `#39A8EF`.
    #[serde(rename = "COLOR", default, deserialize_with = "de::opt_text")]
    pub color: Option<String>,
    /// `SEMANTICS`: `null` in progress, `S` success, `F` failure. Smart
    /// invoices and smart processes have only this; deals also have `EXTRA`.
    #[serde(rename = "SEMANTICS", default, deserialize_with = "semantics")]
    pub semantics: Semantics,
}

/// The meaning of a stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Semantics {
    /// Work in progress (`SEMANTICS` null).
    #[default]
    Process,
    /// The successful end (`S`); a pipeline has exactly one.
    Success,
    /// A failure (`F`); a pipeline may have several.
    Failure,
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<String, D::Error> {
    Ok(de::opt_text(deserializer)?.unwrap_or_default())
}

fn semantics<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Semantics, D::Error> {
    let value = Value::deserialize(deserializer)?;
    let text = match &value {
        Value::Null => return Ok(Semantics::Process),
        Value::String(text) => text.trim().to_ascii_lowercase(),
        other => {
            return Err(serde::de::Error::custom(format!(
                "expected S, F or null, got {other}"
            )));
        }
    };
    match text.as_str() {
        "" | "p" | "process" => Ok(Semantics::Process),
        "s" | "success" => Ok(Semantics::Success),
        "f" | "failure" | "apology" => Ok(Semantics::Failure),
        _ => Err(serde::de::Error::custom(format!(
            "expected S, F or null, got {value}"
        ))),
    }
}
