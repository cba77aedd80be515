//! How differential tests show a mismatch: a unified diff of the oracle's output (`-`)
//! and crunch's (`+`), three lines of context, cut after a screenful or two.

/// Diff lines shown at most.
const MAX_LINES: usize = 120;

/// A unified diff of `oracle` and `crunch`; empty when they are equal. A missing final
/// newline shows as its own marker line.
pub fn unified(oracle: &str, crunch: &str) -> String {
    let diff = similar::TextDiff::from_lines(oracle, crunch);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header("oracle", "crunch")
        .to_string();
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = lines.len().saturating_sub(MAX_LINES);
    lines.truncate(MAX_LINES);
    let mut out = lines.join("\n");
    if cut > 0 {
        out.push_str(&format!("\n... {cut} more diff lines"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_changes_in_context() {
        let diff = super::unified("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nd\nE\nf\ng\nh");
        assert!(diff.contains("-e\n+E\n"), "{diff}");
        assert!(diff.contains("No newline at end of file"), "{diff}");
        assert_eq!(super::unified("same\n", "same\n"), "");
    }
}
