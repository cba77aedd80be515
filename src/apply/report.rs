//! The end of a run: a table for people, JSON for automation, and an exit code that tells
//! verification failures, apply failures and readiness timeouts apart.

use std::fmt::Write as _;

use serde::Serialize;

use super::component::{ComponentReport, Outcome};
use super::plan::Plan;
use super::prune::Pruned;

/// Exit code: everything applied and ready (or, for a dry run, previewed).
pub const EXIT_OK: u8 = 0;
/// Exit code: the bundle failed verification; nothing was sent.
pub const EXIT_VERIFICATION: u8 = 3;
/// Exit code: a request failed (conflict, rejected object, failed hook, prune error) or
/// the cluster could not be reached.
pub const EXIT_APPLY: u8 = 4;
/// Exit code: something was not ready within its timeout.
pub const EXIT_TIMEOUT: u8 = 5;
/// Exit code: interrupted (Ctrl-C); running again completes the work.
pub const EXIT_INTERRUPTED: u8 = 130;

/// The result of `crunch apply`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The environment of the bundle.
    pub environment: String,
    /// The bundle digest.
    pub bundle: String,
    /// Whether this was a server-side dry run.
    pub dry_run: bool,
    /// One entry per component, in apply order.
    pub components: Vec<ComponentReport>,
    /// What pruning did, if it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pruned: Option<Pruned>,
    /// Why pruning stopped, if it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune_error: Option<String>,
    /// Whether the run was interrupted.
    pub interrupted: bool,
    /// Wall time, in seconds.
    pub seconds: f64,
    /// API requests sent.
    pub requests: u64,
}

impl Report {
    /// A report of `components` for `plan`.
    pub fn new(plan: &Plan, dry_run: bool, components: Vec<ComponentReport>) -> Self {
        Self {
            environment: plan.environment.clone(),
            bundle: plan.digest.clone(),
            dry_run,
            components,
            pruned: None,
            prune_error: None,
            interrupted: false,
            seconds: 0.0,
            requests: 0,
        }
    }

    /// The process exit code: interruption first, then failures, then timeouts.
    pub fn exit_code(&self) -> u8 {
        let any = |f: fn(&Outcome) -> bool| self.components.iter().any(|c| f(&c.outcome));
        if self.interrupted || any(|o| *o == Outcome::Interrupted) {
            EXIT_INTERRUPTED
        } else if any(|o| matches!(o, Outcome::Failed(_))) || self.prune_error.is_some() {
            EXIT_APPLY
        } else if any(|o| matches!(o, Outcome::TimedOut(_) | Outcome::Skipped(_))) {
            EXIT_TIMEOUT
        } else {
            EXIT_OK
        }
    }

    /// The report as a table, failures spelled out below it.
    pub fn to_text(&self) -> String {
        let mut rows = vec![[
            "COMPONENT".to_string(),
            "STATUS".to_string(),
            "OBJECTS".to_string(),
            "CREATED".to_string(),
            "CHANGED".to_string(),
            "UNCHANGED".to_string(),
            "HOOKS".to_string(),
            "SECONDS".to_string(),
        ]];
        for c in &self.components {
            let status = match (&c.outcome, self.dry_run) {
                (Outcome::Ready, true) => "previewed",
                (Outcome::Ready, false) => "ready",
                (Outcome::Failed(_), _) => "failed",
                (Outcome::TimedOut(_), _) => "timed out",
                (Outcome::Skipped(_), _) => "skipped",
                (Outcome::Interrupted, _) => "interrupted",
            };
            rows.push([
                c.id.clone(),
                status.to_string(),
                c.objects.to_string(),
                c.counts.created.to_string(),
                c.counts.changed.to_string(),
                c.counts.unchanged.to_string(),
                c.hooks.to_string(),
                format!("{:.1}", c.seconds),
            ]);
        }
        let widths: Vec<usize> = (0..8)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
        for c in &self.components {
            if let Outcome::Failed(m) | Outcome::TimedOut(m) | Outcome::Skipped(m) = &c.outcome {
                let _ = writeln!(out, "\n{}: {m}", c.id);
            }
        }
        if let Some(pruned) = &self.pruned {
            if !pruned.deleted.is_empty() {
                let _ = writeln!(out, "\npruned:");
                for object in &pruned.deleted {
                    let _ = writeln!(out, "  {object}");
                }
            }
            if !pruned.kept.is_empty() {
                let _ = writeln!(out, "\nnot pruned:");
                for kept in &pruned.kept {
                    let _ = writeln!(out, "  {}: {}", kept.object, kept.reason);
                }
            }
        }
        if let Some(e) = &self.prune_error {
            let _ = writeln!(out, "\nprune failed: {e}");
        }
        if self.interrupted {
            let _ = writeln!(
                out,
                "\ninterrupted: run `crunch apply` again to complete the work"
            );
        }
        let _ = writeln!(
            out,
            "\n{:.1}s, {} API requests",
            self.seconds, self.requests
        );
        out
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot encode the report: {e}\"}}"));
        text.push('\n');
        text
    }
}
