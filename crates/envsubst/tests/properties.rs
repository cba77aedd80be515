//! Properties of the dialect that hold for any text.

use crunch_envsubst::substitute;
use proptest::prelude::*;

fn none(_: &str) -> Option<&'static str> {
    None
}

proptest! {
    /// Whatever the text, a substitution returns; it never panics.
    #[test]
    fn any_text_is_answered(text in "(\\$|\\{|\\}|[:=#%/,^+?-]|\\\\|[a-z0-9_]|é|\\PC){0,40}") {
        let _ = substitute(&text, |name| (name == "a").then_some("x/y"), true);
        let _ = substitute(&text, none, false);
    }

    /// Text without a dollar (nor a NUL, which ends the text) comes out as it went in.
    #[test]
    fn text_without_dollars_is_kept(text in "[^$\\x00]{0,64}") {
        prop_assert_eq!(substitute(&text, none, true), Ok(text));
    }

    /// Doubling every dollar escapes a text: it comes back as written.
    #[test]
    fn doubled_dollars_escape(text in "[^\\x00]{0,64}") {
        let escaped = text.replace('$', "$$");
        prop_assert_eq!(substitute(&escaped, none, true), Ok(text));
    }

    /// A variable's value is inserted as it is, whatever it holds, with the text
    /// around it kept.
    #[test]
    fn values_are_inserted_verbatim(
        name in "[A-Za-z_][A-Za-z0-9_]{0,12}",
        value in "\\PC{0,32}",
        before in "[^$\\x00]{0,16}",
        after in "[^$\\x00]{0,16}",
    ) {
        let text = format!("{before}${{{name}}}{after}");
        let lookup = |n: &str| (n == name).then_some(value.as_str());
        prop_assert_eq!(substitute(&text, lookup, true), Ok(format!("{before}{value}{after}")));
    }

    /// Strict and lenient modes agree wherever every variable is set.
    #[test]
    fn strictness_only_matters_for_unset_variables(text in "(\\$|\\{|\\}|[:=#%/,^-]|[ab]|é){0,30}") {
        let lookup = |n: &str| match n { "a" => Some("ab/é"), "b" => Some(""), _ => None };
        if let Ok(strict) = substitute(&text, lookup, true) {
            prop_assert_eq!(substitute(&text, lookup, false), Ok(strict));
        }
    }
}
