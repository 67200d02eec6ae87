//! The `[pipeline]` and `[statuses]` sections: which stages the client sees
//! and how they are explained.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::text::labels_match;
use super::{check, de};
use crate::error::Result;
use crate::ids::{CategoryId, StageId};
use crate::pipeline::{Pipeline, Stage};
use crate::view::HttpUrl;

/// The pipeline whose stages are the steps of the client's case.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelineConfig {
    /// The pipeline name, used when `category_id` is not set.
    pub name: String,
    /// The pipeline id (`CATEGORY_ID`); when set it wins over the name.
    pub category_id: Option<CategoryId>,
    /// Stage names or stage ids meaning the client is behind on payments.
    /// Names are matched within this pipeline only; a debtor stage of another
    /// pipeline must be given by its id, such as `C9:DEBTOR`.
    pub debtor_stages: Vec<String>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            name: "Исполнение Юр. отдел".to_owned(),
            category_id: None,
            debtor_stages: vec!["Должник".to_owned()],
        }
    }
}

impl PipelineConfig {
    /// Returns whether `pipeline` is the configured one: by id when
    /// `category_id` is set, else by name (ignoring case, spaces and `ё`).
    pub fn matches(&self, pipeline: &Pipeline) -> bool {
        match self.category_id {
            Some(id) => pipeline.id == id,
            None => labels_match(&pipeline.name, &self.name),
        }
    }

    /// Returns the configured pipeline among `pipelines`, if present.
    pub fn find<'a>(&self, pipelines: &'a [Pipeline]) -> Option<&'a Pipeline> {
        pipelines.iter().find(|pipeline| self.matches(pipeline))
    }

    /// Returns whether a stage is a debtor stage: its id is listed, or its
    /// name is when the name is known.
    pub fn is_debtor_stage(&self, stage_id: &StageId, stage_name: Option<&str>) -> bool {
        self.debtor_stages.iter().any(|entry| {
            entry.trim().eq_ignore_ascii_case(stage_id.as_str())
                || stage_name.is_some_and(|name| labels_match(entry, name))
        })
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.category_id.is_none() {
            check::not_blank(
                "pipeline.name",
                &self.name,
                "the name of the case pipeline (or set pipeline.category_id)",
            )?;
        }
        for (index, stage) in self.debtor_stages.iter().enumerate() {
            check::not_blank(
                &format!("pipeline.debtor_stages[{index}]"),
                stage,
                "a stage name or stage id",
            )?;
        }
        Ok(())
    }
}

/// The «Подробное описание статусов» page.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusesConfig {
    /// A video shown at the top of the page; hidden when not set.
    #[serde(deserialize_with = "de::optional_url")]
    pub video_url: Option<HttpUrl>,
    /// The text for a stage without its own description.
    pub default_description: String,
    /// Texts that explain stages to the client, keyed by stage name or stage id.
    pub descriptions: BTreeMap<String, String>,
}

impl Default for StatusesConfig {
    fn default() -> Self {
        let descriptions = [(
            "Должник",
            "Работа по делу приостановлена из-за задолженности по оплате услуг. \
             После погашения задолженности работа продолжится.",
        )]
        .into_iter()
        .map(|(stage, text)| (stage.to_owned(), text.to_owned()))
        .collect();

        Self {
            video_url: None,
            // Shown for passed and future stages as well as the current one,
            // so it must not claim the case is at this stage.
            default_description: "Юрист расскажет, что происходит на этом этапе, и сообщит, \
                                  если от вас что-то потребуется."
                .to_owned(),
            descriptions,
        }
    }
}

impl StatusesConfig {
    /// Returns the text for a stage: the one keyed by its id, else by its
    /// name, else the default text.
    pub fn description_for(&self, stage: &Stage) -> &str {
        let by_id = self
            .descriptions
            .iter()
            .find(|(key, _)| key.trim().eq_ignore_ascii_case(stage.id.as_str()));
        let by_name = || {
            self.descriptions
                .iter()
                .find(|(key, _)| labels_match(key, &stage.name))
        };

        by_id
            .or_else(by_name)
            .map_or(self.default_description.as_str(), |(_, text)| text.as_str())
    }

