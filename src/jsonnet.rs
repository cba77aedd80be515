//! Jsonnet, for `crunch.jsonnet`: `rsjsonnet-lang` evaluates, crunch supplies the files
//! (imports relative to the importing file) and its own `std.parseYaml`.
//!
//! go-jsonnet's `std.parseYaml` reads YAML through `sigs.k8s.io/yaml`, i.e. go-yaml v2:
//! `yes`/`on` are booleans, `0777` is octal. rsjsonnet-lang's reads YAML 1.2 (`yes` is a
//! string, `0777` is 777), so every file is evaluated with `std.parseYaml` replaced by
//! crunch's [`yaml`] layer in the [`yaml::Dialect::GoYamlV2`] dialect, registered as a
//! native function. A stream of several documents reads as an array of them, one document
//! as its value, as in go-jsonnet.
//!
//! Errors name the file, line and column (`crunch.jsonnet:7:12: …`).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::ast::{BinaryOp, UnaryOp};
use rsjsonnet_lang::interner::InternedStr;
use rsjsonnet_lang::lexer::LexError;
use rsjsonnet_lang::parser::{ActualToken, ExpectedToken, ParseError};
use rsjsonnet_lang::program::{
    AnalyzeError, Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, LoadError,
    NativeError, Program, Thunk, Value as JsonnetValue,
};
use rsjsonnet_lang::span::{SpanContextId, SpanId};
use serde_json::Value;

use crate::yaml;

/// The native function behind `std.parseYaml`.
const PARSE_YAML: &str = "crunch.parseYaml";

/// Put before every file, on its first line so that its lines keep their numbers: `std`
/// with `parseYaml` replaced.
const PRELUDE: &str = "local crunch_std = std; local std = crunch_std { parseYaml(str):: crunch_std.native('crunch.parseYaml')(str) }; ";

/// A Jsonnet file that cannot be read, loaded or evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// `file:line:column`, when the failure has a place.
    pub location: Option<String>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Evaluates the Jsonnet file at `path` and manifests it as JSON.
