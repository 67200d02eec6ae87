//! The case stages: the status line, the «Процесс выполнения» icons and the
//! statuses page.

use std::collections::HashMap;

use serde::Serialize;

use crate::config::LkConfig;
use crate::deal::Deal;
use crate::ids::StageId;
use crate::pipeline::{IconState, Pipeline, Stage, StageSemantics};

/// One step of the case: a stage of the case pipeline with its icon and explanation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StageStep {
    /// The stage code.
    pub stage_id: StageId,
    /// The stage name as staff named it.
    pub name: String,
    /// The icon state.
    pub state: IconState,
    /// The text that explains the stage to the client.
    pub description: String,
}

/// The deal's place in the configured pipeline.
#[derive(Clone, Copy, Debug)]
pub(super) struct Position<'a> {
    /// The configured pipeline, when the caller found it.
    pub pipeline: Option<&'a Pipeline>,
    /// Whether the deal is in the configured pipeline, whether or not its stage is known.
    pub in_pipeline: bool,
    /// The deal's stage, when the deal is in that pipeline and the stage is known.
    pub current: Option<&'a Stage>,
}

impl<'a> Position<'a> {
    /// Locates the deal. A pipeline that is not the configured one is ignored,
    /// so stage names of other pipelines never reach the client.
    pub fn locate(deal: &Deal, pipeline: Option<&'a Pipeline>, config: &LkConfig) -> Self {
        let pipeline = pipeline.filter(|pipeline| config.pipeline.matches(pipeline));
        // Without the cached pipeline, a configured id still shows where the deal is.
        let in_pipeline = pipeline
            .map(|pipeline| pipeline.id)
            .or(config.pipeline.category_id)
            .is_some_and(|id| id == deal.category_id);
        let current = pipeline.filter(|_| in_pipeline).and_then(|pipeline| {
            pipeline
                .stages
                .iter()
                .find(|stage| stage.id == deal.stage_id)
        });
        Self {
            pipeline,
            in_pipeline,
            current,
        }
    }

    /// Returns whether the deal is in a debtor stage: by stage id anywhere,
    /// by stage name only within the configured pipeline.
    pub fn is_debtor(&self, deal: &Deal, config: &LkConfig) -> bool {
        let name = self.current.map(|stage| stage.name.as_str());
        config.pipeline.is_debtor_stage(&deal.stage_id, name)
    }
}

/// Builds the step icons.
///
/// Steps are the process and success stages in sort order; failure stages
/// and debtor stages are not steps. The states follow the deal's stage:
///
/// - not in the pipeline, or in a stage the cached pipeline does not know:
///   every step is pending (0%);
/// - in the success stage: every step is done (100%);
/// - in a failure stage: every step is pending, because a closed case has
///   no position and its stage name already shows the client what happened;
/// - in a debtor stage: steps sorted before it are done and the rest are
///   pending, with no current step, since the work is paused there;
/// - otherwise: steps before the current stage are done, the current one
///   is current, the rest are pending.
pub(super) fn build_steps(position: &Position<'_>, config: &LkConfig) -> Vec<StageStep> {
    let Some(pipeline) = position.pipeline else {
        return Vec::new();
    };

    let mut ordered: Vec<&Stage> = pipeline.stages.iter().collect();
    ordered.sort_by_key(|stage| stage.sort);
    let rank: HashMap<&StageId, usize> = ordered
        .iter()
        .enumerate()
        .map(|(index, stage)| (&stage.id, index))
        .collect();

    let is_step = |stage: &&Stage| {
        stage.semantics != StageSemantics::Failure
            && !config
                .pipeline
                .is_debtor_stage(&stage.id, Some(&stage.name))
    };
    let state_of = state_rule(position.current, &rank, config);

    ordered
        .into_iter()
        .filter(is_step)
        .map(|stage| StageStep {
            stage_id: stage.id.clone(),
            name: stage.name.clone(),
            state: state_of(rank.get(&stage.id).copied().unwrap_or(usize::MAX)),
            description: config.statuses.description_for(stage).to_owned(),
        })
        .collect()
}

/// Returns the icon state of a step as a function of its rank in sort order.
fn state_rule(
    current: Option<&Stage>,
    rank: &HashMap<&StageId, usize>,
    config: &LkConfig,
) -> impl Fn(usize) -> IconState {
    enum Rule {
        AllPending,
        AllDone,
        DoneBefore(usize),
        Around(usize),
    }

    let rule = match current {
        None => Rule::AllPending,
        Some(stage) => {
            let current_rank = rank.get(&stage.id).copied().unwrap_or(0);
            match stage.semantics {
                StageSemantics::Success => Rule::AllDone,
                StageSemantics::Failure => Rule::AllPending,
                StageSemantics::Process
                    if config
                        .pipeline
                        .is_debtor_stage(&stage.id, Some(&stage.name)) =>
                {
                    Rule::DoneBefore(current_rank)
                }
                StageSemantics::Process => Rule::Around(current_rank),
            }
        }
    };

    move |step_rank| match rule {
        Rule::AllPending => IconState::Pending,
        Rule::AllDone => IconState::Done,
        Rule::DoneBefore(current) if step_rank < current => IconState::Done,
        Rule::DoneBefore(_) => IconState::Pending,
        Rule::Around(current) if step_rank < current => IconState::Done,
        Rule::Around(current) if step_rank == current => IconState::Current,
        Rule::Around(_) => IconState::Pending,
    }
}

/// Returns the share of done steps as a whole percentage, rounded down.
pub(super) fn progress_percent(steps: &[StageStep]) -> u8 {
    if steps.is_empty() {
        return 0;
    }
    let done = steps
        .iter()
        .filter(|step| step.state == IconState::Done)
        .count();
    u8::try_from(done * 100 / steps.len()).unwrap_or(100)
}
