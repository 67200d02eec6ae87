//! The lines `check` prints and the exit code they add up to.

use crate::exit::Exit;
use crate::output::stdoutln;

/// Prints check results as they come, one line each, and keeps the counts.
#[derive(Debug, Default)]
pub struct Report {
    passed: u32,
    warnings: u32,
    failed: u32,
    exit: Option<Exit>,
}

impl Report {
    /// Prints a passed check: `✓ text`.
    pub fn pass(&mut self, text: impl AsRef<str>) {
        self.passed += 1;
        stdoutln!("✓ {}", text.as_ref());
    }

    /// Prints a warning that does not fail the check: `⚠ text — advice`.
    pub fn warn(&mut self, text: impl AsRef<str>, advice: impl AsRef<str>) {
        self.warnings += 1;
        stdoutln!("⚠ {} — {}", text.as_ref(), advice.as_ref());
    }

    /// Prints a failed check: `✗ text — what to do`, and records its exit code.
    pub fn fail(&mut self, exit: Exit, text: impl AsRef<str>, advice: impl AsRef<str>) {
        self.failed += 1;
        stdoutln!("✗ {} — {}", text.as_ref(), advice.as_ref());
        self.exit = Some(match self.exit {
            Some(current) if rank(current) >= rank(exit) => current,
            _ => exit,
        });
    }

    /// Prints an indented detail line under the previous check.
    pub fn detail(&self, text: impl AsRef<str>) {
        stdoutln!("    {}", text.as_ref());
    }

    /// Prints the summary line.
    pub fn print_summary(&self) {
        stdoutln!();
        let total = self.passed + self.warnings + self.failed;
        let verdict = if self.failed == 0 {
            "всё в порядке"
        } else {
            "есть ошибки"
        };
        stdoutln!(
            "Итог: {verdict}. Проверок: {total}, пройдено: {}, предупреждений: {}, не пройдено: {}.",
            self.passed,
            self.warnings,
            self.failed
        );
    }

    /// Returns the exit code: the most specific class among the failures, or success.
    pub fn exit(&self) -> Exit {
        self.exit.unwrap_or(Exit::Success)
    }
}

/// Orders failure classes: a configuration that cannot be used explains the
/// most, then a portal that cannot be reached, then any other failed check.
fn rank(exit: Exit) -> u8 {
    match exit {
        Exit::Config => 3,
        Exit::Bitrix24 => 2,
        Exit::Success => 0,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_failures_exit_with_success() {
        let mut report = Report::default();
        report.pass("a");
        report.warn("b", "c");

        assert_eq!(report.exit(), Exit::Success);
    }

    #[test]
    fn unreachable_portal_outranks_other_failures() {
        let mut report = Report::default();
        report.fail(Exit::Failed, "a", "b");
        report.fail(Exit::Bitrix24, "c", "d");
        report.fail(Exit::Failed, "e", "f");

        assert_eq!(report.exit(), Exit::Bitrix24);
    }

    #[test]
    fn unusable_configuration_outranks_everything() {
        let mut report = Report::default();
        report.fail(Exit::Config, "a", "b");
        report.fail(Exit::Bitrix24, "c", "d");

        assert_eq!(report.exit(), Exit::Config);
    }
}
