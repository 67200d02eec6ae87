//! Figures, their targets, the printed table and `results.json`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::machine::Machine;

/// A bound a figure should stay within.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Target {
    /// The figure must be at most this value.
    AtMost(f64),
    /// The figure must be below this value.
    Below(f64),
    /// The figure must be at least this value.
    AtLeast(f64),
}

impl Target {
    fn is_met(self, value: f64) -> bool {
        match self {
            Target::AtMost(bound) => value <= bound,
            Target::Below(bound) => value < bound,
            Target::AtLeast(bound) => value >= bound,
        }
    }

    fn describe(self) -> String {
        match self {
            Target::AtMost(bound) => format!("<= {}", format_number(bound)),
            Target::Below(bound) => format!("< {}", format_number(bound)),
            Target::AtLeast(bound) => format!(">= {}", format_number(bound)),
        }
    }
}

/// One measured figure of a scenario.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// The measured quantity, e.g. `GET / p99 latency`.
    pub name: String,
    /// The measured value, in `unit`.
    pub value: f64,
    /// The unit (`ms`, `req/s`, `requests`, `s`, `MiB`, or empty for counts and ratios).
    pub unit: &'static str,
    /// The bound the figure should stay within, if the figure has one.
    pub target: Option<Target>,
    /// Whether the figure met its target; `None` without a target.
    pub met: Option<bool>,
}

impl Figure {
    /// Creates a figure without a target.
    pub fn info(name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            name: name.into(),
            value,
            unit,
            target: None,
            met: None,
        }
    }

    /// Creates a figure checked against `target`.
    pub fn checked(
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        target: Target,
    ) -> Self {
        Self {
            name: name.into(),
            value,
            unit,
            target: Some(target),
            met: Some(target.is_met(value)),
        }
    }
}

/// The figures of one scenario run.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// The scenario name as given on the command line.
    pub scenario: &'static str,
    /// Wall-clock seconds the scenario took, set-up included.
    pub wall_seconds: f64,
    /// The figures, in the order they were measured.
    pub figures: Vec<Figure>,
    /// Facts about the set-up needed to read the figures.
    pub notes: Vec<String>,
}

impl ScenarioReport {
    /// Starts an empty report for `scenario`.
    pub fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            wall_seconds: 0.0,
            figures: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a figure.
    pub fn push(&mut self, figure: Figure) {
        self.figures.push(figure);
    }

    /// Adds a note about the set-up.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }
}

/// Everything one `lk-bench` run wrote.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The command line that produced the figures.
    pub command: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// The machine the figures were measured on.
    pub machine: Machine,
    /// One report per scenario, in run order.
    pub scenarios: Vec<ScenarioReport>,
}

impl RunReport {
    /// Writes the report as pretty-printed JSON, creating the parent directory.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
    }

    /// Renders every figure as one Markdown table (also readable in a terminal).
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str("| scenario | figure | value | target | result |\n");
        out.push_str("|---|---|---|---|---|\n");
        for scenario in &self.scenarios {
            for figure in &scenario.figures {
                let value = match figure.unit {
                    "" => format_number(figure.value),
                    unit => format!("{} {unit}", format_number(figure.value)),
                };
                let target = figure.target.map_or_else(String::new, Target::describe);
                let result = match figure.met {
                    Some(true) => "met",
                    Some(false) => "MISSED",
                    None => "",
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {value} | {target} | {result} |",
                    scenario.scenario, figure.name
                );
            }
        }
        out
    }

    /// Renders each scenario's set-up notes as a list.
    pub fn notes(&self) -> String {
        let mut out = String::new();
        for scenario in &self.scenarios {
            let _ = writeln!(
                out,
                "- {} ({:.0} s wall clock):",
                scenario.scenario, scenario.wall_seconds
            );
            for note in &scenario.notes {
                let _ = writeln!(out, "  - {note}");
            }
        }
        out
    }
}

/// Formats a number with at most three significant decimals and no trailing zeros.
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let decimals = if value.abs() >= 100.0 {
        1
    } else if value.abs() >= 1.0 {
        2
    } else {
        3
    };
    let text = format!("{value:.decimals$}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_number_trims_zeros() {
        assert_eq!(format_number(12.0), "12");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(1234.56), "1234.6");
        assert_eq!(format_number(3.10), "3.1");
    }

    #[test]
    fn targets_compare_values() {
        assert!(Target::AtMost(24.0).is_met(24.0));
        assert!(!Target::Below(25.0).is_met(25.0));
        assert!(Target::AtLeast(0.25).is_met(0.3));
    }
}