pub fn evaluate_file(path: &Path) -> Result<Value, Error> {
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    let parse_yaml = program.intern_str(PARSE_YAML);
    let parameter = program.intern_str("str");
    program.register_native_func(parse_yaml, &[parameter]);
    let mut files = Files::default();
    let text = std::fs::read(path).map_err(|e| Error {
        location: None,
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let thunk = files.load(&mut program, path, text)?;
    let value = program
        .eval_value(&thunk, &mut files)
        .map_err(|e| files.eval_error(&program, &e))?;
    let json = program
        .manifest_json(&value, false)
        .map_err(|e| files.eval_error(&program, &e))?;
    serde_json::from_str(&json).map_err(|e| Error {
        location: Some(path.display().to_string()),
        message: format!("evaluates to JSON that cannot be read back: {e}"),
    })
}

/// One file loaded into the program.
struct Source {
    context: SpanContextId,
    path: PathBuf,
    text: Vec<u8>,
}

/// The files of one evaluation, and what the program asks of crunch.
#[derive(Default)]
struct Files<'p> {
    sources: Vec<Source>,
    /// Files imported as Jsonnet, by path: each is evaluated once.
    imported: HashMap<PathBuf, Thunk<'p>>,
    /// Why the last import or native call failed: the program only learns that it did.
    failure: Option<Error>,
}

impl<'p> Files<'p> {
    /// Loads `text`, the Jsonnet file at `path`, with the prelude.
    fn load(
        &mut self,
        program: &mut Program<'p>,
        path: &Path,
        text: Vec<u8>,
    ) -> Result<Thunk<'p>, Error> {
        let mut input = PRELUDE.as_bytes().to_vec();
        input.extend_from_slice(&text);
        let (context, _) = program
            .span_manager_mut()
            .insert_source_context(input.len());
        self.sources.push(Source {
            context,
            path: path.to_path_buf(),
            text,
        });
        program
            .load_source(context, &input, true, &path.display().to_string())
            .map_err(|e| self.load_error(program, &e))
    }

    /// `path` as written in an import in the file that holds `from`.
    fn resolve(&self, program: &Program<'p>, from: SpanId, path: &str) -> PathBuf {
        let (context, _, _) = program.span_manager().get_span(from);
        let dir = self
            .sources
            .iter()
            .find(|source| source.context == context)
            .and_then(|source| source.path.parent());
        dir.unwrap_or(Path::new("")).join(path)
    }

    /// Reads an imported file, remembering why it could not be read.
    fn read(&mut self, program: &Program<'p>, from: SpanId, path: &str) -> Option<Vec<u8>> {
        let resolved = self.resolve(program, from, path);
        match std::fs::read(&resolved) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                self.failure = Some(Error {
                    location: self.locate(program, from),
                    message: format!("cannot import {}: {e}", resolved.display()),
                });
                None
            }
        }
    }

    /// `file:line:column` of a span in one of the files, `None` inside the prelude or the
    /// standard library.
    fn locate(&self, program: &Program<'p>, span: SpanId) -> Option<String> {
        let (context, start, _) = program.span_manager().get_span(span);
        let source = self.sources.iter().find(|s| s.context == context)?;
        let offset = start.checked_sub(PRELUDE.len())?;
        let before = source.text.get(..offset)?;
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Some(format!("{}:{line}:{column}", source.path.display()))
    }

    fn load_error(&self, program: &Program<'p>, error: &LoadError) -> Error {
        let (span, message) = load_message(error);
        Error {
            location: self.locate(program, span),
            message,
        }
    }

    fn eval_error(&mut self, program: &Program<'p>, error: &EvalError) -> Error {
        let failure = self.failure.take();
        let (span, message) = eval_message(&error.kind);
        // The error's own place, else the innermost place in a file the trace passes.
        let location = || {
            span.into_iter()
                .chain(error.stack_trace.iter().filter_map(trace_span))
                .find_map(|span| self.locate(program, span))
        };
        let failed_call = matches!(
            error.kind,
            EvalErrorKind::ImportFailed { .. } | EvalErrorKind::NativeCallFailed
        );
        match failure {
            Some(failure) if failed_call => Error {
                location: failure.location.clone().or_else(location),
                ..failure
            },
            _ => Error {
                location: location(),
                message,
            },
        }
    }
}

impl<'p> Callbacks<'p> for Files<'p> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let resolved = self.resolve(program, from, path);
        if let Some(thunk) = self.imported.get(&resolved) {
            return Ok(thunk.clone());
        }
        let text = self.read(program, from, path).ok_or(ImportError)?;
        match self.load(program, &resolved, text) {
            Ok(thunk) => {
                self.imported.insert(resolved, thunk.clone());
                Ok(thunk)
            }
            Err(e) => {
                self.failure = Some(e);
                Err(ImportError)
            }
        }
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let bytes = self.read(program, from, path).ok_or(ImportError)?;
        String::from_utf8(bytes).map_err(|_| {
            self.failure = Some(Error {
                location: self.locate(program, from),
                message: format!("importstr {path}: not UTF-8"),
            });
            ImportError
        })
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        self.read(program, from, path).ok_or(ImportError)
    }

    fn trace(&mut self, program: &mut Program<'p>, message: &str, stack: &[EvalStackTraceItem]) {
        // `std.trace` is the file author's own debugging output; go-jsonnet prints it to
        // standard error too.
        let location = stack
            .iter()
            .filter_map(trace_span)
            .find_map(|span| self.locate(program, span))
            .unwrap_or_default();
        eprintln!("TRACE: {location} {message}");
    }

    fn native_call(
        &mut self,
        program: &mut Program<'p>,
        name: InternedStr<'p>,
        args: &[JsonnetValue<'p>],
    ) -> Result<JsonnetValue<'p>, NativeError> {
        let fail = |message: String| Error {
            location: None,
            message,
        };
        let parsed = match (name.value(), args) {
            (PARSE_YAML, [text]) => match text.to_string() {
                Some(text) => parse_yaml(&text).map_err(|e| fail(format!("std.parseYaml: {e}"))),
                None => Err(fail("std.parseYaml: expected a string".to_string())),
            },
            (other, _) => Err(fail(format!("no native function {other}"))),
        };
        match parsed {
            Ok(value) => Ok(to_jsonnet(program, &value)),
            Err(e) => {
                self.failure = Some(e);
                Err(NativeError)
            }
        }
    }
}

