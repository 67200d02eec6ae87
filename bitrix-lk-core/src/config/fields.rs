//! The `[fields]`, `[trigger]` and `[[documents]]` sections: which deal
//! user fields the cabinet reads and writes.

use std::collections::HashMap;

use serde::Deserialize;

use super::text::normalize_label;
use super::{check, de};
use crate::error::Result;
use crate::field::FieldValue;
use crate::ids::FieldCode;

/// Codes of the deal user fields the cabinet uses, in the legacy spelling.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldsConfig {
    /// «Создать ЛК клиенту»: staff set it to create the client's account.
    pub trigger: FieldCode,
    /// «Логин ЛК клиента», written by the cabinet.
    pub login: FieldCode,
    /// «Пароль ЛК клиента», written by the cabinet.
    pub password: FieldCode,
    /// «Статус для ЛК клиента», shown to the client when filled.
    pub client_status: FieldCode,
    /// «Сумма договора»: money, number or text.
    pub contract_sum: FieldCode,
    /// «Сообщение клиенту от компании».
    pub message: FieldCode,
    /// «Ссылка на дело в Кад. Арбитр».
    pub court_link: FieldCode,
    /// «Дата последней авторизации (МСК)», written by the cabinet at each login.
    pub last_login: FieldCode,
    /// A field to write the client's referral code into; `None` when empty in the file.
    #[serde(deserialize_with = "de::optional_field_code")]
    pub referral_code: Option<FieldCode>,
}

impl Default for FieldsConfig {
    fn default() -> Self {
        Self {
            trigger: FieldCode::from("UF_CRM_1708511654449"),
            login: FieldCode::from("UF_CRM_1708511589360"),
            password: FieldCode::from("UF_CRM_1708511607581"),
            client_status: FieldCode::from("UF_CRM_1709533755311"),
            contract_sum: FieldCode::from("UF_CRM_1725026451112"),
            message: FieldCode::from("UF_CRM_1708511318200"),
            court_link: FieldCode::from("UF_CRM_1708511472339"),
            last_login: FieldCode::from("UF_CRM_1715524078722"),
            referral_code: None,
        }
    }
}

impl FieldsConfig {
    /// Returns every configured field with its dotted configuration key, such
    /// as `("fields.trigger", UF_CRM_1708511654449)`, for checks and messages.
    pub fn named(&self) -> Vec<(&'static str, &FieldCode)> {
        let mut fields = vec![
            ("fields.trigger", &self.trigger),
            ("fields.login", &self.login),
            ("fields.password", &self.password),
            ("fields.client_status", &self.client_status),
            ("fields.contract_sum", &self.contract_sum),
            ("fields.message", &self.message),
            ("fields.court_link", &self.court_link),
            ("fields.last_login", &self.last_login),
        ];
        if let Some(code) = &self.referral_code {
            fields.push(("fields.referral_code", code));
        }
        fields
    }

    pub(super) fn validate(&self) -> Result<()> {
        for (key, code) in self.named() {
            check::field_code(key, code)?;
        }
        Ok(())
    }
}

/// One document the client is asked for, shown as one row of the checklist.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentConfig {
    /// The document name as the client reads it.
    pub name: String,
    /// The deal file field the document goes into.
    pub field: FieldCode,
}

impl DocumentConfig {
    fn new(name: &str, field: &str) -> Self {
        Self {
            name: name.to_owned(),
            field: FieldCode::from(field),
        }
    }
}

