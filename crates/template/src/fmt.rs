//! Go's `fmt` printing of template values: `%v`, `Sprint`, `Sprintln`, `Sprintf` with
//! Go's verbs, flags and error notation (`%!d(string=x)`, `%!v(MISSING)`, …).

use super::Value;
use crunch_gostd::strconv::{self, format_float, is_print, quote};

/// `fmt.Sprint(v)` of one value (`%v`).
pub(crate) fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// Appends `%v` of `v`.
pub(crate) fn write_value(out: &mut String, v: &Value) {
    let mut p = Printer {
        out,
        flags: Flags::default(),
    };
    p.print_arg(v, 'v', 0);
}

/// `fmt.Sprint(args...)`: spaces between operands when neither is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_value(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln(args...)`: spaces between all operands, then a newline.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a);
    }
    out.push('\n');
    out
}

/// Go's `fmt.Sprintf(format, args...)` over template values, as the `printf` builtin
/// prints (Helm formats some of its own messages with it too).
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut p = Printer {
        out: &mut out,
        flags: Flags::default(),
    };
    p.do_printf(format, args);
    out
}

/// `%U` (`U+0041`) or `%#U` (`U+0041 'A'`).
pub(crate) fn unicode_notation(c: char, sharp: bool) -> String {
    let mut s = format!("U+{:04X}", u32::from(c));
    if sharp && is_print(c) {
        s.push_str(&format!(" '{c}'"));
    }
    s
}

#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

struct Printer<'o> {
    out: &'o mut String,
    flags: Flags,
}

