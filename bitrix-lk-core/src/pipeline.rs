//! Pipelines (deal categories) and their stages.

use serde::{Deserialize, Serialize};

use crate::ids::{CategoryId, StageId};

/// A deal pipeline with its stages in display order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The pipeline id (`CATEGORY_ID`).
    pub id: CategoryId,
    /// The pipeline name as staff see it.
    pub name: String,
    /// The stages sorted by `SORT`.
    pub stages: Vec<Stage>,
}

/// One stage of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// The stage code (`STATUS_ID` in `crm.status.list`, `STAGE_ID` on the deal).
    pub id: StageId,
    /// The stage name.
    pub name: String,
    /// The sort key (`SORT`).
    pub sort: i64,
    /// Whether the stage is a step of the case, its successful end, or a failure.
    pub semantics: StageSemantics,
}

/// The meaning Bitrix24 gives a stage (`SEMANTICS`: null, `S` or `F`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageSemantics {
    /// An ordinary stage of work in progress (`SEMANTICS` null).
    Process,
    /// The final success stage (`S`); a pipeline has exactly one.
    Success,
    /// A failure stage (`F`); a pipeline may have several.
    Failure,
}

/// How a stage icon is drawn for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IconState {
    /// A stage the case has passed (green).
    Done,
    /// The stage the case is in now (blue).
    Current,
    /// A stage not reached yet (red).
    Pending,
}

impl IconState {
    /// Returns the value of the `data-stage-state` page attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            IconState::Done => "done",
            IconState::Current => "current",
            IconState::Pending => "pending",
        }
    }
}