/// `std.parseYaml` as go-jsonnet reads: go-yaml v2; several documents make an array.
fn parse_yaml(text: &str) -> Result<Value, yaml::Error> {
    let mut documents = yaml::parse_stream(text, yaml::Dialect::GoYamlV2)?;
    Ok(match documents.len() {
        0 => Value::Null,
        1 => documents.remove(0),
        _ => Value::Array(documents),
    })
}

fn to_jsonnet<'p>(program: &mut Program<'p>, value: &Value) -> JsonnetValue<'p> {
    match value {
        Value::Null => JsonnetValue::null(),
        Value::Bool(b) => JsonnetValue::bool(*b),
        // Jsonnet has only doubles.
        Value::Number(n) => JsonnetValue::number(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JsonnetValue::string(s),
        Value::Array(items) => {
            let items: Vec<JsonnetValue<'p>> =
                items.iter().map(|item| to_jsonnet(program, item)).collect();
            program.make_array(&items)
        }
        Value::Object(map) => {
            let fields: Vec<(InternedStr<'p>, JsonnetValue<'p>)> = map
                .iter()
                .map(|(key, value)| (program.intern_str(key), to_jsonnet(program, value)))
                .collect();
            program.make_object(&fields)
        }
    }
}

fn trace_span(item: &EvalStackTraceItem) -> Option<SpanId> {
    match item {
        EvalStackTraceItem::Expr { span }
        | EvalStackTraceItem::Variable { span, .. }
        | EvalStackTraceItem::Import { span } => Some(*span),
        EvalStackTraceItem::Call { span, .. }
        | EvalStackTraceItem::ArrayItem { span, .. }
        | EvalStackTraceItem::ObjectField { span, .. } => *span,
        EvalStackTraceItem::CompareArrayItem { .. }
        | EvalStackTraceItem::CompareObjectField { .. }
        | EvalStackTraceItem::ManifestArrayItem { .. }
        | EvalStackTraceItem::ManifestObjectField { .. } => None,
    }
}

fn load_message(error: &LoadError) -> (SpanId, String) {
    match error {
        LoadError::Lex(e) => lex_message(e),
        LoadError::Parse(ParseError::Expected {
            span,
            expected,
            instead,
        }) => {
            let expected: Vec<String> = expected.iter().map(expected_token).collect();
            (
                *span,
                format!(
                    "syntax error: expected {}, found {}",
                    expected.join(" or "),
                    actual_token(instead)
                ),
            )
        }
        LoadError::Analyze(e) => analyze_message(e),
    }
}

fn expected_token(token: &ExpectedToken) -> String {
    match token {
        ExpectedToken::EndOfFile => "end of file".to_string(),
        ExpectedToken::Simple(kind) => format!("{kind:?}"),
        ExpectedToken::Ident => "an identifier".to_string(),
        ExpectedToken::Number => "a number".to_string(),
        ExpectedToken::String => "a string".to_string(),
        ExpectedToken::TextBlock => "a text block".to_string(),
        ExpectedToken::Expr => "an expression".to_string(),
        ExpectedToken::BinaryOp => "a binary operator".to_string(),
    }
}

fn actual_token(token: &ActualToken) -> String {
    match token {
        ActualToken::EndOfFile => "end of file".to_string(),
        ActualToken::Simple(kind) => format!("{kind:?}"),
        ActualToken::OtherOp(op) => format!("operator `{op}`"),
        ActualToken::Ident(name) => format!("identifier `{name}`"),
        ActualToken::Number => "a number".to_string(),
        ActualToken::String => "a string".to_string(),
        ActualToken::TextBlock => "a text block".to_string(),
    }
}

