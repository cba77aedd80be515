use super::*;

fn vars(name: &str) -> Option<&'static str> {
    match name {
        "APP" => Some("web"),
        "EMPTY" => Some(""),
        "PATH_NAME" => Some("/srv/app/conf.d/site.yaml"),
        "MIXED" => Some("hÉllo Wörld"),
        "N" => Some("3"),
        "NEG" => Some("-9"),
        _ => None,
    }
}

fn run(text: &str, strict: bool) -> Result<String, Error> {
    substitute(text, vars, strict)
}

#[track_caller]
fn check(text: &str, expected: &str) {
    assert_eq!(run(text, true).as_deref(), Ok(expected), "{text:?}");
}

#[track_caller]
fn fails(text: &str, expected: Error) {
    assert_eq!(run(text, true), Err(expected), "{text:?}");
}

#[test]
fn text_and_escapes() {
    check("", "");
    check("plain text: $ and $x and {}", "plain text: $ and $x and {}");
    check("$${APP}", "${APP}");
    check("cost: $$5 $$$${APP}", "cost: $5 $${APP}");
    check("$$${APP}", "$web");
    check(r"\\${APP} \/", r"\\web \/");
    check("${APP}$", "web$");
    check("a$", "a$");
}

#[test]
fn defaults() {
    check("${APP:=x}", "web");
    check("${UNSET:=x}", "x");
    check("${UNSET:-x y}", "x y");
    check("${EMPTY:-x}", "x");
    check("${UNSET=x}", "x");
    // `?` and `+` are defaults too in Flux's dialect.
    check("${UNSET:?oops}", "oops");
    check("${APP:+alt}", "web");
    check("${UNSET:+alt}", "alt");
    check("${UNSET:-${APP}-${N}}", "web-3");
    check("${UNSET:-}", "");
    check("${UNSET:-a:b}", "a:b");
    check("${UNSET:-{}", "{");
}

#[test]
fn operators() {
    check("${#APP} ${#PATH_NAME}", "3 25");
    check(
        "${APP^} ${APP^^} ${MIXED,} ${MIXED,,} ${MIXED^^}",
        "Web WEB hÉllo Wörld héllo wörld HÉLLO WÖRLD",
    );
    check("${PATH_NAME:5}", "app/conf.d/site.yaml");
    check("${PATH_NAME:5:3}", "app");
    check("${PATH_NAME:-9}", "/srv/app/conf.d/site.yaml");
    check("${PATH_NAME: -9}", "/srv/app/conf.d/site.yaml");
    check("${PATH_NAME:${NEG}}", "site.yaml");
    check("${PATH_NAME:x}", "/srv/app/conf.d/site.yaml");
    check("${PATH_NAME#*/}", "srv/app/conf.d/site.yaml");
    check("${PATH_NAME##*/}", "site.yaml");
    check("${PATH_NAME%.*}", "/srv/app/conf.d/site");
    check("${PATH_NAME%%.*}", "/srv/app/conf");
    check("${PATH_NAME%/*}", "/srv/app/conf.d");
    check("${PATH_NAME/a/A}", "/srv/App/conf.d/site.yaml");
    check("${PATH_NAME//a/A}", "/srv/App/conf.d/site.yAml");
    check("${PATH_NAME//\\//_}", "_srv_app_conf.d_site.yaml");
    check("${PATH_NAME/#\\/srv/opt}", "opt/app/conf.d/site.yaml");
    check("${PATH_NAME/%yaml/json}", "/srv/app/conf.d/site.json");
    check("${PATH_NAME/./}", "/srv/app/confd/site.yaml");
    fails("${PATH_NAME/.}", Error::BadSubstitution);
    // A prefix or suffix replacement without its replacement changes nothing.
    check("${APP/#w/}", "web");
    check("${APP/${N}/x}", "web");
}

#[test]
fn strict_mode() {
    fails("${UNSET}", Error::VariableNotSet("UNSET".into()));
    fails("${UNSET^^}", Error::VariableNotSet("UNSET".into()));
    fails("${#UNSET}", Error::VariableNotSet("UNSET".into()));
    // Arguments are evaluated first, even when the value does not need them.
    fails("${APP:-${UNSET}}", Error::VariableNotSet("UNSET".into()));
    assert_eq!(
        run("[${UNSET}] [${UNSET^^}]", false).as_deref(),
        Ok("[] []")
    );
    assert_eq!(
        Error::VariableNotSet("a\"b".into()).to_string(),
        r#"variable not set (strict mode): "a\"b""#
    );
}

#[test]
fn parse_errors() {
    fails("${", Error::ParseVariableName);
    fails("${}", Error::ParseVariableName);
    fails("${-x}", Error::ParseVariableName);
    fails("${APP", Error::MissingClosingBrace);
    fails("${APP x}", Error::MissingClosingBrace);
    fails("${APP-x}", Error::MissingClosingBrace);
    fails("${APP:=x", Error::ParseFuncSubstitution);
    fails("${APP^x}", Error::BadSubstitution);
    fails("${APP:1:2", Error::BadSubstitution);
    fails("${APP/x}", Error::BadSubstitution);
    fails("${APP#}", Error::ParseFuncSubstitution);
    fails("${#}", Error::BadSubstitution);
}

#[test]
fn scanner_quirks() {
    // A NUL ends the text.
    check("a\0${UNSET}", "a");
    // Escapes are not unescaped in operators or in a default's arguments.
    check("${UNSET:-$$x}", "$$x");
    check("${UNSET:-\\/}", "\\/");
    // Replacement arguments do unescape.
    check("${APP/w/$$\\}", "$\\eb");
    // After `:` the parser peeks at the next rune and steps back by its width: a
    // multi-byte rune there lands before the colon, and the substring fails to parse.
    check("${APP:e}", "web");
    fails("${APP:é}", Error::BadSubstitution);
    fails("${APP:😀}", Error::BadSubstitution);
    // Where Go's slicing panics.
    fails("${APP:2:-1}", Error::SliceBounds("[2:1]".into()));
    fails("${APP:1:-9}", Error::SliceBounds("[:-8]".into()));
}

#[test]
fn letters_and_digits_of_any_script_make_names() {
    let vars = |name: &str| (name == "ñame_٣").then_some("v");
    assert_eq!(substitute("${ñame_٣}", vars, true).as_deref(), Ok("v"));
}

#[test]
fn nesting_is_bounded() {
    let deep = "${A:-".repeat(MAX_NESTING) + &"}".repeat(MAX_NESTING);
    assert_eq!(substitute(&deep, |_| None, true).as_deref(), Ok(""));
    let deeper = "${A:-".repeat(MAX_NESTING + 1) + &"}".repeat(MAX_NESTING + 1);
    assert_eq!(substitute(&deeper, |_| None, true), Err(Error::TooDeep));
    // Long flat texts do not recurse.
    let long = "${APP}.".repeat(100_000);
    assert_eq!(run(&long, true).map(|s| s.len()), Ok(400_000));
}

#[test]
fn results_are_bounded() {
    let vars = |name: &str| (name == "V").then_some("abcdefgh");
    // Each level puts the one below between every byte of V: 9^depth bytes.
    let mut text = "${V}".to_string();
    for _ in 0..8 {
        text = format!("${{V//${{E:-}}/{text}}}");
    }
    assert_eq!(substitute(&text, vars, false), Err(Error::TooLarge));
}