impl Printer<'_> {
    fn pad(&mut self, s: &str) {
        let Some(w) = self.flags.wid else {
            self.out.push_str(s);
            return;
        };
        let n = s.chars().count();
        if n >= w {
            self.out.push_str(s);
            return;
        }
        let fill = w - n;
        if self.flags.minus {
            self.out.push_str(s);
            self.out.extend(std::iter::repeat_n(' ', fill));
        } else {
            let c = if self.flags.zero { '0' } else { ' ' };
            self.out.extend(std::iter::repeat_n(c, fill));
            self.out.push_str(s);
        }
    }

    fn bad_verb(&mut self, v: &Value, verb: char) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        if matches!(v, Value::Nil) {
            self.out.push_str("<nil>");
        } else {
            self.out.push_str(&v.type_name());
            self.out.push('=');
            self.print_arg(v, 'v', 0);
        }
        self.out.push(')');
    }

    fn print_arg(&mut self, v: &Value, verb: char, depth: usize) {
        if verb == 'T' {
            let t = v.type_name();
            self.pad(&t);
            return;
        }
        match v {
            Value::Nil => {
                if depth > 0 && self.flags.sharp_v {
                    self.out.push_str("interface {}(nil)");
                } else if depth > 0 || verb == 'v' {
                    self.pad("<nil>");
                } else {
                    self.bad_verb(v, verb);
                }
            }
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(v, verb),
            },
            Value::Int(i) | Value::Int64(i) => self.fmt_integer(v, *i, verb),
            Value::Float(f) => self.fmt_float(v, *f, verb),
            Value::String(s) => self.fmt_string(v, s, verb),
            // `fmt` prints a `[]byte` as a string for the string verbs.
            Value::List(l) if matches!(verb, 's' | 'q' | 'x' | 'X') && l.as_bytes().is_some() => {
                let bytes = l.as_bytes().unwrap_or_default();
                self.fmt_string(v, &String::from_utf8_lossy(&bytes), verb);
            }
            Value::List(l) => {
                if self.flags.sharp_v {
                    self.out.push_str(l.type_name());
                    self.out.push('{');
                } else {
                    self.out.push('[');
                }
                for (i, item) in l.items().iter().enumerate() {
                    if i > 0 {
                        self.out
                            .push_str(if self.flags.sharp_v { ", " } else { " " });
                    }
                    self.print_arg(item, verb, depth + 1);
                }
                self.out.push(if self.flags.sharp_v { '}' } else { ']' });
            }
            Value::Map(m) => {
                if self.flags.sharp_v {
                    self.out.push_str(&v.type_name());
                    if m.is_nil() {
                        self.out.push_str("(nil)");
                        return;
                    }
                    self.out.push('{');
                } else {
                    self.out.push_str("map[");
                }
                for (i, (k, item)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        self.out
                            .push_str(if self.flags.sharp_v { ", " } else { " " });
                    }
                    self.fmt_string(&Value::Nil, k, verb);
                    self.out.push(':');
                    self.print_arg(item, verb, depth + 1);
                }
                self.out.push(if self.flags.sharp_v { '}' } else { ']' });
            }
            Value::Object(o) => {
                let s = o.display();
                self.pad(&s);
            }
        }
    }

    fn fmt_integer(&mut self, v: &Value, i: i64, verb: char) {
        let (base, upper) = match verb {
            'v' | 'd' => (10, false),
            'b' => (2, false),
            'o' | 'O' => (8, false),
            'x' => (16, false),
            'X' => (16, true),
            'c' => {
                let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
                self.pad(&c.to_string());
                return;
            }
            'q' => {
                let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
                let q = if self.flags.plus {
                    strconv::quote_rune_to_ascii(c)
                } else {
                    strconv::quote_rune(c)
                };
                self.pad(&q);
                return;
            }
            'U' => {
                let c = char::from_u32(i as u32).unwrap_or('\u{fffd}');
                let s = unicode_notation(c, self.flags.sharp);
                self.pad(&s);
                return;
            }
            _ => return self.bad_verb(v, verb),
        };
        let f = self.flags;
        let negative = i < 0;
        let u = i.unsigned_abs();
        let mut prec = 0usize;
        if let Some(p) = f.prec {
            prec = p;
            if p == 0 && u == 0 {
                let saved = self.flags.zero;
                self.flags.zero = false;
                self.pad("");
                self.flags.zero = saved;
                return;
            }
        } else if f.zero
            && !f.minus
            && let Some(w) = f.wid
        {
            prec = w;
            if negative || f.plus || f.space {
                prec = prec.saturating_sub(1);
            }
        }
        let mut digits = match base {
            2 => format!("{u:b}"),
            8 => format!("{u:o}"),
            16 if upper => format!("{u:X}"),
            16 => format!("{u:x}"),
            _ => u.to_string(),
        };
        if digits.len() < prec {
            digits = "0".repeat(prec - digits.len()) + &digits;
        }
        if f.sharp {
            match base {
                2 => digits.insert_str(0, "0b"),
                8 if !digits.starts_with('0') => digits.insert(0, '0'),
                16 => digits.insert_str(0, if upper { "0X" } else { "0x" }),
                _ => {}
            }
        }
        if verb == 'O' {
            digits.insert_str(0, "0o");
        }
        if negative {
            digits.insert(0, '-');
        } else if f.plus {
            digits.insert(0, '+');
        } else if f.space {
            digits.insert(0, ' ');
        }
        let saved = self.flags.zero;
        self.flags.zero = false;
        self.pad(&digits);
        self.flags.zero = saved;
    }

    fn fmt_float(&mut self, v: &Value, x: f64, verb: char) {
        let (fmt, default_prec) = match verb {
            'v' => ('g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => (verb, -1),
            'e' | 'E' | 'f' => (verb, 6),
            'F' => ('f', 6),
            _ => return self.bad_verb(v, verb),
        };
        let prec = self.flags.prec.map_or(default_prec, |p| p as i32);
        let mut num = format_float(x, fmt, prec, 64);
        if !num.starts_with(['-', '+']) {
            num.insert(0, '+');
        }
        let f = self.flags;
        if f.space && num.starts_with('+') && !f.plus {
            num.replace_range(0..1, " ");
        }
        if num[1..].starts_with(['I', 'N']) {
            let saved = self.flags.zero;
            self.flags.zero = false;
            if num[1..].starts_with('N') && !f.space && !f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.flags.zero = saved;
            return;
        }
        if f.plus || !num.starts_with('+') {
            if let Some(w) = f.wid
                && f.zero
                && !f.minus
                && w > num.len()
            {
                self.out.push_str(&num[..1]);
                self.out.extend(std::iter::repeat_n('0', w - num.len()));
                self.out.push_str(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn fmt_string(&mut self, v: &Value, s: &str, verb: char) {
        let truncated: String;
        let s = match self.flags.prec {
            Some(p) if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
                truncated = s.chars().take(p).collect();
                truncated.as_str()
            }
            _ => s,
        };
        match verb {
            'v' if self.flags.sharp_v => {
                let q = quote(s);
                self.pad(&q);
            }
            'v' | 's' => self.pad(s),
            'q' => {
                let q = if self.flags.sharp && strconv::can_backquote(s) {
                    format!("`{s}`")
                } else if self.flags.plus {
                    strconv::quote_to_ascii(s)
                } else {
                    quote(s)
                };
                self.pad(&q);
            }
            'x' | 'X' => {
                let mut h = String::new();
                for (i, b) in s.bytes().enumerate() {
                    if i > 0 && self.flags.space {
                        h.push(' ');
                    }
                    if self.flags.sharp && (i == 0 || self.flags.space) {
                        h.push_str(if verb == 'x' { "0x" } else { "0X" });
                    }
                    if verb == 'x' {
                        h.push_str(&format!("{b:02x}"));
                    } else {
                        h.push_str(&format!("{b:02X}"));
                    }
                }
                self.pad(&h);
            }
            _ => {
                let v = if matches!(v, Value::Nil) {
                    Value::string(s)
                } else {
                    v.clone()
                };
                self.bad_verb(&v, verb)
            }
        }
    }

    fn do_printf(&mut self, format: &str, args: &[Value]) {
        let bytes = format.as_bytes();
        let end = bytes.len();
        let mut st = ArgState {
            num: 0,
            reordered: false,
            good: true,
        };
        let mut i = 0usize;
        while i < end {
            st.good = true;
            let last = i;
            while i < end && bytes[i] != b'%' {
                i += 1;
            }
            if i > last {
                self.out.push_str(&format[last..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.flags = Flags::default();
            while i < end {
                match bytes[i] {
                    b'#' => self.flags.sharp = true,
                    b'0' => self.flags.zero = true,
                    b'+' => self.flags.plus = true,
                    b'-' => self.flags.minus = true,
                    b' ' => self.flags.space = true,
                    _ => break,
                }
                i += 1;
            }
            let mut after_index;
            (i, after_index) = st.index(bytes, i, args.len());
            if i < end && bytes[i] == b'*' {
                i += 1;
                match int_from_arg(args.get(st.num)) {
                    Some(w) => {
                        if w < 0 {
                            self.flags.minus = true;
                            self.flags.zero = false;
                        }
                        self.flags.wid = Some(w.unsigned_abs() as usize);
                    }
                    None => self.out.push_str("%!(BADWIDTH)"),
                }
                st.num += 1;
                after_index = false;
            } else {
                let (n, next) = parse_num(bytes, i);
                self.flags.wid = n;
                i = next;
                if after_index && n.is_some() {
                    st.good = false;
                }
            }
            if i + 1 < end && bytes[i] == b'.' {
                i += 1;
                if after_index {
                    st.good = false;
                }
                (i, after_index) = st.index(bytes, i, args.len());
                if i < end && bytes[i] == b'*' {
                    i += 1;
                    match int_from_arg(args.get(st.num)) {
                        Some(p) if p >= 0 => self.flags.prec = Some(p as usize),
                        _ => self.out.push_str("%!(BADPREC)"),
                    }
                    st.num += 1;
                    after_index = false;
                } else {
                    let (n, next) = parse_num(bytes, i);
                    self.flags.prec = Some(n.unwrap_or(0));
                    i = next;
                }
            }
            if !after_index {
                (i, _) = st.index(bytes, i, args.len());
            }
            if self.flags.minus {
                self.flags.zero = false;
            }
            if i >= end {
                self.out.push_str("%!(NOVERB)");
                break;
            }
            let verb = format[i..].chars().next().unwrap_or('?');
            i += verb.len_utf8();
            if verb == '%' {
                self.out.push('%');
                continue;
            }
            if !st.good {
                self.out.push_str("%!");
                self.out.push(verb);
                self.out.push_str("(BADINDEX)");
                continue;
            }
            let Some(arg) = args.get(st.num) else {
                self.out.push_str("%!");
                self.out.push(verb);
                self.out.push_str("(MISSING)");
                continue;
            };
            if verb == 'v' {
                self.flags.sharp_v = self.flags.sharp;
                self.flags.sharp = false;
                self.flags.plus_v = self.flags.plus;
                self.flags.plus = false;
            }
            self.print_arg(arg, verb, 0);
            st.num += 1;
        }
        if !st.reordered && st.num < args.len() {
            self.flags = Flags::default();
            self.out.push_str("%!(EXTRA ");
            for (k, a) in args[st.num..].iter().enumerate() {
                if k > 0 {
                    self.out.push_str(", ");
                }
                if matches!(a, Value::Nil) {
                    self.out.push_str("<nil>");
                } else {
                    self.out.push_str(&a.type_name());
                    self.out.push('=');
                    self.print_arg(a, 'v', 0);
                }
            }
            self.out.push(')');
        }
    }
}

/// `Printf`'s argument cursor, with Go's explicit `%[n]` indexes.
struct ArgState {
    num: usize,
    reordered: bool,
    good: bool,
}

impl ArgState {
    /// Go's `argNumber`: reads `[n]` at `i` if present; returns the new position and
    /// whether an index was read.
    fn index(&mut self, bytes: &[u8], i: usize, nargs: usize) -> (usize, bool) {
        if bytes.get(i) != Some(&b'[') {
            return (i, false);
        }
        self.reordered = true;
        let Some(close) = bytes[i..].iter().position(|b| *b == b']') else {
            self.good = false;
            return (i + 1, false);
        };
        let digits = &bytes[i + 1..i + close];
        let parsed = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit))
            .then(|| std::str::from_utf8(digits).ok()?.parse::<usize>().ok())
            .flatten();
        match parsed {
            Some(n) if n >= 1 && n - 1 < nargs => {
                self.num = n - 1;
                (i + close + 1, true)
            }
            Some(_) => {
                self.good = false;
                (i + close + 1, true)
            }
            None => {
                self.good = false;
                (i + close + 1, false)
            }
        }
    }
}

/// Go's bound on a width or precision (`tooLarge`): larger ones are format errors, not
/// a request to pad with gigabytes.
const MAX_WIDTH: usize = 1_000_000;

/// Go's `parsenum`: a number that grows past [`MAX_WIDTH`] consumes the rest of the
/// format (Go reads it as a crazy long number), so no verb follows.
fn parse_num(bytes: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let start = i;
    let mut n = 0usize;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        if n > MAX_WIDTH {
            return (None, bytes.len());
        }
        n = n * 10 + usize::from(bytes[i] - b'0');
        i += 1;
    }
    ((i > start).then_some(n), i)
}

/// Go's `intFromArg`: a `*` width or precision argument, if an integer within
/// [`MAX_WIDTH`] either way.
fn int_from_arg(arg: Option<&Value>) -> Option<i64> {
    match arg {
        Some(Value::Int(n) | Value::Int64(n)) if n.unsigned_abs() <= MAX_WIDTH as u64 => Some(*n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        sprint_value(&Value::Float(v))
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(f(1e6), "1e+06");
        assert_eq!(f(12345678.0), "1.2345678e+07");
        assert_eq!(f(123456.0), "123456");
        assert_eq!(f(0.0001), "0.0001");
        assert_eq!(f(0.00001), "1e-05");
        assert_eq!(f(2.5), "2.5");
        assert_eq!(f(0.0), "0");
    }

    #[test]
    fn printf_verbs() {
        let s = |v: &str| Value::string(v);
        assert_eq!(sprintf("%d", &[s("abc")]), "%!d(string=abc)");
        assert_eq!(
            sprintf(
                "%05d|%-4d|%x",
                &[Value::Int(42), Value::Int(7), Value::Int(255)]
            ),
            "00042|7   |ff"
        );
        assert_eq!(sprintf("%s %s", &[s("a")]), "a %!s(MISSING)");
        assert_eq!(sprintf("%s", &[s("a"), Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(
            sprintf(
                "%q %v %6.2f",
                &[s("x\"y"), Value::Nil, Value::Float(1.23456)]
            ),
            "\"x\\\"y\" <nil>   1.23"
        );
        assert_eq!(sprintf("%d", &[Value::Nil]), "%!d(<nil>)");
    }
}