/// Returns the firm's documents in page order.
pub(super) fn default_documents() -> Vec<DocumentConfig> {
    [
        ("Паспорт (все страницы)", "UF_CRM_1708509490009"),
        ("Скан ИНН", "UF_CRM_1708509740365"),
        ("СНИЛС", "UF_CRM_1708510606993"),
        ("Свидетельство о заключении брака", "UF_CRM_1708510636060"),
        ("Паспорт супруга", "UF_CRM_1708510675413"),
        ("СНИЛС супруга", "UF_CRM_1708510724402"),
        ("Свидетельство о расторжении брака", "UF_CRM_1708510771069"),
        ("2-НДФЛ за последние 3 года", "UF_CRM_1708510936813"),
        ("Свидетельство о рождении детей", "UF_CRM_1708510989101"),
        ("Выписка из ЕГРН (недвижимость)", "UF_CRM_1708511092399"),
        ("ПТС", "UF_CRM_1708511164599"),
        ("СТС", "UF_CRM_1708511175692"),
        ("ПТС супруга", "UF_CRM_1708511204032"),
        ("СТС супруга", "UF_CRM_1708511215650"),
        ("ДКП (договор купли-продажи)", "UF_CRM_1708511237220"),
        ("ДКП супруга", "UF_CRM_1708511248493"),
    ]
    .into_iter()
    .map(|(name, field)| DocumentConfig::new(name, field))
    .collect()
}

/// Checks names and field codes, and that no field is used twice, neither
/// by two documents nor by a document and one of the `[fields]`.
pub(super) fn validate_documents(
    documents: &[DocumentConfig],
    fields: &FieldsConfig,
) -> Result<()> {
    let mut used: HashMap<&FieldCode, String> = fields
        .named()
        .into_iter()
        .map(|(key, code)| (code, key.to_owned()))
        .collect();

    for (index, document) in documents.iter().enumerate() {
        let key = format!("documents[{index}]");
        check::not_blank(&format!("{key}.name"), &document.name, "a document name")?;
        check::field_code(&format!("{key}.field"), &document.field)?;

        if let Some(other) = used.insert(&document.field, key.clone()) {
            return Err(check::invalid(
                format!("{key}.field"),
                format!(
                    "a file field used by no other document or field, found {} which `{other}` uses too",
                    document.field
                ),
            ));
        }
    }
    Ok(())
}

/// Checks that no two entries of `[fields]` name the same field.
pub(super) fn validate_distinct(fields: &FieldsConfig) -> Result<()> {
    let mut seen: HashMap<&FieldCode, &str> = HashMap::new();
    for (key, code) in fields.named() {
        if let Some(other) = seen.insert(code, key) {
            return Err(check::invalid(
                key,
                format!("a field not used by another key, found {code} which `{other}` uses too"),
            ));
        }
    }
    Ok(())
}

/// The values of «Создать ЛК клиенту» that request an account.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriggerConfig {
    /// The text or list label that triggers creation, compared ignoring case,
    /// surrounding spaces and `ё`/`е`.
    pub value: String,
    /// Enumeration item ids that trigger creation too, for a list field whose
    /// labels may be renamed.
    #[serde(deserialize_with = "de::id_list")]
    pub item_ids: Vec<String>,
}

impl Default for TriggerConfig {
    fn default() -> Self {
        Self {
            value: "Создать".to_owned(),
            item_ids: Vec::new(),
        }
    }
}

impl TriggerConfig {
    /// Returns whether a value of the trigger field requests an account.
    ///
    /// A text triggers when it equals the configured value (or one of the item
    /// ids: a list value the adapter could not resolve arrives as its id). A
    /// list item triggers by its label or by its id. A yes/no field triggers
    /// when set to yes. A multiple field triggers when any item does.
    pub fn is_triggered(&self, value: &FieldValue) -> bool {
        match value {
            FieldValue::Text(text) => self.matches_label(text) || self.matches_id(text),
            FieldValue::Enum { id, label } => {
                self.matches_id(id)
                    || label
                        .as_deref()
                        .is_some_and(|label| self.matches_label(label))
            }
            FieldValue::Bool(flag) => *flag,
            FieldValue::Number(number) => self.matches_id(&number.normalize().to_string()),
            FieldValue::List(items) => items.iter().any(|item| self.is_triggered(item)),
            FieldValue::Empty
            | FieldValue::Money(_)
            | FieldValue::Date(_)
            | FieldValue::DateTime(_)
            | FieldValue::Files(_) => false,
        }
    }