fn lex_message(error: &LexError) -> (SpanId, String) {
    let (span, message) = match error {
        LexError::InvalidChar { span, chr } => (span, format!("invalid character {chr:?}")),
        LexError::InvalidUtf8 { span, .. } => (span, "invalid UTF-8".to_string()),
        LexError::UnfinishedMultilineComment { span } => {
            (span, "comment not closed by `*/`".to_string())
        }
        LexError::LeadingZeroInNumber { span } => (span, "leading zero in a number".to_string()),
        LexError::MissingFracDigits { span } => (span, "digits missing after `.`".to_string()),
        LexError::MissingExpDigits { span } => {
            (span, "exponent digits missing in a number".to_string())
        }
        LexError::MissingDigitAfterUnderscore { span } => {
            (span, "digit missing after `_`".to_string())
        }
        LexError::ExpOverflow { span } => (span, "exponent too large".to_string()),
        LexError::InvalidEscapeInString { span, chr } => {
            (span, format!("invalid escape `\\{chr}` in a string"))
        }
        LexError::IncompleteUnicodeEscape { span } => (span, "incomplete `\\u` escape".to_string()),
        LexError::InvalidUtf16EscapeSequence { span, .. } => {
            (span, "`\\u` escape of no character".to_string())
        }
        LexError::UnfinishedString { span } => (span, "string not closed".to_string()),
        LexError::MissingLineBreakAfterTextBlockStart { span } => {
            (span, "line break missing after `|||`".to_string())
        }
        LexError::MissingWhitespaceTextBlockStart { span } => {
            (span, "text block lines must be indented".to_string())
        }
        LexError::InvalidTextBlockTermination { span } => {
            (span, "text block not closed by `|||`".to_string())
        }
    };
    (*span, message)
}

fn analyze_message(error: &AnalyzeError) -> (SpanId, String) {
    let (span, message) = match error {
        AnalyzeError::UnknownVariable { span, name } => {
            (span, format!("unknown variable `{name}`"))
        }
        AnalyzeError::SelfOutsideObject { self_span } => {
            (self_span, "`self` outside an object".to_string())
        }
        AnalyzeError::SuperOutsideObject { super_span } => {
            (super_span, "`super` outside an object".to_string())
        }
        AnalyzeError::DollarOutsideObject { dollar_span } => {
            (dollar_span, "`$` outside an object".to_string())
        }
        AnalyzeError::RepeatedLocalName {
            repeated_span,
            name,
            ..
        } => (repeated_span, format!("local `{name}` defined twice")),
        AnalyzeError::RepeatedFieldName {
            repeated_span,
            name,
            ..
        } => (repeated_span, format!("field `{name}` defined twice")),
        AnalyzeError::RepeatedParamName {
            repeated_span,
            name,
            ..
        } => (repeated_span, format!("parameter `{name}` named twice")),
        AnalyzeError::PositionalArgAfterNamed { arg_span } => (
            arg_span,
            "positional argument after a named one".to_string(),
        ),
        AnalyzeError::TextBlockAsImportPath { span } => {
            (span, "an import path cannot be a text block".to_string())
        }
        AnalyzeError::ComputedImportPath { span } => {
            (span, "an import path must be a literal string".to_string())
        }
    };
    (*span, message)
}

fn unary(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Minus => "-",
        UnaryOp::Plus => "+",
        UnaryOp::BitwiseNot => "~",
        UnaryOp::LogicNot => "!",
    }
}

fn binary(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Rem => "%",
        BinaryOp::Shl => "<<",
        BinaryOp::Shr => ">>",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::In => "in",
        BinaryOp::BitwiseAnd => "&",
        BinaryOp::BitwiseOr => "|",
        BinaryOp::BitwiseXor => "^",
        BinaryOp::LogicAnd => "&&",
        BinaryOp::LogicOr => "||",
    }
}

