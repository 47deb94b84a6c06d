//! The table printed at the end of `cargo xtask ci`: what ran, how it went, how long it took.

use std::fmt;
use std::time::Duration;

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// The step ran and passed.
    Ok,
    /// The step ran and failed; CI stops here.
    Failed,
    /// The step did not run because an earlier one failed.
    NotRun,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Self::Ok => "ok",
            Self::Failed => "FAILED",
            Self::NotRun => "not run",
        })
    }
}

#[derive(Debug)]
struct Row {
    step: &'static str,
    status: Status,
    elapsed: Option<Duration>,
}

/// The rows of the summary table, plus notes about what was skipped or weakened and why.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Summary {
    /// Records a step that ran.
    pub(crate) fn record(&mut self, step: &'static str, status: Status, elapsed: Duration) {
        self.rows.push(Row {
            step,
            status,
            elapsed: Some(elapsed),
        });
    }

    /// Records a step that did not run.
    pub(crate) fn not_run(&mut self, step: &'static str) {
        self.rows.push(Row {
            step,
            status: Status::NotRun,
            elapsed: None,
        });
    }

    /// Adds a note printed under the table.
    pub(crate) fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    /// Whether every step that ran passed.
    pub(crate) fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.status == Status::Ok)
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .rows
            .iter()
            .map(|r| r.step.len())
            .chain(["step".len(), "total".len()])
            .max()
            .unwrap_or(0);
        writeln!(f, "{:<width$}  {:<7}  {:>8}", "step", "status", "seconds")?;
        writeln!(f, "{:-<width$}  {:-<7}  {:->8}", "", "", "")?;
        let mut total = Duration::ZERO;
        for row in &self.rows {
            let seconds = match row.elapsed {
                Some(elapsed) => {
                    total += elapsed;
                    format!("{:.1}", elapsed.as_secs_f64())
                }
                None => "-".to_owned(),
            };
            writeln!(f, "{:<width$}  {:<7}  {:>8}", row.step, row.status, seconds)?;
        }
        writeln!(f, "{:-<width$}  {:-<7}  {:->8}", "", "", "")?;
        let verdict = if self.passed() { "ok" } else { "FAILED" };
        writeln!(
            f,
            "{:<width$}  {:<7}  {:>8.1}",
            "total",
            verdict,
            total.as_secs_f64()
        )?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lists_every_step_with_status_and_seconds() {
        let mut summary = Summary::default();
        summary.record("fmt", Status::Ok, Duration::from_millis(1500));
        summary.record("clippy (host)", Status::Failed, Duration::from_secs(12));
        summary.not_run("docs");
        summary.note("advisories skipped");
        let table = summary.to_string();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "step           status    seconds");
        assert_eq!(lines[2], "fmt            ok            1.5");
        assert_eq!(lines[3], "clippy (host)  FAILED       12.0");
        assert_eq!(lines[4], "docs           not run         -");
        assert_eq!(lines[6], "total          FAILED       13.5");
        assert_eq!(lines[7], "note: advisories skipped");
        assert!(!summary.passed());
    }

    #[test]
    fn all_ok_passes() {
        let mut summary = Summary::default();
        summary.record("fmt", Status::Ok, Duration::ZERO);
        assert!(summary.passed());
        assert!(summary.to_string().contains("total  ok"));
    }
}
