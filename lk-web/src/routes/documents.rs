//! «Список необходимых документов» and uploads.

use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use bitrix_lk_core::{FieldCode, NewSpooledFile};
use jiff::Timestamp;
use serde::Deserialize;
use tracing::{info, warn};

use crate::error::WebError;
use crate::pages::{self, DocumentsPage, Nav, Notice};
use crate::state::AppState;
use crate::upload::{UploadProblem, detect_type, safe_file_name};
use crate::view::{ClientView, Loaded};

/// The outcome of the last upload, carried in the redirect's query.
#[derive(Debug, Default, Deserialize)]
pub struct UploadOutcome {
    uploaded: Option<String>,
    problem: Option<String>,
}

/// `GET /documents`.
pub async fn page(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
    Query(outcome): Query<UploadOutcome>,
) -> Result<Response, WebError> {
    let view = match super::case::open(&state, &client, loaded)? {
        Ok(view) => view,
        Err(substitute) => return Ok(substitute),
    };
    let notice = notice_for(&outcome, &view.documents);
    let sending = state.store().spooled_fields_of(client.deal_id).await?;
    let nav = Nav::client(
        &state.config().branding,
        "documents",
        client.csrf_token(),
        false,
    );
    let max_megabytes = state.config().web.max_upload_megabytes;
    Ok(pages::render(&DocumentsPage {
        nav,
        view: &view,
        notice,
        max_megabytes,
        sending,
    })?
    .into_response())
}

/// `POST /documents/{code}`: takes one file for one of the client's document
/// fields and queues it for Bitrix24. The deal comes from the session, never
/// from the request, so a client can only add to their own deal.
pub async fn upload(
    State(state): State<AppState>,
    ClientView { client, loaded }: ClientView,
    Path(code): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let field = FieldCode(code);
    if !state
        .config()
        .documents
        .iter()
        .any(|document| document.field == field)
    {
        return Err(WebError::NotFound);
    }
    if let Loaded::Blocked(_) | Loaded::Unavailable = loaded {
        return Ok(Redirect::to("/debtor").into_response());
    }

    let form = read_form(&mut multipart, state.config().web.max_upload_bytes()).await?;
    client.check_csrf(&form.csrf)?;

    let kind = match detect_type(&form.bytes) {
        Ok(kind) => kind,
        Err(problem) => {
            warn!(deal.id = %client.deal_id, field = %field, size = form.bytes.len(), "upload rejected");
            return Ok(
                Redirect::to(&format!("/documents?problem={}", problem_code(problem)))
                    .into_response(),
            );
        }
    };
    let file = NewSpooledFile {
        deal_id: client.deal_id,
        field: field.clone(),
        file_name: safe_file_name(&form.file_name, kind),
        content_type: kind.mime.to_owned(),
        bytes: form.bytes,
    };
    let spool_id = state
        .store()
        .spool_document(&file, Timestamp::now())
        .await?;
    state.wake_engine();
    info!(deal.id = %client.deal_id, field = %field, spool.id = %spool_id, size = file.bytes.len(), content_type = kind.mime, "document uploaded");

    Ok(Redirect::to(&format!("/documents?uploaded={field}")).into_response())
}

/// The fields of the upload form.
struct UploadForm {
    csrf: String,
    file_name: String,
    bytes: Vec<u8>,
}

async fn read_form(multipart: &mut Multipart, max_bytes: usize) -> Result<UploadForm, WebError> {
    let mut form = UploadForm {
        csrf: String::new(),
        file_name: String::new(),
        bytes: Vec::new(),
    };
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("csrf") => {
                form.csrf = field
                    .text()
                    .await
                    .map_err(|_| WebError::BadRequest("unreadable CSRF field"))?;
            }
            Some("file") => {
                form.file_name = field.file_name().unwrap_or_default().to_owned();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if form.bytes.len() + chunk.len() > max_bytes {
                        return Err(WebError::TooLarge);
                    }
                    form.bytes.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    Ok(form)
}

/// Maps a multipart failure: over the body limit is 413, anything else 400.
fn multipart_error(error: axum::extract::multipart::MultipartError) -> WebError {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        WebError::TooLarge
    } else {
        WebError::BadRequest("malformed multipart body")
    }
}

fn problem_code(problem: UploadProblem) -> &'static str {
    match problem {
        UploadProblem::Empty => "empty",
        UploadProblem::WrongType => "type",
    }
}

fn notice_for(
    outcome: &UploadOutcome,
    documents: &bitrix_lk_core::DocumentChecklist,
) -> Option<Notice> {
    if let Some(field) = &outcome.uploaded {
        let name = documents
            .row(&FieldCode(field.clone()))
            .map(|row| row.name.clone())?;
        return Some(Notice {
            ok: true,
            text: format!(
                "Файл «{name}» получен и передаётся вашему юристу. Когда юрист его получит, в списке появится отметка."
            ),
        });
    }
    let problem = match outcome.problem.as_deref()? {
        "empty" => UploadProblem::Empty,
        _ => UploadProblem::WrongType,
    };
    Some(Notice {
        ok: false,
        text: problem.message().to_owned(),
    })
}