    fn matches_label(&self, text: &str) -> bool {
        let expected = normalize_label(&self.value);
        !expected.is_empty() && normalize_label(text) == expected
    }

    fn matches_id(&self, id: &str) -> bool {
        let id = id.trim();
        !id.is_empty() && self.item_ids.iter().any(|item| item == id)
    }

    pub(super) fn validate(&self) -> Result<()> {
        check::not_blank(
            "trigger.value",
            &self.value,
            "the text that triggers account creation",
        )?;
        for (index, id) in self.item_ids.iter().enumerate() {
            check::not_blank(
                &format!("trigger.item_ids[{index}]"),
                id,
                "an enumeration item id",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;
    use rust_decimal::Decimal;

    use super::*;

    fn trigger_with_ids(ids: &[&str]) -> TriggerConfig {
        TriggerConfig {
            item_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
            ..TriggerConfig::default()
        }
    }

    fn enumeration(id: &str, label: Option<&str>) -> FieldValue {
        FieldValue::Enum {
            id: id.to_owned(),
            label: label.map(str::to_owned),
        }
    }

    #[rstest]
    #[case::text_exact(FieldValue::Text("Создать".into()), true)]
    #[case::text_lower_case_and_spaces(FieldValue::Text("  создать ".into()), true)]
    #[case::text_upper_case(FieldValue::Text("СОЗДАТЬ".into()), true)]
    #[case::text_other(FieldValue::Text("Не создавать".into()), false)]
    #[case::text_blank(FieldValue::Text("   ".into()), false)]
    #[case::text_item_id(FieldValue::Text("3157".into()), true)]
    #[case::list_label(enumeration("99", Some("Создать")), true)]
    #[case::list_label_other_case(enumeration("99", Some("создать")), true)]
    #[case::list_id(enumeration("3157", Some("Открыть кабинет")), true)]
    #[case::list_id_without_label(enumeration("3157", None), true)]
    #[case::list_other_item(enumeration("3159", Some("Нет")), false)]
    #[case::list_unknown_item_without_label(enumeration("3159", None), false)]
    #[case::yes(FieldValue::Bool(true), true)]
    #[case::no(FieldValue::Bool(false), false)]
    #[case::empty(FieldValue::Empty, false)]
    #[case::number_item_id(FieldValue::Number(Decimal::from(3157)), true)]
    #[case::number_other(FieldValue::Number(Decimal::from(1)), false)]
    #[case::multiple_with_match(
        FieldValue::List(vec![enumeration("1", Some("Другое")), enumeration("2", Some("Создать"))]),
        true
    )]
    #[case::multiple_without_match(FieldValue::List(vec![enumeration("1", Some("Другое"))]), false)]
    #[case::multiple_empty(FieldValue::List(vec![]), false)]
    #[case::files(FieldValue::Files(vec![]), false)]
    fn trigger_rule(#[case] value: FieldValue, #[case] triggered: bool) {
        let trigger = trigger_with_ids(&["3157"]);

        assert_eq!(trigger.is_triggered(&value), triggered, "{value:?}");
    }

    #[test]
    fn trigger_value_with_yo_matches_ye() {
        let trigger = TriggerConfig {
            value: "Открыть счёт".to_owned(),
            item_ids: Vec::new(),
        };

        assert!(trigger.is_triggered(&FieldValue::Text("открыть счет".into())));
    }

    #[test]
    fn default_documents_are_sixteen_distinct_fields() {
        let documents = default_documents();

        assert_eq!(documents.len(), 16);
        assert_eq!(documents[0].name, "Паспорт (все страницы)");
        assert_eq!(documents[15].field, FieldCode::from("UF_CRM_1708511248493"));
        assert!(validate_documents(&documents, &FieldsConfig::default()).is_ok());
    }
}
