//! The client's own password change.

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use bitrix_lk_core::PasswordChange;
use serde::Deserialize;
use tracing::info;

use crate::error::WebError;
use crate::pages::{self, Nav, Notice, PasswordPage};
use crate::session::{self, CurrentClient};
use crate::state::AppState;
use crate::view::{ClientView, Loaded};

/// The password form's fields.
#[derive(Debug, Default, Deserialize)]
// A missing field reads as empty, so a form without `csrf` gets the 403 page
// and one without a login the usual message, not axum's plain-text 422.
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    current: String,
    new: String,
    repeat: String,
}

/// `GET /password`.
pub async fn form(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
) -> Result<Response, WebError> {
    if let blocked @ (Loaded::Blocked(_) | Loaded::Unavailable) = loaded {
        return blocked.into_response(&state, &client);
    }
    render(&state, &client, None)
}

/// `POST /password`: changes the password; the other sessions end and this
/// browser gets a fresh session so the client stays logged in.
pub async fn change(
    State(state): State<AppState>,
    client: CurrentClient,
    jar: CookieJar,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    client.check_csrf(&form.csrf)?;
    if form.new != form.repeat {
        return render(
            &state,
            &client,
            Some(problem("Новый пароль и его повтор не совпадают.")),
        );
    }

    match state
        .provisioner()
        .change_password(client.deal_id, &form.current, &form.new)
        .await?
    {
        PasswordChange::Changed => {
            info!(deal.id = %client.deal_id, "client changed the password");
            let cookie = session::start(&state, client.deal_id).await?;
            let fresh = fresh_client(&state, &client, &cookie).await?;
            let notice = Notice {
                ok: true,
                text: "Пароль изменён.".to_owned(),
            };
            let page = render(&state, &fresh, Some(notice))?;
            Ok((jar.add(cookie), page).into_response())
        }
        PasswordChange::WrongCurrentPassword => render(
            &state,
            &client,
            Some(problem("Текущий пароль указан неверно.")),
        ),
        PasswordChange::Rejected(rejection) => {
            render(&state, &client, Some(problem(&rejection.to_string())))
        }
    }
}

async fn fresh_client(
    state: &AppState,
    old: &CurrentClient,
    cookie: &axum_extra::extract::cookie::Cookie<'_>,
) -> Result<CurrentClient, WebError> {
    let id = bitrix_lk_core::SessionId::new(cookie.value().to_owned());
    let session = state
        .store()
        .session(&id, jiff::Timestamp::now())
        .await?
        .ok_or(WebError::NotFound)?;
    Ok(CurrentClient {
        deal_id: old.deal_id,
        session_id: session.id,
        csrf: session.csrf_token,
    })
}

fn problem(text: &str) -> Notice {
    Notice {
        ok: false,
        text: text.to_owned(),
    }
}

fn render(
    state: &AppState,
    client: &CurrentClient,
    notice: Option<Notice>,
) -> Result<Response, WebError> {
    let nav = Nav::client(
        &state.config().branding,
        "password",
        client.csrf_token(),
        false,
    );
    Ok(pages::render(&PasswordPage { nav, notice })?.into_response())
}
