//! The command line's own surfaces: shell completions and the man page.

use std::process::Command;

fn crunch(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .args(args)
        .output()
        .expect("crunch runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// Each shell's script names the subcommands and their flags (fish spells `--offline`
/// `-l offline`), in that shell's own completion idiom.
#[test]
fn completions_for_every_shell() {
    let idioms = [
        ("bash", "complete -F _crunch"),
        ("zsh", "#compdef crunch"),
        ("fish", "complete -c crunch"),
        ("elvish", "set edit:completion:arg-completer[crunch]"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, idiom) in idioms {
        let script = crunch(&["completions", shell]);
        assert!(script.contains(idiom), "{shell}: no `{idiom}`");
        for word in [
            "apply",
            "build",
            "verify",
            "offline",
            "output",
            "identity",
            "plaintext-secrets",
        ] {
            assert!(script.contains(word), "{shell}: no `{word}`");
        }
    }
    let refused = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
}

/// `crunch man` is a roff page titled crunch(1) that lists the subcommands.
#[test]
fn man_page() {
    let page = crunch(&["man"]);
    assert!(page.contains(".TH crunch 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}: {page}");
    }
    for subcommand in [
        "crunch\\-build(1)",
        "crunch\\-apply(1)",
        "crunch\\-completions(1)",
    ] {
        assert!(page.contains(subcommand), "no {subcommand}: {page}");
    }
}

/// `crunch man COMMAND` is the page the top page refers to: crunch-build(1) for `build`,
/// with that command's options; an unknown command is a usage error.
#[test]
fn man_page_of_a_command() {
    let page = crunch(&["man", "build"]);
    assert!(page.contains(".TH crunch-build 1"), "{page}");
    assert!(page.contains("offline"), "{page}");
    let refused = Command::new(env!("CARGO_BIN_EXE_crunch"))
        .args(["man", "nope"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("crunch has no command \"nope\""));
}
