//! Loading a client's cabinet from the local store. No Bitrix24 call: pages
//! keep working from the last known data when Bitrix24 is down.

use axum::response::{IntoResponse, Response};
use bitrix_lk_core::InvoiceLinkage;
use bitrix_lk_core::{CabinetView, DealId};

use crate::error::WebError;
use crate::pages::{self, Nav, UnavailablePage};
use crate::routes::debtor_page;
use crate::session::CurrentClient;
use crate::state::AppState;

/// A client's cabinet as the store has it.
#[derive(Debug)]
pub enum Loaded {
    /// Everything is there and the cabinet is open.
    Ready(Box<CabinetView>),
    /// The deal is in a debtor stage: the debtor page replaces every page.
    Blocked(Box<CabinetView>),
    /// The account exists but the deal's snapshot does not (deleted in
    /// Bitrix24, or not read yet).
    Unavailable,
}

impl Loaded {
    /// Renders the page shown instead of the requested one.
    pub fn into_response(
        self,
        state: &AppState,
        client: &CurrentClient,
    ) -> Result<Response, WebError> {
        match self {
            Loaded::Ready(_) => Err(WebError::Internal(anyhow::anyhow!(
                "ready view has no substitute page"
            ))),
            Loaded::Blocked(view) => Ok(debtor_page(state, client, &view)?.into_response()),
            Loaded::Unavailable => {
                let nav = Nav::client(&state.config().branding, "", client.csrf_token(), true);
                Ok(pages::render(&UnavailablePage { nav })?.into_response())
            }
        }
    }
}

/// Builds the cabinet of a deal from the store.
pub async fn load_view(state: &AppState, deal_id: DealId) -> Result<Loaded, WebError> {
    let store = state.store();
    let config = state.config();

    let Some(account) = store.account_by_deal(deal_id).await? else {
        return Err(WebError::NotFound);
    };
    let Some(deal) = store.deal(deal_id).await? else {
        return Ok(Loaded::Unavailable);
    };
    let pipelines = store.pipelines().await?;
    let pipeline = config.pipeline.find(&pipelines);
    let contact = match config.invoices.linkage {
        InvoiceLinkage::DealAndContact => deal.contact_id,
        InvoiceLinkage::Deal => None,
    };
    let invoices = store.invoices_of(deal_id, contact).await?;

    let view = CabinetView::build(&deal, pipeline, &invoices, &account, config);
    if view.is_blocked() {
        Ok(Loaded::Blocked(Box::new(view)))
    } else {
        Ok(Loaded::Ready(Box::new(view)))
    }
}
