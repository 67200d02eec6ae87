//! The staff panel at `/staff`: plain HTML forms in Russian that change the
//! portal the way staff would in Bitrix24 (and so send the same events).
//!
//! A demo tool for loopback use: it has no login and no CSRF protection.

mod html;
mod pages;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;

use super::error::EmulatorError;
use super::portal::{NewContact, NewDeal, NewLegacyInvoice, NewSmartInvoice, Portal, UfValue};
use super::server::content_type;
use super::state::Shared;

type Fields = Form<HashMap<String, String>>;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/staff", get(list))
        .route("/staff/deals", post(create_deal))
        .route("/staff/deals/{id}", get(card))
        .route("/staff/deals/{id}/stage", post(move_stage))
        .route("/staff/deals/{id}/field", post(set_field))
        .route("/staff/deals/{id}/trigger", post(set_trigger))
        .route("/staff/deals/{id}/files", post(upload))
        .route("/staff/deals/{id}/files/{file}/delete", post(delete_file))
        .route("/staff/deals/{id}/invoices", post(add_invoice))
        .route("/staff/deals/{id}/delete", post(delete_deal))
        .route("/staff/invoices/{kind}/{id}/pay", post(pay_invoice))
        .route("/staff/invoices/{kind}/{id}/delete", post(delete_invoice))
        .route("/staff/files/{id}", get(download))
}

/// Shows why a staff action failed: a Russian line for the person at the
/// panel, with the emulator's own (English) reason after it for developers.
fn failure(err: impl std::fmt::Display) -> Response {
    let reason = err.to_string();
    let hint = if reason.contains("money") {
        " Сумму вводите числом или как 150000|RUB."
    } else {
        ""
    };
    let text = format!("Не удалось сохранить изменение.{hint} Подробности: {reason}");
    (StatusCode::BAD_REQUEST, Html(html::error(&text))).into_response()
}

fn back_to(deal: u64) -> Response {
    Redirect::to(&format!("/staff/deals/{deal}")).into_response()
}

fn done(result: Result<(), EmulatorError>, deal: u64) -> Response {
    match result {
        Ok(()) => back_to(deal),
        Err(err) => failure(err),
    }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("").trim()
}

async fn list(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    let search = query.get("q").map(String::as_str).unwrap_or("").trim();
    let page_number = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    Html(pages::deal_list(&shared, search, page_number))
}

async fn card(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    match pages::deal_card(&shared, id) {
        Some(page) => Html(page).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(html::error(&format!("Сделка {id} не найдена"))),
        )
            .into_response(),
    }
}

async fn create_deal(State(shared): State<Arc<Shared>>, Form(form): Fields) -> Response {
    let portal = Portal::new(shared);
    let title = field(&form, "title");
    if title.is_empty() {
        return failure("Укажите название сделки");
    }
    let pipeline = field(&form, "pipeline").parse().unwrap_or(0);
    let (first, last) = field(&form, "client")
        .split_once(' ')
        .map(|(last, first)| (first.to_owned(), last.to_owned()))
        .unwrap_or_else(|| (String::new(), field(&form, "client").to_owned()));
    let contact = portal.add_contact(NewContact::new(first, last));
    match portal.create_deal(NewDeal::new(title).pipeline(pipeline).contact(contact)) {
        Ok(id) => back_to(id),
        Err(err) => failure(err),
    }
}

/// Moves within the pipeline, or to another pipeline when the stage belongs to one.
async fn move_stage(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Form(form): Fields,
) -> Response {
    let portal = Portal::new(shared);
    let stage = field(&form, "stage");
    let Some(deal) = portal.deal(id) else {
        return failure(format!("Сделка {id} не найдена"));
    };
    let target = portal
        .deal_pipelines()
        .into_iter()
        .find(|p| p.stages.iter().any(|s| s.id == stage));
    let result = match target {
        Some(pipeline) if pipeline.id != deal.pipeline => {
            portal.move_to_pipeline(id, pipeline.id, Some(stage))
        }
        Some(_) => portal.move_stage(id, stage),
        None => return failure(format!("Стадия {stage} не найдена")),
    };
    done(result, id)
}

async fn set_field(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Form(form): Fields,
) -> Response {
    let portal = Portal::new(shared);
    let code = field(&form, "field");
    let value = form.get("value").map(String::as_str).unwrap_or("");
    let value = if value.trim().is_empty() {
        UfValue::Empty
    } else {
        UfValue::text(value)
    };
    done(portal.set_field(id, code, value), id)
}

