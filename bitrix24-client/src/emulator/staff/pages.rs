//! The two pages of the staff panel: the deal list and the deal card.

use std::fmt::Write;
use std::sync::Arc;

use super::html::{button, escape, page};
use crate::emulator::clock;
use crate::emulator::data::PortalData;
use crate::emulator::data::fields::{UserField, UserFieldType};
use crate::emulator::data::pipelines;
use crate::emulator::data::table::Record;
use crate::emulator::data::values::Scalar;
use crate::emulator::portal::Portal;
use crate::emulator::state::Shared;

const PAGE_SIZE: usize = 50;

/// Renders a user field's value as staff read it (enumeration labels, dates in the portal's offset).
fn field_text(data: &PortalData, field: &UserField, record: &Record) -> String {
    record
        .uf_values(&field.name)
        .iter()
        .map(|value| match value {
            Scalar::Int(id) if field.kind == UserFieldType::Enumeration => field
                .items
                .iter()
                .find(|item| item.id as i64 == *id)
                .map(|item| item.value.clone())
                .unwrap_or_else(|| id.to_string()),
            Scalar::Str(text) => text.clone(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Decimal(d) => d.to_string(),
            Scalar::Bool(flag) => if *flag { "да" } else { "нет" }.to_owned(),
            Scalar::Date(day) => day.to_string(),
            Scalar::DateTime(ts) => clock::datetime(*ts, data.offset),
            Scalar::File(id) => format!("файл {id}"),
            Scalar::IntList(items) => format!("{items:?}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn text_of(data: &PortalData, record: &Record, code: &str) -> String {
    data.deal_field(code)
        .map(|field| field_text(data, field, record))
        .unwrap_or_default()
}

fn stage_name(data: &PortalData, record: &Record) -> String {
    let category = record.int("CATEGORY_ID").unwrap_or(0) as u64;
    let stage = record.text("STAGE_ID").unwrap_or_default();
    data.stage_in(pipelines::DEAL, category, stage)
        .map(|row| row.name.clone())
        .unwrap_or_else(|| stage.to_owned())
}

fn pipeline_name(data: &PortalData, record: &Record) -> String {
    let category = record.int("CATEGORY_ID").unwrap_or(0) as u64;
    data.category(pipelines::DEAL, category)
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

/// The list of deals, newest first, 50 a page, with a title or id search.
pub(crate) fn deal_list(shared: &Shared, search: &str, page_number: usize) -> String {
    let fields = &shared.staff_fields;
    shared.read(|data| {
        let needle = search.to_lowercase();
        let matching: Vec<&Record> = data
            .deals
            .rows()
            .values()
            .rev()
            .filter(|r| {
                needle.is_empty()
                    || r.id.to_string() == needle
                    || r.text("TITLE").is_some_and(|t| t.to_lowercase().contains(&needle))
            })
            .collect();

        let mut body = String::from("<h1>Сделки</h1>");
        let _ = write!(
            body,
            "<form method=\"get\" action=\"/staff\"><input type=\"text\" name=\"q\" value=\"{}\" placeholder=\"Название или номер сделки\"> <button>Найти</button></form>",
            escape(search)
        );
        body.push_str("<table><tr><th>ID</th><th>Сделка</th><th>Воронка</th><th>Стадия</th><th>Создать ЛК</th><th>Логин ЛК</th><th>Пароль ЛК</th><th>Изменена</th></tr>");
        for record in matching.iter().skip((page_number - 1) * PAGE_SIZE).take(PAGE_SIZE) {
            let modified = match record.get("DATE_MODIFY") {
                Some(Scalar::DateTime(ts)) => clock::datetime(*ts, data.offset),
                _ => String::new(),
            };
            let _ = write!(
                body,
                "<tr><td>{id}</td><td><a href=\"/staff/deals/{id}\">{title}</a></td><td>{pipeline}</td><td>{stage}</td><td>{trigger}</td><td>{login}</td><td>{password}</td><td>{modified}</td></tr>",
                id = record.id,
                title = escape(record.text("TITLE").unwrap_or_default()),
                pipeline = escape(&pipeline_name(data, record)),
                stage = escape(&stage_name(data, record)),
                trigger = escape(&text_of(data, record, &fields.trigger)),
                login = escape(&text_of(data, record, &fields.login)),
                password = escape(&text_of(data, record, &fields.password)),
                modified = escape(&modified),
            );
        }
        body.push_str("</table>");
        pager(&mut body, search, page_number, matching.len());
        new_deal_form(&mut body, data);
        page("Сделки", &body)
    })
}

fn pager(body: &mut String, search: &str, page_number: usize, total: usize) {
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let _ = write!(
        body,
        "<p class=\"muted\">Всего: {total}. Страница {page_number} из {pages}."
    );
    let query = escape(&crate::emulator::php_form::php_urlencode(search));
    if page_number > 1 {
        let _ = write!(
            body,
            " <a href=\"/staff?q={query}&amp;page={}\">← назад</a>",
            page_number - 1
        );
    }
    if page_number < pages {
        let _ = write!(
            body,
            " <a href=\"/staff?q={query}&amp;page={}\">вперёд →</a>",
            page_number + 1
        );
    }
    body.push_str("</p>");
}

fn new_deal_form(body: &mut String, data: &PortalData) {
    body.push_str("<section><h2>Новая сделка</h2><form method=\"post\" action=\"/staff/deals\">");
    body.push_str("<p><label>Название <input type=\"text\" name=\"title\" required></label></p>");
    body.push_str("<p><label>Клиент (фамилия и имя) <input type=\"text\" name=\"client\"></label></p><p><label>Воронка <select name=\"pipeline\">");
    for category in data
        .categories
        .iter()
        .filter(|c| c.entity_type_id == pipelines::DEAL)
    {
        let _ = write!(
            body,
            "<option value=\"{}\">{}</option>",
            category.id,
            escape(&category.name)
        );
    }
    body.push_str("</select></label></p><button>Создать сделку</button></form></section>");
}

/// The deal card with every form staff use.
pub(crate) fn deal_card(shared: &Arc<Shared>, id: u64) -> Option<String> {
    let body = shared.read(|data| {
        let record = data.deals.get(id)?;
        let mut body = format!(
            "<h1>{}</h1><p>Сделка №{id}. Воронка: <b>{}</b>. Стадия: <b>{}</b>.</p>",
            escape(record.text("TITLE").unwrap_or_default()),
            escape(&pipeline_name(data, record)),
            escape(&stage_name(data, record)),
        );
        stage_form(&mut body, data, record);
        account_section(&mut body, shared, data, record);
        fields_section(&mut body, data, record);
        documents_section(&mut body, data, record);
        Some(body)
    })?;

    let mut body = body;
    invoices_section(&mut body, &Portal::new(shared.clone()), id);
    let _ = write!(
        body,
        "<section><h2>Удаление</h2>{}</section>",
        button(&format!("/staff/deals/{id}/delete"), "Удалить сделку", &[])
    );
    Some(page("Сделка", &body))
}

fn stage_form(body: &mut String, data: &PortalData, record: &Record) {
    let current = record.text("STAGE_ID").unwrap_or_default();
    let _ = write!(
        body,
        "<section><h2>Стадия</h2><form method=\"post\" action=\"/staff/deals/{}/stage\"><select name=\"stage\">",
        record.id
    );
    for category in data
        .categories
        .iter()
        .filter(|c| c.entity_type_id == pipelines::DEAL)
    {
        let _ = write!(body, "<optgroup label=\"{}\">", escape(&category.name));
        for stage in data.stages(pipelines::DEAL, category.id) {
            let selected = if stage.status_id == current {
                " selected"
            } else {
                ""
            };
            let _ = write!(
                body,
                "<option value=\"{}\"{selected}>{}</option>",
                escape(&stage.status_id),
                escape(&stage.name)
            );
        }
        body.push_str("</optgroup>");
    }
    body.push_str("</select> <button>Перевести</button></form><p class=\"muted\">Перевод в другую воронку не отправляет событие изменения сделки, как и в Битрикс24.</p></section>");
}

fn account_section(body: &mut String, shared: &Shared, data: &PortalData, record: &Record) {
    let fields = &shared.staff_fields;
    let _ = write!(
        body,
        "<section><h2>Личный кабинет клиента</h2><p>Создать ЛК клиенту: <b>{}</b> {}</p><p>Логин: <b>{}</b>, пароль: <b>{}</b></p></section>",
        escape(&text_of(data, record, &fields.trigger)),
        button(
            &format!("/staff/deals/{}/trigger", record.id),
            &format!("Создать ЛК клиенту («{}»)", fields.trigger_value),
            &[]
        ),
        escape(&text_of(data, record, &fields.login)),
        escape(&text_of(data, record, &fields.password)),
    );
}

fn fields_section(body: &mut String, data: &PortalData, record: &Record) {
    body.push_str("<section><h2>Поля сделки</h2><table>");
    for field in data
        .deal_fields
        .iter()
        .filter(|f| f.kind != UserFieldType::File)
    {
        let value = field_text(data, field, record);
        let input = if field.kind == UserFieldType::Enumeration {
            let mut select =
                String::from("<select name=\"value\"><option value=\"\">(пусто)</option>");
            for item in &field.items {
                let selected = if value == item.value { " selected" } else { "" };
                let _ = write!(
                    select,
                    "<option value=\"{}\"{selected}>{}</option>",
                    item.id,
                    escape(&item.value)
                );
            }
            select.push_str("</select>");
            select
        } else if field.kind == UserFieldType::String && value.len() > 60 {
            format!(
                "<textarea name=\"value\" rows=\"3\">{}</textarea>",
                escape(&value)
            )
        } else {
            format!(
                "<input type=\"text\" name=\"value\" value=\"{}\">",
                escape(&value)
            )
        };
        let _ = write!(
            body,
            "<tr><th>{label}<br><span class=\"muted\">{code}</span></th><td><form method=\"post\" action=\"/staff/deals/{id}/field\"><input type=\"hidden\" name=\"field\" value=\"{code}\">{input} <button>Сохранить</button></form></td></tr>",
            label = escape(&field.label),
            code = escape(&field.name),
            id = record.id,
        );
    }
    body.push_str("</table></section>");
}

fn documents_section(body: &mut String, data: &PortalData, record: &Record) {
    body.push_str("<section><h2>Документы</h2><table>");
    let file_fields: Vec<&UserField> = data
        .deal_fields
        .iter()
        .filter(|f| f.kind == UserFieldType::File)
        .collect();
    for field in &file_fields {
        let mut files = String::new();
        for file_id in record
            .uf_values(&field.name)
            .iter()
            .filter_map(Scalar::as_file)
        {
            let name = data
                .files
                .get(&file_id)
                .map(|f| f.name.as_str())
                .unwrap_or("?");
            let _ = write!(
                files,
                "<a href=\"/staff/files/{file_id}\">{}</a> {}<br>",
                escape(name),
                button(
                    &format!("/staff/deals/{}/files/{file_id}/delete", record.id),
                    "удалить",
                    &[("field", &field.name)]
                )
            );
        }
        let _ = write!(
            body,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(&field.label),
            if files.is_empty() {
                "<span class=\"muted\">нет</span>".to_owned()
            } else {
                files
            }
        );
    }
    body.push_str("</table>");
    if !file_fields.is_empty() {
        let _ = write!(
            body,
            "<form method=\"post\" enctype=\"multipart/form-data\" action=\"/staff/deals/{}/files\"><select name=\"field\">",
            record.id
        );
        for field in &file_fields {
            let _ = write!(
                body,
                "<option value=\"{}\">{}</option>",
                escape(&field.name),
                escape(&field.label)
            );
        }
        body.push_str("</select> <input type=\"file\" name=\"file\" required> <button>Прикрепить документ</button></form>");
    }
    body.push_str("</section>");
}

fn invoices_section(body: &mut String, portal: &Portal, deal: u64) {
    let deal_text = deal.to_string();
    let hidden = [("deal", deal_text.as_str())];
    body.push_str("<section><h2>Счета</h2><table><tr><th>Вид</th><th>№</th><th>Название</th><th>Сумма</th><th>Состояние</th><th></th></tr>");
    for invoice in portal.smart_invoices_of(deal) {
        let state = if invoice.paid {
            "<span class=\"paid\">оплачен</span>"
        } else {
            "<span class=\"unpaid\">не оплачен</span>"
        };
        let pay = if invoice.paid {
            String::new()
        } else {
            button(
                &format!("/staff/invoices/smart/{}/pay", invoice.id),
                "Оплачен",
                &hidden,
            )
        };
        let _ = write!(
            body,
            "<tr><td>смарт-счёт</td><td>{}</td><td>{}</td><td>{}</td><td>{state} <span class=\"muted\">{}</span></td><td>{pay} {}</td></tr>",
            invoice.id,
            escape(&invoice.title),
            invoice.amount,
            escape(&invoice.stage),
            button(
                &format!("/staff/invoices/smart/{}/delete", invoice.id),
                "Удалить",
                &hidden
            ),
        );
    }
    for invoice in portal.legacy_invoices_of(deal) {
        let paid = invoice.status == "P";
        let state = if paid {
            "<span class=\"paid\">оплачен</span>"
        } else {
            "<span class=\"unpaid\">не оплачен</span>"
        };
        let pay = if paid {
            String::new()
        } else {
            button(
                &format!("/staff/invoices/legacy/{}/pay", invoice.id),
                "Оплачен",
                &hidden,
            )
        };
        let _ = write!(
            body,
            "<tr><td>старый счёт</td><td>{}</td><td>{}</td><td>{}</td><td>{state} <span class=\"muted\">{}</span></td><td>{pay} {}</td></tr>",
            invoice.id,
            escape(&invoice.topic),
            invoice.price,
            escape(&invoice.status),
            button(
                &format!("/staff/invoices/legacy/{}/delete", invoice.id),
                "Удалить",
                &hidden
            ),
        );
    }
    let _ = write!(
        body,
        "</table><form method=\"post\" action=\"/staff/deals/{deal}/invoices\"><select name=\"kind\"><option value=\"smart\">Смарт-счёт</option><option value=\"legacy\">Старый счёт</option></select> \
<input type=\"text\" name=\"title\" placeholder=\"Назначение платежа\"> <input name=\"amount\" placeholder=\"Сумма, ₽\" required> \
<label><input type=\"checkbox\" name=\"paid\"> уже оплачен</label> <button>Выставить счёт</button></form></section>"
    );
}
