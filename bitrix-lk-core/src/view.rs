//! The data every page of the cabinet shows, computed from the stored snapshots.
//!
//! [`CabinetView::build`] is a pure function: the web layer loads the deal,
//! the configured pipeline, the invoices and the account from the store and
//! renders the result. Texts from CRM fields are kept as they are; escaping
//! them is the template's job.

mod documents;
mod link;
mod payments;
mod stages;

pub use documents::{DocumentChecklist, DocumentRow, DocumentState};
pub use link::HttpUrl;
pub use payments::{PaidInvoice, PaymentSummary, client_invoices, contract_sum, paid_invoices};
pub use stages::StageStep;

use crate::account::{Account, Login, ReferralCode};
use crate::config::{BrandingConfig, LkConfig};
use crate::deal::Deal;
use crate::field::FieldValue;
use crate::ids::DealId;
use crate::invoice::Invoice;
use crate::pipeline::Pipeline;
use stages::Position;

/// The stage text shown when the deal is not in the case pipeline.
pub const NO_STATUS_TEXT: &str = "Нет статуса";

/// Everything the cabinet's pages show for one client.
#[derive(Clone, Debug, PartialEq)]
pub struct CabinetView {
    /// The client's deal.
    pub deal_id: DealId,
    /// The deal title.
    pub title: String,
    /// The client's login.
    pub login: Login,
    /// «Код рекомендателя».
    pub referral_code: ReferralCode,
    /// «Сообщение от компании», when the field is filled.
    pub company_message: Option<String>,
    /// The stage name, only when the deal is in the case pipeline and the stage is known.
    pub stage_name: Option<String>,
    /// «Статус для ЛК клиента», when filled: the text or the list item's label.
    pub client_status: Option<String>,
    /// «Посмотреть в Арбитражном суде»: only for an http(s) link, and only once
    /// the deal is in the case pipeline (before it there is no court case to show).
    pub court_link: Option<HttpUrl>,
    /// The case steps with their icons, also listed on the statuses page.
    pub steps: Vec<StageStep>,
    /// The share of done steps, 0 to 100.
    pub progress: u8,
    /// The video on the statuses page, when configured.
    pub video_url: Option<HttpUrl>,
    /// «Список необходимых документов».
    pub documents: DocumentChecklist,
    /// «Мои оплаты».
    pub payments: PaymentSummary,
    /// The paid invoices, oldest payment first.
    pub paid_invoices: Vec<PaidInvoice>,
    /// Set while the deal is in a debtor stage: every page shows the debtor page instead.
    pub blocked: Option<DebtorNotice>,
    /// The firm's name and contacts.
    pub branding: BrandingConfig,
}

/// The «Должник» page: why the cabinet is blocked, what is owed, whom to call.
#[derive(Clone, Debug, PartialEq)]
pub struct DebtorNotice {
    /// The debtor stage's name, when the deal is in the case pipeline.
    pub stage_name: Option<String>,
    /// The reason for the blocked cabinet (`branding.debtor_text`).
    pub reason: String,
    /// Contract, paid and remaining sums.
    pub payments: PaymentSummary,
    /// The firm's contacts.
    pub contacts: BrandingConfig,
}

impl CabinetView {
    /// Builds the view of one client's cabinet.
    ///
    /// `pipeline` is the configured case pipeline (see
    /// [`LkConfig::find_pipeline`]), or `None` when the stage cache does not
    /// have it yet; a pipeline that does not match the configuration is
    /// ignored. `invoices` may hold invoices of other deals: only the
    /// client's count. `account` must be the account of `deal`.
    pub fn build(
        deal: &Deal,
        pipeline: Option<&Pipeline>,
        invoices: &[Invoice],
        account: &Account,
        config: &LkConfig,
    ) -> CabinetView {
        let fields = &config.fields;
        let position = Position::locate(deal, pipeline, config);

        let steps = stages::build_steps(&position, config);
        let progress = stages::progress_percent(&steps);

        let own_invoices = client_invoices(deal, invoices, config.invoices.linkage);
        let payments = PaymentSummary::compute(
            contract_sum(deal.field(&fields.contract_sum)),
            &own_invoices,
        );

        let stage_name = position.current.map(|stage| stage.name.clone());
        let blocked = position.is_debtor(deal, config).then(|| DebtorNotice {
            stage_name: stage_name.clone(),
            reason: config.branding.debtor_text.clone(),
            payments: payments.clone(),
            contacts: config.branding.clone(),
        });

        CabinetView {
            deal_id: deal.id,
            title: deal.title.clone(),
            login: account.login.clone(),
            referral_code: account.referral_code.clone(),
            company_message: display_text(deal.field(&fields.message)),
            stage_name,
            client_status: display_text(deal.field(&fields.client_status)),
            court_link: court_link(deal, &position, config),
            steps,
            progress,
            video_url: config.statuses.video_url.clone(),
            documents: DocumentChecklist::build(deal, &config.documents),
            payments,
            paid_invoices: paid_invoices(&own_invoices),
            blocked,
            branding: config.branding.clone(),
        }
    }

    /// Returns the text after «Мое дело находится в стадии:»: the stage name or «Нет статуса».
    pub fn stage_text(&self) -> &str {
        self.stage_name.as_deref().unwrap_or(NO_STATUS_TEXT)
    }

    /// Returns whether every page must show the debtor page instead.
    pub fn is_blocked(&self) -> bool {
        self.blocked.is_some()
    }
}

/// Returns a field as display text: text as typed, a list item's label, a
/// number, or several items joined by commas. A list item whose label is
/// unknown is left out rather than shown as a bare id.
fn display_text(value: &FieldValue) -> Option<String> {
    match value {
        FieldValue::Text(text) => {
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        }
        FieldValue::Enum { label, .. } => label
            .as_deref()
            .map(str::trim)
            .filter(|label| !label.is_empty())
            .map(str::to_owned),
        FieldValue::Number(number) => Some(number.normalize().to_string()),
        FieldValue::List(items) => {
            let parts: Vec<String> = items.iter().filter_map(display_text).collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        }
        _ => None,
    }
}

fn court_link(deal: &Deal, position: &Position<'_>, config: &LkConfig) -> Option<HttpUrl> {
    if !position.in_pipeline {
        return None;
    }
    first_text(deal.field(&config.fields.court_link)).and_then(|text| HttpUrl::parse(&text))
}

/// Returns the first text of a field (the only one, or the first of a multiple field).
fn first_text(value: &FieldValue) -> Option<String> {
    match value {
        FieldValue::Text(text) => Some(text.clone()),
        FieldValue::List(items) => items
            .iter()
            .find(|item| !item.is_empty())
            .and_then(first_text),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
