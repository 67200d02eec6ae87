//! The «Список необходимых документов» checklist.

use serde::Serialize;

use crate::config::DocumentConfig;
use crate::deal::Deal;
use crate::field::FieldValue;
use crate::ids::FieldCode;

/// Whether a document is in its deal field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    /// The field contains at least one file (green tick).
    Received,
    /// The field contains no file.
    Missing,
}

impl DocumentState {
    /// Returns the value of the `data-document-state` page attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentState::Received => "received",
            DocumentState::Missing => "missing",
        }
    }
}

/// One row of the checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DocumentRow {
    /// The document name.
    pub name: String,
    /// The deal file field the document goes into.
    pub field: FieldCode,
    /// Whether the document is there.
    pub state: DocumentState,
    /// How many files the field contains (a passport may be several pages).
    pub file_count: usize,
}

/// Every configured document in page order, with the files the deal has.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DocumentChecklist {
    /// One row per configured document, in configuration order.
    pub rows: Vec<DocumentRow>,
}

impl DocumentChecklist {
    /// Builds the checklist from the deal's file fields.
    pub fn build(deal: &Deal, documents: &[DocumentConfig]) -> Self {
        let rows = documents
            .iter()
            .map(|document| {
                let file_count = count_files(deal.field(&document.field));
                let state = if file_count > 0 {
                    DocumentState::Received
                } else {
                    DocumentState::Missing
                };
                DocumentRow {
                    name: document.name.clone(),
                    field: document.field.clone(),
                    state,
                    file_count,
                }
            })
            .collect();
        Self { rows }
    }

    /// Returns the row of a field, such as the one a client uploads into.
    pub fn row(&self, field: &FieldCode) -> Option<&DocumentRow> {
        self.rows.iter().find(|row| &row.field == field)
    }

    /// Returns how many documents are received.
    pub fn received_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|row| row.state == DocumentState::Received)
            .count()
    }

    /// Returns how many documents are missing.
    pub fn missing_count(&self) -> usize {
        self.rows.len() - self.received_count()
    }
}

/// Counts the files of a file field. A value of any other type counts as none.
fn count_files(value: &FieldValue) -> usize {
    match value {
        FieldValue::Files(files) => files.len(),
        FieldValue::List(items) => items.iter().map(count_files).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rstest::rstest;

    use super::*;
    use crate::field::FileRef;
    use crate::ids::{CategoryId, DealId, FileId, StageId};

    fn files(count: u64) -> FieldValue {
        FieldValue::Files(
            (0..count)
                .map(|id| FileRef {
                    id: FileId(id + 1),
                    name: None,
                })
                .collect(),
        )
    }

    fn deal_with(field: &str, value: FieldValue) -> Deal {
        Deal {
            id: DealId(1),
            title: String::new(),
            category_id: CategoryId(0),
            stage_id: StageId::from("NEW"),
            contact_id: None,
            modified_at: None,
            fields: BTreeMap::from([(FieldCode::from(field), value)]),
        }
    }

    fn documents() -> Vec<DocumentConfig> {
        vec![
            DocumentConfig {
                name: "Паспорт".to_owned(),
                field: FieldCode::from("UF_CRM_A"),
            },
            DocumentConfig {
                name: "СНИЛС".to_owned(),
                field: FieldCode::from("UF_CRM_B"),
            },
        ]
    }

    #[rstest]
    #[case::one_file(files(1), DocumentState::Received, 1)]
    #[case::several_pages(files(3), DocumentState::Received, 3)]
    #[case::empty_file_list(files(0), DocumentState::Missing, 0)]
    #[case::unset(FieldValue::Empty, DocumentState::Missing, 0)]
    #[case::text_is_not_a_file(FieldValue::Text("scan.pdf".into()), DocumentState::Missing, 0)]
    #[case::list_of_files(FieldValue::List(vec![files(1), files(2)]), DocumentState::Received, 3)]
    fn document_row_state(
        #[case] value: FieldValue,
        #[case] state: DocumentState,
        #[case] count: usize,
    ) {
        let checklist = DocumentChecklist::build(&deal_with("UF_CRM_A", value), &documents());

        let row = checklist.row(&FieldCode::from("UF_CRM_A")).unwrap();
        assert_eq!(row.state, state);
        assert_eq!(row.file_count, count);
    }

    #[test]
    fn rows_follow_configuration_order() {
        let checklist = DocumentChecklist::build(&deal_with("UF_CRM_B", files(1)), &documents());

        let names: Vec<&str> = checklist.rows.iter().map(|row| row.name.as_str()).collect();
        assert_eq!(names, ["Паспорт", "СНИЛС"]);
        assert_eq!(checklist.rows[0].state, DocumentState::Missing);
        assert_eq!(checklist.rows[1].state, DocumentState::Received);
        assert_eq!(
            (checklist.received_count(), checklist.missing_count()),
            (1, 1)
        );
    }

    #[test]
    fn state_attribute_values() {
        assert_eq!(DocumentState::Received.as_str(), "received");
        assert_eq!(DocumentState::Missing.as_str(), "missing");
    }
}