    pub(super) fn validate(&self) -> Result<()> {
        check::not_blank(
            "statuses.default_description",
            &self.default_description,
            "a text for stages without their own description",
        )?;
        for key in self.descriptions.keys() {
            check::not_blank(
                "statuses.descriptions",
                key,
                "a stage name or stage id as the key",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::pipeline::StageSemantics;

    fn stage(id: &str, name: &str) -> Stage {
        Stage {
            id: StageId::from(id),
            name: name.to_owned(),
            sort: 10,
            semantics: StageSemantics::Process,
        }
    }

    fn pipeline(id: u64, name: &str) -> Pipeline {
        Pipeline {
            id: CategoryId(id),
            name: name.to_owned(),
            stages: Vec::new(),
        }
    }

    #[rstest]
    #[case::by_name(None, pipeline(7, "Исполнение Юр. отдел"), true)]
    #[case::by_name_other_case(None, pipeline(7, "исполнение юр. отдел "), true)]
    #[case::other_name(None, pipeline(7, "Продажи"), false)]
    #[case::by_id(Some(7), pipeline(7, "Переименованная"), true)]
    #[case::id_wins_over_name(Some(8), pipeline(7, "Исполнение Юр. отдел"), false)]
    fn pipeline_matching(
        #[case] category_id: Option<u64>,
        #[case] candidate: Pipeline,
        #[case] expected: bool,
    ) {
        let config = PipelineConfig {
            category_id: category_id.map(CategoryId),
            ..PipelineConfig::default()
        };

        assert_eq!(config.matches(&candidate), expected);
    }

    #[test]
    fn find_picks_the_configured_pipeline() {
        let pipelines = [pipeline(0, "Общая"), pipeline(7, "Исполнение Юр. отдел")];

        let found = PipelineConfig::default().find(&pipelines);

        assert_eq!(found.map(|p| p.id), Some(CategoryId(7)));
    }

    #[rstest]
    #[case::by_name("C7:DEBT", Some("Должник"), true)]
    #[case::by_name_lower_case("C7:DEBT", Some("должник"), true)]
    #[case::by_listed_id("C9:DEBTOR", None, true)]
    #[case::by_listed_id_with_other_name("C9:DEBTOR", Some("Просрочка"), true)]
    #[case::other_stage("C7:WORK", Some("В работе"), false)]
    #[case::unknown_name("C7:DEBT", None, false)]
    fn debtor_stage_rule(
        #[case] stage_id: &str,
        #[case] stage_name: Option<&str>,
        #[case] expected: bool,
    ) {
        let config = PipelineConfig {
            debtor_stages: vec!["Должник".to_owned(), "C9:DEBTOR".to_owned()],
            ..PipelineConfig::default()
        };

        assert_eq!(
            config.is_debtor_stage(&StageId::from(stage_id), stage_name),
            expected
        );
    }

    #[rstest]
    #[case::by_id(stage("C7:COURT", "Суд"), "по id")]
    #[case::by_name(stage("C7:OTHER", "Сбор документов"), "по имени")]
    #[case::default_text(stage("C7:NEW", "Новая"), "по умолчанию")]
    fn description_lookup(#[case] stage: Stage, #[case] expected: &str) {
        let statuses = StatusesConfig {
            video_url: None,
            default_description: "по умолчанию".to_owned(),
            descriptions: [("C7:COURT", "по id"), ("сбор документов", "по имени")]
                .into_iter()
                .map(|(key, text)| (key.to_owned(), text.to_owned()))
                .collect(),
        };

        assert_eq!(statuses.description_for(&stage), expected);
    }
}
