//! Every configured deal field exists with a type the cabinet can use.

use std::collections::HashMap;

use bitrix_lk_core::{FieldCode, FieldValue, LkConfig};
use bitrix24_client::Client;
use bitrix24_client::methods::userfields::UserField;

use super::connection::diagnose;
use super::report::Report;
use crate::exit::Exit;

/// The requirements on one configured field.
struct Rule {
    /// The dotted configuration key, such as `fields.login` or `documents[3]`.
    key: String,
    /// The name shown before the code, such as «Паспорт (все страницы)».
    name: Option<String>,
    code: FieldCode,
    /// Acceptable `USER_TYPE_ID` values, the preferred one first.
    types: &'static [&'static str],
    /// Whether a single-value field deserves a warning (document fields).
    wants_multiple: bool,
    /// Whether a multiple field deserves a warning (fields the cabinet writes one value into).
    wants_single: bool,
}

const STRING: &[&str] = &["string"];
const TRIGGER: &[&str] = &["enumeration", "string", "boolean"];
const STATUS: &[&str] = &["string", "enumeration"];
const MONEY: &[&str] = &["money", "double", "integer", "string"];
const LINK: &[&str] = &["url", "string"];
const LAST_LOGIN: &[&str] = &["datetime", "date", "string"];
const FILE: &[&str] = &["file"];

/// Reads the deal user fields once and checks each configured one.
pub async fn check(client: &Client, config: &LkConfig, report: &mut Report) {
    let fields = match client.deal_userfields().all().await {
        Ok(fields) => fields,
        Err(error) => {
            let (problem, advice) = diagnose(&error, client.webhook().host());
            report.fail(
                Exit::Bitrix24,
                format!("Поля сделок не прочитаны: {problem}"),
                advice,
            );
            return;
        }
    };
    let by_code: HashMap<&str, &UserField> = fields
        .iter()
        .map(|field| (field.field_name.as_str(), field))
        .collect();

    for rule in rules(config) {
        match by_code.get(rule.code.as_str()) {
            Some(field) => check_field(&rule, field, config, report),
            None => report.fail(
                Exit::Failed,
                format!("{}: поля {} нет у сделок", title(&rule), rule.code),
                "создайте поле в Битрикс24 (CRM → Настройки → Пользовательские поля → Сделка) \
                 или исправьте код в файле настроек",
            ),
        }
    }
}

fn rules(config: &LkConfig) -> Vec<Rule> {
    let fields = &config.fields;
    let single = |key: &str, code: &FieldCode, types| Rule {
        key: key.to_owned(),
        name: None,
        code: code.clone(),
        types,
        wants_multiple: false,
        wants_single: true,
    };

    let mut rules = vec![
        single("fields.trigger", &fields.trigger, TRIGGER),
        single("fields.login", &fields.login, STRING),
        single("fields.password", &fields.password, STRING),
        single("fields.client_status", &fields.client_status, STATUS),
        single("fields.contract_sum", &fields.contract_sum, MONEY),
        single("fields.message", &fields.message, STRING),
        single("fields.court_link", &fields.court_link, LINK),
        single("fields.last_login", &fields.last_login, LAST_LOGIN),
    ];
    if let Some(code) = &fields.referral_code {
        rules.push(single("fields.referral_code", code, STRING));
    }
    for (index, document) in config.documents.iter().enumerate() {
        rules.push(Rule {
            key: format!("documents[{index}]"),
            name: Some(document.name.clone()),
            code: document.field.clone(),
            types: FILE,
            wants_multiple: true,
            wants_single: false,
        });
    }
    rules
}

fn title(rule: &Rule) -> String {
    match &rule.name {
        Some(name) => format!("{} «{name}»", rule.key),
        None => rule.key.clone(),
    }
}

fn check_field(rule: &Rule, field: &UserField, config: &LkConfig, report: &mut Report) {
    let type_id = field.user_type_id.as_str();
    // Show the Bitrix24 label unless it repeats the document name or the code.
    let label = match field.label() {
        Some(label) if rule.name.as_deref() != Some(label) && label != rule.code.as_str() => {
            format!(" «{label}»")
        }
        _ => String::new(),
    };
    let head = format!("{} {}{label}", title(rule), rule.code);

    if !rule.types.contains(&type_id) {
        let expected: Vec<&str> = rule.types.iter().map(|t| type_name(t)).collect();
        report.fail(
            Exit::Failed,
            format!(
                "{head}: тип «{}», а нужен {}",
                type_name(type_id),
                quoted_list(&expected)
            ),
            "укажите в файле настроек поле подходящего типа или поменяйте тип поля в Битрикс24",
        );
        return;
    }
    if rule.key == "fields.trigger" && type_id == "enumeration" {
        check_trigger_items(&head, field, config, report);
        return;
    }

    let multiplicity = if field.multiple {
        ", множественное"
    } else {
        ""
    };
    if rule.wants_multiple && !field.multiple {
        report.warn(
            format!("{head}: тип «файл», но не множественное"),
            "сделайте поле множественным, иначе клиент сможет загрузить только один файл",
        );
    } else if rule.wants_single && field.multiple {
        report.warn(
            format!("{head}: поле множественное"),
            "кабинет пишет и читает одно значение; сделайте поле одиночным",
        );
    } else {
        report.pass(format!("{head}: {}{multiplicity}", type_name(type_id)));
    }
}

/// Checks that a list trigger has an item whose label (or id) is the configured trigger value.
fn check_trigger_items(head: &str, field: &UserField, config: &LkConfig, report: &mut Report) {
    let matching = field.list.iter().find(|item| {
        config.trigger.is_triggered(&FieldValue::Enum {
            id: item.id.clone(),
            label: Some(item.value.clone()),
        })
    });
    match matching {
        Some(item) => report.pass(format!(
            "{head}: список, значение «{}» (ID {}) создаёт учётную запись",
            item.value, item.id
        )),
        None => {
            let labels: Vec<&str> = field.list.iter().map(|item| item.value.as_str()).collect();
            let present = if labels.is_empty() {
                "список пуст".to_owned()
            } else {
                format!("есть {}", quoted_list(&labels))
            };
            report.fail(
                Exit::Failed,
                format!(
                    "{head}: в списке нет значения «{}» ({present})",
                    config.trigger.value
                ),
                "добавьте это значение в список поля или укажите trigger.value либо trigger.item_ids",
            );
        }
    }
}

fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("«{item}»")).collect();
    quoted.join(", ")
}

/// Returns the name of a user-field type as the Bitrix24 UI shows it in Russian.
fn type_name(type_id: &str) -> &str {
    match type_id {
        "string" => "строка",
        "enumeration" => "список",
        "boolean" => "да/нет",
        "money" => "деньги",
        "double" => "число",
        "integer" => "целое число",
        "url" => "ссылка",
        "datetime" => "дата и время",
        "date" => "дата",
        "file" => "файл",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_cover_every_configured_field() {
        let config = LkConfig::default();

        let rules = rules(&config);

        assert_eq!(rules.len(), 8 + config.documents.len());
        assert_eq!(rules[0].key, "fields.trigger");
        assert_eq!(rules[8].key, "documents[0]");
        assert_eq!(rules[8].types, FILE);
    }

    #[test]
    fn type_names_are_russian() {
        assert_eq!(type_name("enumeration"), "список");
        assert_eq!(type_name("crm_status"), "crm_status");
    }
}