/// What went wrong, and where when the error knows.
fn eval_message(kind: &EvalErrorKind) -> (Option<SpanId>, String) {
    use EvalErrorKind as K;
    let typed = |what: &str, got: &rsjsonnet_lang::program::EvalErrorValueType| {
        format!("{what}, got {}", type_name(*got))
    };
    match kind {
        K::StackOverflow => (None, "stack overflow".to_string()),
        K::InfiniteRecursion => (None, "infinite recursion".to_string()),
        K::InvalidIndexedType { span, got_type } => (Some(*span), typed("cannot index", got_type)),
        K::InvalidSlicedType { span, got_type } => (Some(*span), typed("cannot slice", got_type)),
        K::SliceIndexOrStepIsNotNumber { span, got_type } => (
            Some(*span),
            typed("slice index or step must be a number", got_type),
        ),
        K::StringIndexIsNotNumber { span, got_type } => (
            Some(*span),
            typed("string index must be a number", got_type),
        ),
        K::ArrayIndexIsNotNumber { span, got_type } => {
            (Some(*span), typed("array index must be a number", got_type))
        }
        K::NumericIndexIsNotValid { span, index } => {
            (Some(*span), format!("index {index} is not an integer"))
        }
        K::NumericIndexOutOfRange {
            span,
            index,
            length,
        } => (
            Some(*span),
            format!("index {index} out of range for length {length}"),
        ),
        K::ObjectIndexIsNotString { span, got_type } => (
            Some(*span),
            typed("object index must be a string", got_type),
        ),
        K::RepeatedFieldName { span, name } => {
            (Some(*span), format!("field `{name}` defined twice"))
        }
        K::FieldNameIsNotString { span, got_type } => {
            (Some(*span), typed("field name must be a string", got_type))
        }
        K::UnknownObjectField { span, field_name } => {
            (Some(*span), format!("field `{field_name}` does not exist"))
        }
        K::FieldOfNonObject { span } => (Some(*span), "field of a non-object".to_string()),
        K::SuperWithoutSuperObject { span } => {
            (Some(*span), "`super` without a super object".to_string())
        }
        K::ForSpecValueIsNotArray { span, got_type } => {
            (Some(*span), typed("`for` needs an array", got_type))
        }
        K::CondIsNotBool { span, got_type } => {
            (Some(*span), typed("condition must be a boolean", got_type))
        }
        K::CalleeIsNotFunction { span, got_type } => {
            (*span, typed("only functions can be called", got_type))
        }
        K::TooManyCallArgs { span, num_params } => (
            *span,
            format!("too many arguments: the function takes {num_params}"),
        ),
        K::UnknownCallParam { span, param_name } => {
            (*span, format!("no parameter named `{param_name}`"))
        }
        K::RepeatedCallParam { span, param_name } => {
            (*span, format!("argument `{param_name}` given twice"))
        }
        K::CallParamNotBound { span, param_name } => {
            (*span, format!("argument `{param_name}` missing"))
        }
        K::NativeCallFailed => (None, "native function failed".to_string()),
        K::InvalidUnaryOpType { span, op, rhs_type } => (
            Some(*span),
            format!(
                "operator {} cannot take {}",
                unary(*op),
                type_name(*rhs_type)
            ),
        ),
        K::InvalidBinaryOpTypes {
            span,
            op,
            lhs_type,
            rhs_type,
        } => (
            *span,
            format!(
                "operator {} cannot take {} and {}",
                binary(*op),
                type_name(*lhs_type),
                type_name(*rhs_type)
            ),
        ),
        K::NumberNotBitwiseSafe { span } => (
            *span,
            "number too large for a bitwise operation".to_string(),
        ),
        K::NumberOverflow { span } => (*span, "number overflow".to_string()),
        K::NumberNan { span } => (*span, "not a number".to_string()),
        K::DivByZero { span } => (*span, "division by zero".to_string()),
        K::ShiftByNegative { span } => (*span, "shift by a negative number".to_string()),
        K::InvalidStdFuncArgType {
            func_name,
            arg_index,
            expected_types,
            got_type,
        } => {
            let expected: Vec<&str> = expected_types.iter().map(|t| type_name(*t)).collect();
            (
                None,
                format!(
                    "std.{func_name}: argument {} must be {}, got {}",
                    arg_index + 1,
                    expected.join(" or "),
                    type_name(*got_type)
                ),
            )
        }
        K::AssertFailed { span, message } => (
            Some(*span),
            match message {
                Some(message) => format!("assertion failed: {message}"),
                None => "assertion failed".to_string(),
            },
        ),
        K::AssertEqualFailed { lhs, rhs } => (None, format!("assertion failed: {lhs} != {rhs}")),
        K::ExplicitError { span, message } => (Some(*span), message.clone()),
        K::ImportFailed { span, path } => (Some(*span), format!("cannot import {path}")),
        K::UnknownExtVar { name } => (None, format!("no external variable `{name}`")),
        K::ManifestFunction => (None, "a function cannot be manifested".to_string()),
        K::CompareNullInequality => (None, "null cannot be ordered".to_string()),
        K::CompareBooleanInequality => (None, "booleans cannot be ordered".to_string()),
        K::CompareObjectInequality => (None, "objects cannot be ordered".to_string()),
        K::CompareFunctions => (None, "functions cannot be compared".to_string()),
        K::CompareDifferentTypesInequality { lhs_type, rhs_type } => (
            None,
            format!(
                "{} and {} cannot be ordered",
                type_name(*lhs_type),
                type_name(*rhs_type)
            ),
        ),
        K::PrimitiveEqualsNonPrimitive { got_type } => (
            None,
            format!("cannot compare {} for equality", type_name(*got_type)),
        ),
        K::Other { span, message } => (*span, message.clone()),
    }
}

