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
    /// Recorded with [`Summary::record_first`].
    first: bool,
}

/// The rows of the summary table, plus notes about what was skipped or weakened and why.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    rows: Vec<Row>,
    notes: Vec<String>,
    /// The wall-clock time of the whole run, when steps overlapped (else the rows' sum).
    wall: Option<Duration>,
}

impl Summary {
    /// Records a step that ran.
    pub(crate) fn record(&mut self, step: &'static str, status: Status, elapsed: Duration) {
        self.rows.push(Row {
            step,
            status,
            elapsed: Some(elapsed),
            first: false,
        });
    }

    /// Records a step that ran before the ones recorded so far (the setup, which ran in a
    /// second process alongside them), after the others recorded this way.
    pub(crate) fn record_first(&mut self, step: &'static str, status: Status, elapsed: Duration) {
        let at = self.rows.iter().take_while(|r| r.first).count();
        self.rows.insert(
            at,
            Row {
                step,
                status,
                elapsed: Some(elapsed),
                first: true,
            },
        );
    }

    /// The total printed: the wall-clock time of the run instead of the sum of the rows.
    pub(crate) fn set_wall_time(&mut self, wall: Duration) {
        self.wall = Some(wall);
    }

    /// Each step recorded: its title, how it ended and how long it took (zero when not run).
    pub(crate) fn rows(&self) -> impl Iterator<Item = (&'static str, Status, Duration)> + '_ {
        self.rows
            .iter()
            .map(|r| (r.step, r.status, r.elapsed.unwrap_or_default()))
    }

    /// Records a step that did not run.
    pub(crate) fn not_run(&mut self, step: &'static str) {
        self.rows.push(Row {
            step,
            status: Status::NotRun,
            elapsed: None,
            first: false,
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
            .chain(["step".len(), "total (wall clock)".len()])
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
        let (label, total) = match self.wall {
            Some(wall) => ("total (wall clock)", wall),
            None => ("total", total),
        };
        writeln!(
            f,
            "{label:<width$}  {verdict:<7}  {:>8.1}",
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
        assert_eq!(lines[0], "step                status    seconds");
        assert_eq!(lines[2], "fmt                 ok            1.5");
        assert_eq!(lines[3], "clippy (host)       FAILED       12.0");
        assert_eq!(lines[4], "docs                not run         -");
        assert_eq!(lines[6], "total               FAILED       13.5");
        assert_eq!(lines[7], "note: advisories skipped");
        assert!(!summary.passed());
    }

    #[test]
    fn overlapping_steps_go_first_and_the_total_is_the_wall_clock() {
        let mut summary = Summary::default();
        summary.record("tidy", Status::Ok, Duration::from_secs(2));
        summary.record_first("setup: apt", Status::Ok, Duration::from_secs(30));
        summary.record_first("setup: npm", Status::Ok, Duration::from_secs(5));
        summary.record("test", Status::Ok, Duration::from_secs(10));
        summary.set_wall_time(Duration::from_secs(41));
        let order: Vec<&str> = summary.rows().map(|(step, _, _)| step).collect();
        assert_eq!(order, ["setup: apt", "setup: npm", "tidy", "test"]);
        let table = summary.to_string();
        assert!(
            table.contains("total (wall clock)  ok           41.0"),
            "{table}"
        );
    }

    #[test]
    fn all_ok_passes() {
        let mut summary = Summary::default();
        summary.record("fmt", Status::Ok, Duration::ZERO);
        assert!(summary.passed());
        let table = summary.to_string();
        let total = table.lines().find(|l| l.starts_with("total")).unwrap();
        assert_eq!(
            total.split_whitespace().collect::<Vec<_>>(),
            ["total", "ok", "0.0"]
        );
    }
}
