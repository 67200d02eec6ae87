//! The pages of a logged-in client: «Мое дело», payments, statuses, debtor.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::error::WebError;
use crate::pages::{self, CasePage, DebtorPage, Nav, PaymentsPage, StatusesPage};
use crate::session::CurrentClient;
use crate::state::AppState;
use crate::video::VideoEmbed;
use crate::view::{ClientView, Loaded};

/// `GET /`: «Мое дело».
pub async fn home(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
) -> Result<Response, WebError> {
    let view = match open(&state, &client, loaded)? {
        Ok(view) => view,
        Err(substitute) => return Ok(substitute),
    };
    let nav = Nav::client(&state.config().branding, "case", client.csrf_token(), false);
    Ok(pages::render(&CasePage { nav, view: &view })?.into_response())
}

/// `GET /payments`: the list of paid invoices.
pub async fn payments(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
) -> Result<Response, WebError> {
    let view = match open(&state, &client, loaded)? {
        Ok(view) => view,
        Err(substitute) => return Ok(substitute),
    };
    let nav = Nav::client(
        &state.config().branding,
        "payments",
        client.csrf_token(),
        false,
    );
    Ok(pages::render(&PaymentsPage { nav, view: &view })?.into_response())
}

/// `GET /statuses`: the video and every stage explained.
pub async fn statuses(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
) -> Result<Response, WebError> {
    let view = match open(&state, &client, loaded)? {
        Ok(view) => view,
        Err(substitute) => return Ok(substitute),
    };
    let nav = Nav::client(
        &state.config().branding,
        "statuses",
        client.csrf_token(),
        false,
    );
    let video = view
        .video_url
        .as_ref()
        .and_then(|url| VideoEmbed::from_url(url.as_str()));
    Ok(pages::render(&StatusesPage {
        nav,
        view: &view,
        video,
    })?
    .into_response())
}

/// `GET /debtor`: the debtor page while blocked; otherwise back to the case.
pub async fn debtor(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
) -> Result<Response, WebError> {
    match loaded {
        Loaded::Ready(_) => Ok(Redirect::to("/").into_response()),
        other => other.into_response(&state, &client),
    }
}

/// Opens the client's cabinet; `Err` contains the page shown instead
/// (debtor, data unavailable).
pub fn open(
    state: &AppState,
    client: &CurrentClient,
    loaded: Loaded,
) -> Result<Result<Box<bitrix_lk_core::CabinetView>, Response>, WebError> {
    match loaded {
        Loaded::Ready(view) => Ok(Ok(view)),
        other => Ok(Err(other.into_response(state, client)?)),
    }
}

/// Renders the debtor page of a blocked cabinet.
pub fn debtor_page(
    state: &AppState,
    client: &CurrentClient,
    view: &bitrix_lk_core::CabinetView,
) -> Result<Html<String>, WebError> {
    let nav = Nav::client(
        &state.config().branding,
        "debtor",
        client.csrf_token(),
        true,
    );
    pages::render(&DebtorPage { nav, view })
}