fn type_name(value_type: rsjsonnet_lang::program::EvalErrorValueType) -> &'static str {
    use rsjsonnet_lang::program::EvalErrorValueType as T;
    match value_type {
        T::Null => "null",
        T::Bool => "a boolean",
        T::Number => "a number",
        T::String => "a string",
        T::Array => "an array",
        T::Object => "an object",
        T::Function => "a function",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluate(files: &[(&str, &str)]) -> Result<Value, String> {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        evaluate_file(&dir.path().join(files[0].0)).map_err(|e| {
            e.to_string()
                .replace(&format!("{}/", dir.path().display()), "")
        })
    }

    #[test]
    fn parse_yaml_reads_as_go_yaml_v2() {
        let value = evaluate(&[(
            "c.jsonnet",
            "std.parseYaml('a: yes\\nb: on\\nc: 0777\\nd: 1e3\\ne: 0x1F\\nf: ~\\ng: No')",
        )])
        .unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a": true, "b": true, "c": 511, "d": 1000, "e": 31, "f": null, "g": false})
        );
        let stream = evaluate(&[("c.jsonnet", "std.parseYaml('a: 1\\n---\\nb: 2\\n')")]).unwrap();
        assert_eq!(stream, serde_json::json!([{"a": 1}, {"b": 2}]));
    }

    #[test]
    fn imports_are_relative_to_the_importing_file() {
        let value = evaluate(&[
            (
                "c.jsonnet",
                "local lib = import 'lib.libsonnet'; lib { b: importstr 'b.txt' }",
            ),
            ("lib.libsonnet", "{ a: std.parseYaml('x: on').x }"),
            ("b.txt", "text"),
        ])
        .unwrap();
        assert_eq!(value, serde_json::json!({"a": true, "b": "text"}));
    }

    #[test]
    fn errors_point_at_file_line_and_column() {
        let error = |text: &str| evaluate(&[("c.jsonnet", text)]).unwrap_err();
        assert_eq!(error("{\n  a: error 'boom',\n}"), "c.jsonnet:2:6: boom");
        assert_eq!(
            error("{\n  a: 1 +,\n}"),
            "c.jsonnet:2:9: syntax error: expected an expression, found Comma"
        );
        assert_eq!(error("{ a: b }"), "c.jsonnet:1:6: unknown variable `b`");
        assert_eq!(
            error("{\n  a: std.parseYaml('a: [')\n}"),
            "c.jsonnet:2:6: std.parseYaml: yaml: line 1: did not find expected node content"
        );
        assert_eq!(
            evaluate(&[
                ("c.jsonnet", "{\n\n  a: import 'lib.libsonnet' }"),
                ("lib.libsonnet", "{ x: }")
            ])
            .unwrap_err(),
            "lib.libsonnet:1:6: syntax error: expected an expression, found RightBrace"
        );
        assert!(
            error("import 'missing.libsonnet'")
                .starts_with("c.jsonnet:1:1: cannot import missing.libsonnet: "),
        );
    }
}