async fn set_trigger(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let fields = shared.staff_fields.clone();
    let portal = Portal::new(shared);
    done(
        portal.set_field(id, &fields.trigger, UfValue::text(fields.trigger_value)),
        id,
    )
}

async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    mut multipart: Multipart,
) -> Response {
    let portal = Portal::new(shared);
    let mut code = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let part = match multipart.next_field().await {
            Ok(Some(part)) => part,
            Ok(None) => break,
            Err(err) => return failure(format!("Не удалось прочитать форму: {err}")),
        };
        let name = part.name().unwrap_or("").to_owned();
        let file_name = part.file_name().map(str::to_owned);
        let bytes = match part.bytes().await {
            Ok(bytes) => bytes,
            Err(err) => return failure(format!("Не удалось прочитать файл: {err}")),
        };
        match name.as_str() {
            "field" => code = String::from_utf8_lossy(&bytes).trim().to_owned(),
            "file" => {
                file = Some((
                    file_name.unwrap_or_else(|| "document".to_owned()),
                    bytes.to_vec(),
                ))
            }
            _ => {}
        }
    }
    let Some((name, bytes)) = file.filter(|(_, bytes)| !bytes.is_empty()) else {
        return failure("Выберите файл");
    };
    done(portal.attach_file(id, &code, &name, bytes).map(|_| ()), id)
}

async fn delete_file(
    State(shared): State<Arc<Shared>>,
    Path((id, file)): Path<(u64, u64)>,
    Form(form): Fields,
) -> Response {
    let portal = Portal::new(shared);
    done(portal.remove_file(id, field(&form, "field"), file), id)
}

async fn add_invoice(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<u64>,
    Form(form): Fields,
) -> Response {
    let portal = Portal::new(shared);
    let Some(deal) = portal.deal(id) else {
        return failure(format!("Сделка {id} не найдена"));
    };
    let amount_text = field(&form, "amount")
        .replace([' ', '\u{a0}'], "")
        .replace(',', ".");
    let Ok(amount) = amount_text.parse::<Decimal>() else {
        return failure("Сумма должна быть числом, например 15000 или 15000.50");
    };
    let title = match field(&form, "title") {
        "" => "Оплата по договору".to_owned(),
        title => title.to_owned(),
    };
    let paid = form.contains_key("paid");

    let result = if field(&form, "kind") == "legacy" {
        let mut invoice = NewLegacyInvoice::new(title, amount).deal(id);
        if let Some(contact) = deal.contact_id {
            invoice = invoice.contact(contact);
        }
        if paid {
            invoice = invoice.status("P");
        }
        portal.add_legacy_invoice(invoice)
    } else {
        let mut invoice = NewSmartInvoice::new(title, amount).deal(id);
        if let Some(contact) = deal.contact_id {
            invoice = invoice.contact(contact);
        }
        if paid {
            invoice = invoice.paid();
        }
        portal.add_smart_invoice(invoice)
    };
    done(result.map(|_| ()), id)
}

async fn delete_deal(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    match Portal::new(shared).delete_deal(id) {
        Ok(()) => Redirect::to("/staff").into_response(),
        Err(err) => failure(err),
    }
}

async fn pay_invoice(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, u64)>,
    Form(form): Fields,
) -> Response {
    let portal = Portal::new(shared);
    let deal = field(&form, "deal").parse().unwrap_or(0);
    let result = match kind.as_str() {
        "legacy" => portal.pay_legacy_invoice(id),
        _ => portal.pay_smart_invoice(id),
    };
    done(result, deal)
}

async fn delete_invoice(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, u64)>,
    Form(form): Fields,
) -> Response {
    let portal = Portal::new(shared);
    let deal = field(&form, "deal").parse().unwrap_or(0);
    let result = match kind.as_str() {
        "legacy" => portal.delete_legacy_invoice(id),
        _ => portal.delete_smart_invoice(id),
    };
    done(result, deal)
}

async fn download(State(shared): State<Arc<Shared>>, Path(id): Path<u64>) -> Response {
    let Some(file) = Portal::new(shared).file(id) else {
        return (StatusCode::NOT_FOUND, Html(html::error("Файл не найден"))).into_response();
    };
    let mut response = file.bytes.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file.name)),
    );
    response
}
