//! Pipelines (categories), their stages and the other status directories.

/// The meaning of a stage for the portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StageSemantics {
    /// Work in progress (`SEMANTICS: null`, `EXTRA.SEMANTICS: "process"`).
    Process,
    /// The final success stage (`"S"`, `"success"`); one per pipeline.
    Success,
    /// A final failure stage (`"F"`, `"failure"`).
    Failure,
    /// A failure stage for analysis (`"F"`, `"apology"`).
    Apology,
}

impl StageSemantics {
    /// Returns the `SEMANTICS` letter of `crm.status.list` (`None` for in-progress).
    pub(crate) fn letter(self) -> Option<&'static str> {
        match self {
            StageSemantics::Process => None,
            StageSemantics::Success => Some("S"),
            StageSemantics::Failure | StageSemantics::Apology => Some("F"),
        }
    }

    /// Returns the deal's `STAGE_SEMANTIC_ID`.
    pub(crate) fn semantic_id(self) -> &'static str {
        self.letter().unwrap_or("P")
    }

    /// Returns `EXTRA.SEMANTICS` of deal stages.
    pub(crate) fn extra_name(self) -> &'static str {
        match self {
            StageSemantics::Process => "process",
            StageSemantics::Success => "success",
            StageSemantics::Failure => "failure",
            StageSemantics::Apology => "apology",
        }
    }

    pub(crate) fn default_color(self) -> &'static str {
        match self {
            StageSemantics::Process => "#39A8EF",
            StageSemantics::Success => "#7BD500",
            StageSemantics::Failure => "#FF5752",
            StageSemantics::Apology => "#FF5752",
        }
    }
}

/// A stage to create: its code inside the pipeline, name and meaning.
#[derive(Clone, Debug)]
pub struct StageSpec {
    /// The code after the pipeline prefix, e.g. `NEW` or `UC_4N2XQK`.
    pub code: String,
    /// The name staff see.
    pub name: String,
    /// The stage's meaning.
    pub semantics: StageSemantics,
    /// The sort order; `None` puts the stage after the existing ones.
    pub sort: Option<i64>,
}

impl StageSpec {
    /// Creates an in-progress stage.
    pub fn process(code: impl Into<String>, name: impl Into<String>) -> Self {
        Self::new(code, name, StageSemantics::Process)
    }

    /// Creates a stage with the given meaning.
    pub fn new(
        code: impl Into<String>,
        name: impl Into<String>,
        semantics: StageSemantics,
    ) -> Self {
        Self {
            code: code.into(),
            name: name.into(),
            semantics,
            sort: None,
        }
    }

    /// Sets the sort order (default: after the existing stages).
    pub fn with_sort(mut self, sort: i64) -> Self {
        self.sort = Some(sort);
        self
    }
}

/// A pipeline of deals (entity type 2) or smart invoices (entity type 31).
#[derive(Clone, Debug)]
pub(crate) struct Category {
    pub(crate) id: u64,
    pub(crate) entity_type_id: u32,
    pub(crate) name: String,
    pub(crate) sort: i64,
    pub(crate) is_default: bool,
}

/// One row of a status directory (`crm.status.list`).
#[derive(Clone, Debug)]
pub(crate) struct StatusRow {
    pub(crate) row_id: u64,
    pub(crate) entity_id: String,
    pub(crate) status_id: String,
    pub(crate) name: String,
    pub(crate) name_init: String,
    pub(crate) sort: i64,
    pub(crate) system: bool,
    pub(crate) category_id: Option<u64>,
    pub(crate) color: String,
    /// `Some` for stages; other directories (sources, types) have no semantics.
    pub(crate) semantics: Option<StageSemantics>,
    /// Deal stages carry `EXTRA`; smart-invoice stages do not.
    pub(crate) with_extra: bool,
}

/// Entity type ids the emulator models.
pub(crate) const DEAL: u32 = 2;
pub(crate) const SMART_INVOICE: u32 = 31;

/// Returns the status directory of a deal pipeline: `DEAL_STAGE` or `DEAL_STAGE_<id>`.
pub(crate) fn deal_stage_entity(category: u64) -> String {
    if category == 0 {
        "DEAL_STAGE".to_owned()
    } else {
        format!("DEAL_STAGE_{category}")
    }
}

/// Returns the stage-id prefix of a deal pipeline: `""` or `C<id>:`.
pub(crate) fn deal_stage_prefix(category: u64) -> String {
    if category == 0 {
        String::new()
    } else {
        format!("C{category}:")
    }
}

/// Returns the status directory of a smart-invoice pipeline.
pub(crate) fn smart_invoice_stage_entity(category: u64) -> String {
    format!("SMART_INVOICE_STAGE_{category}")
}

/// Returns the stage-id prefix of a smart-invoice pipeline: `DT31_<id>:`.
pub(crate) fn smart_invoice_stage_prefix(category: u64) -> String {
    format!("DT31_{category}:")
}

/// Returns the stages a new deal pipeline gets, as the portal creates them.
pub(crate) fn default_deal_stages() -> Vec<StageSpec> {
    vec![
        StageSpec::process("NEW", "Новая"),
        StageSpec::process("PREPARATION", "Подготовка документов"),
        StageSpec::process("PREPAYMENT_INVOICE", "Счёт на предоплату"),
        StageSpec::process("EXECUTING", "В работе"),
        StageSpec::process("FINAL_INVOICE", "Финальный счёт"),
        StageSpec::new("WON", "Сделка успешна", StageSemantics::Success),
        StageSpec::new("LOSE", "Сделка провалена", StageSemantics::Failure),
        StageSpec::new("APOLOGY", "Анализ причины провала", StageSemantics::Apology),
    ]
}

/// Returns the stages a smart-invoice pipeline gets.
pub(crate) fn default_smart_invoice_stages() -> Vec<StageSpec> {
    vec![
        StageSpec::process("N", "Новый"),
        StageSpec::process("S", "Отправлен клиенту"),
        StageSpec::new("P", "Оплачен", StageSemantics::Success),
        StageSpec::new("D", "Отклонён", StageSemantics::Failure),
    ]
}
