//! The case pipeline, its stages and the debtor stages.

use bitrix_lk_core::{
    CategoryId, LkConfig, Pipeline, PipelineConfig, Stage, StageId, StageSemantics,
};
use bitrix24_client::methods::statuses::Status;
use bitrix24_client::{Client, EntityType, Semantics};

use super::connection::diagnose;
use super::report::Report;
use crate::exit::Exit;

/// Finds the configured pipeline, lists its stages and checks each debtor stage.
pub async fn check(client: &Client, config: &LkConfig, report: &mut Report) {
    let Some(pipeline) = find_pipeline(client, &config.pipeline, report).await else {
        return;
    };
    check_debtor_stages(client, &config.pipeline, &pipeline, report).await;
}

async fn find_pipeline(
    client: &Client,
    configured: &PipelineConfig,
    report: &mut Report,
) -> Option<Pipeline> {
    let host = client.webhook().host();
    let categories = match client.categories().all(EntityType::Deal).await {
        Ok(categories) => categories,
        Err(error) => {
            let (problem, advice) = diagnose(&error, host);
            report.fail(
                Exit::Bitrix24,
                format!("Воронки сделок не прочитаны: {problem}"),
                advice,
            );
            return None;
        }
    };
    let pipelines: Vec<Pipeline> = categories
        .iter()
        .map(|category| Pipeline {
            id: category.id,
            name: category.name.clone().unwrap_or_default(),
            stages: Vec::new(),
        })
        .collect();

    let Some(found) = configured.find(&pipelines) else {
        let known: Vec<String> = pipelines
            .iter()
            .map(|pipeline| format!("«{}» ({})", pipeline.name, pipeline.id))
            .collect();
        report.fail(
            Exit::Failed,
            format!("Воронка {} не найдена", describe(configured)),
            format!(
                "укажите pipeline.name точно как в Битрикс24 или pipeline.category_id; \
                 воронки сделок портала: {}",
                known.join(", ")
            ),
        );
        return None;
    };

    let stages = match read_stages(client, found.id).await {
        Ok(stages) => stages,
        Err(error) => {
            let (problem, advice) = diagnose(&error, host);
            report.fail(
                Exit::Bitrix24,
                format!("Стадии воронки не прочитаны: {problem}"),
                advice,
            );
            return None;
        }
    };
    let pipeline = Pipeline {
        stages,
        ..found.clone()
    };
    print_pipeline(&pipeline, report);
    Some(pipeline)
}

fn describe(configured: &PipelineConfig) -> String {
    match configured.category_id {
        Some(id) => format!("с id {id} (pipeline.category_id)"),
        None => format!("«{}» (pipeline.name)", configured.name),
    }
}

fn print_pipeline(pipeline: &Pipeline, report: &mut Report) {
    if pipeline.stages.is_empty() {
        report.fail(
            Exit::Failed,
            format!("Воронка «{}» ({}) без стадий", pipeline.name, pipeline.id),
            "добавьте стадии воронке в Битрикс24",
        );
        return;
    }
    report.pass(format!(
        "Воронка «{}» (id {}), стадий: {}",
        pipeline.name,
        pipeline.id,
        pipeline.stages.len()
    ));
    for stage in &pipeline.stages {
        let meaning = match stage.semantics {
            StageSemantics::Process => "",
            StageSemantics::Success => " (успешное завершение)",
            StageSemantics::Failure => " (провал)",
        };
        report.detail(format!("{}  {}{meaning}", stage.id, stage.name));
    }
}

/// Reads the stages of a deal pipeline in display order.
async fn read_stages(client: &Client, pipeline: CategoryId) -> bitrix24_client::Result<Vec<Stage>> {
    let directory = match pipeline.get() {
        0 => "DEAL_STAGE".to_owned(),
        id => format!("DEAL_STAGE_{id}"),
    };
    let statuses = client.statuses().directory(&directory).await?;
    Ok(statuses.iter().map(stage).collect())
}

fn stage(status: &Status) -> Stage {
    Stage {
        id: StageId(status.status_id.clone()),
        name: status.name.clone(),
        sort: status.sort.unwrap_or_default(),
        semantics: match status.semantics {
            Semantics::Process => StageSemantics::Process,
            Semantics::Success => StageSemantics::Success,
            Semantics::Failure => StageSemantics::Failure,
        },
    }
}

/// Checks each entry of `pipeline.debtor_stages`: a name or id of a stage of
/// the case pipeline, or the id of a stage of another pipeline.
async fn check_debtor_stages(
    client: &Client,
    config: &PipelineConfig,
    pipeline: &Pipeline,
    report: &mut Report,
) {
    if config.debtor_stages.is_empty() {
        report.warn(
            "Стадия должника не задана (pipeline.debtor_stages)",
            "без неё кабинет не покажет клиенту с долгом страницу «Должник»",
        );
        return;
    }
    for entry in &config.debtor_stages {
        let found = match find_stage(entry, config, &pipeline.stages) {
            Some(stage) => Some(stage.clone()),
            None => find_in_other_pipeline(client, entry, pipeline.id).await,
        };
        match found {
            Some(stage) => report.pass(format!(
                "Стадия должника «{entry}» найдена: {} «{}»",
                stage.id, stage.name
            )),
            None => report.fail(
                Exit::Failed,
                format!(
                    "Стадия должника «{entry}» не найдена в воронке «{}»",
                    pipeline.name
                ),
                "исправьте pipeline.debtor_stages: имя стадии точно как в Битрикс24 или её код \
                 (стадии воронки перечислены выше)",
            ),
        }
    }
}

/// Finds the stage one debtor entry names, by the same rule the cabinet uses.
fn find_stage<'a>(entry: &str, config: &PipelineConfig, stages: &'a [Stage]) -> Option<&'a Stage> {
    let single = PipelineConfig {
        debtor_stages: vec![entry.to_owned()],
        ..config.clone()
    };
    stages
        .iter()
        .find(|stage| single.is_debtor_stage(&stage.id, Some(&stage.name)))
}

/// Looks a stage code such as `C9:DEBTOR` up in its own pipeline when that
/// is not the case pipeline. Names and codes of the case pipeline return `None`.
async fn find_in_other_pipeline(client: &Client, entry: &str, case: CategoryId) -> Option<Stage> {
    let code = StageId(entry.trim().to_owned());
    if !code.as_str().contains(':') {
        return None;
    }
    let other = code.category().filter(|category| *category != case)?;
    let stages = read_stages(client, other).await.ok()?;
    stages
        .into_iter()
        .find(|stage| stage.id.as_str().eq_ignore_ascii_case(code.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(id: &str, name: &str) -> Stage {
        Stage {
            id: StageId::from(id),
            name: name.to_owned(),
            sort: 10,
            semantics: StageSemantics::Process,
        }
    }

    #[test]
    fn debtor_entry_matches_by_name_or_code() {
        let stages = [
            stage("C7:NEW", "Сбор документов"),
            stage("C7:UC_1", "Должник"),
        ];
        let config = PipelineConfig::default();

        assert_eq!(
            find_stage("должник", &config, &stages).map(|s| s.id.as_str()),
            Some("C7:UC_1")
        );
        assert_eq!(
            find_stage("C7:UC_1", &config, &stages).map(|s| s.id.as_str()),
            Some("C7:UC_1")
        );
        assert!(find_stage("Просрочка", &config, &stages).is_none());
    }
}
