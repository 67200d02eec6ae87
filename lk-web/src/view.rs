//! Loading a client's cabinet from the local store. No Bitrix24 call: pages
//! keep working from the last known data when Bitrix24 is down.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use bitrix_lk_core::Deal;
use bitrix_lk_core::{Account, CabinetView, ClientCase, Invoice, LkConfig, Pipeline};
use jiff::Timestamp;

use crate::error::WebError;
use crate::pages::{self, Nav, UnavailablePage};
use crate::routes::debtor_page;
use crate::session::{self, CurrentClient};
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

/// A logged-in client's request with their cabinet, read from the store in
/// one call. Pages that show the case take it instead of [`CurrentClient`].
#[derive(Debug)]
pub struct ClientView {
    /// The logged-in client.
    pub client: CurrentClient,
    /// Their cabinet.
    pub loaded: Loaded,
}

impl FromRequestParts<AppState> for ClientView {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(id) = session::cookie_session(parts, state) else {
            return Err(session::to_login());
        };
        let linkage = state.config().invoices.linkage;

        let case = state
            .store()
            .client_case(&id, Timestamp::now(), linkage)
            .await;
        let case = match case {
            Ok(Some(case)) => case,
            Ok(None) => return Err(session::to_login()),
            Err(error) => return Err(WebError::from(error).into_response()),
        };

        let ClientCase {
            session,
            account,
            deal,
            pipelines,
            invoices,
        } = case;
        let client = CurrentClient::from(session);
        let loaded = build(account, deal, &pipelines, &invoices, state.config())
            .map_err(IntoResponse::into_response)?;
        Ok(ClientView { client, loaded })
    }
}

/// Applies the page rules to what the store has.
fn build(
    account: Option<Account>,
    deal: Option<Deal>,
    pipelines: &[Pipeline],
    invoices: &[Invoice],
    config: &LkConfig,
) -> Result<Loaded, WebError> {
    let Some(account) = account else {
        return Err(WebError::NotFound);
    };
    let Some(deal) = deal else {
        return Ok(Loaded::Unavailable);
    };

    let pipeline = config.pipeline.find(pipelines);
    let view = CabinetView::build(&deal, pipeline, invoices, &account, config);
    if view.is_blocked() {
        Ok(Loaded::Blocked(Box::new(view)))
    } else {
        Ok(Loaded::Ready(Box::new(view)))
    }
}
