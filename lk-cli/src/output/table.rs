//! A plain-text table with columns aligned by character count.

use std::fmt::Write;

/// Rows of text cells under a header, printed with two spaces between columns.
#[derive(Debug)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Starts a table with these column titles.
    pub fn new<const N: usize>(header: [&str; N]) -> Self {
        Self {
            header: header.iter().map(|title| (*title).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are left blank and extra cells are dropped.
    pub fn row(&mut self, cells: Vec<String>) {
        let mut cells = cells;
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    /// Renders the table, each line indented by `indent` spaces and without trailing spaces.
    pub fn render(&self, indent: usize) -> String {
        let widths = self.widths();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = " ".repeat(indent);
            for (cell, width) in row.iter().zip(&widths) {
                let _ = write!(line, "{cell}{}  ", " ".repeat(width - cell.chars().count()));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        widths
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_characters_not_bytes() {
        let mut table = Table::new(["Сделка", "Логин"]);
        table.row(vec!["7".into(), "lk123".into()]);
        table.row(vec!["1024".into(), "lkабв".into()]);

        let text = table.render(0);

        assert_eq!(text, "Сделка  Логин\n7       lk123\n1024    lkабв\n");
    }

    #[test]
    fn short_rows_are_padded() {
        let mut table = Table::new(["A", "B"]);
        table.row(vec!["x".into()]);

        assert_eq!(table.render(2), "  A  B\n  x\n");
    }
}
