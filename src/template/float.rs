//! Go's `strconv.FormatFloat` for the formats templates print: `e`, `f`, `g`, `x`.

/// Decimal digits of a finite, non-negative float and the decimal point position
/// (`0.d1d2… × 10^dp`).
struct Digits {
    digits: Vec<u8>,
    dp: i32,
}

impl Digits {
    /// Shortest digits that round-trip, or `sig` significant digits.
    fn new(f: f64, sig: Option<usize>) -> Digits {
        let s = match sig {
            None => format!("{:e}", f),
            // A float64's exact decimal expansion has at most 767 significant digits;
            // past them only zeros follow, which callers pad (Rust's formatter refuses
            // precisions above u16::MAX, Go's goes to 1e6).
            Some(n) => format!("{:.*e}", n.min(800).saturating_sub(1), f),
        };
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let mut digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
        if digits.iter().all(|d| *d == b'0') {
            return Digits {
                digits: vec![b'0'],
                dp: 1,
            };
        }
        if sig.is_none() {
            while digits.len() > 1 && digits.last() == Some(&b'0') {
                digits.pop();
            }
        }
        Digits {
            digits,
            dp: exp + 1,
        }
    }

    fn format_e(&self, prec: usize, upper: bool) -> String {
        let mut s = String::new();
        s.push(self.digits[0] as char);
        if prec > 0 {
            s.push('.');
            for i in 1..=prec {
                s.push(self.digits.get(i).map_or('0', |d| *d as char));
            }
        }
        let exp = if self.digits == *b"0" { 0 } else { self.dp - 1 };
        s.push(if upper { 'E' } else { 'e' });
        s.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            s.push('0');
        }
        s.push_str(&e.to_string());
        s
    }

    fn format_f(&self, prec: usize) -> String {
        let mut s = String::new();
        if self.dp <= 0 {
            s.push('0');
        } else {
            for i in 0..self.dp as usize {
                s.push(self.digits.get(i).map_or('0', |d| *d as char));
            }
        }
        if prec > 0 {
            s.push('.');
            for i in 0..prec as i32 {
                let idx = self.dp + i;
                let d = if idx < 0 {
                    '0'
                } else {
                    self.digits.get(idx as usize).map_or('0', |d| *d as char)
                };
                s.push(d);
            }
        }
        s
    }
}

/// `strconv.FormatFloat(f, fmt, prec, 64)` for `fmt` in `e E f g G` (prec -1: shortest).
pub(crate) fn format_float(f: f64, fmt: char, prec: i32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = f.is_sign_negative();
    let a = f.abs();
    let body = match fmt {
        'e' | 'E' => {
            let d = Digits::new(a, (prec >= 0).then(|| prec as usize + 1));
            let p = if prec < 0 {
                d.digits.len() - 1
            } else {
                prec as usize
            };
            d.format_e(p, fmt == 'E')
        }
        'f' | 'F' => {
            if prec < 0 {
                let d = Digits::new(a, None);
                let p = (d.digits.len() as i32 - d.dp).max(0) as usize;
                d.format_f(p)
            } else {
                // Rust's formatter refuses precisions above u16::MAX, Go's goes to 1e6. A
                // float64's exact decimal expansion ends within 1074 fractional digits, so
                // past that only zeros follow.
                const EXACT: usize = 1074;
                let prec = prec as usize;
                let mut s = format!("{:.*}", prec.min(EXACT), a);
                s.extend(std::iter::repeat_n('0', prec.saturating_sub(EXACT)));
                s
            }
        }
        _ => {
            let shortest = prec < 0;
            let sig = if prec == 0 { 1 } else { prec };
            let mut d = Digits::new(a, (!shortest).then_some(sig as usize));
            if !shortest {
                while d.digits.len() > 1 && d.digits.last() == Some(&b'0') {
                    d.digits.pop();
                }
            }
            let nd = d.digits.len() as i32;
            let mut eprec = if shortest { 6 } else { sig };
            if !shortest && eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            if exp < -4 || exp >= eprec {
                d.format_e((nd - 1).max(0) as usize, fmt == 'G')
            } else {
                d.format_f((nd - d.dp).max(0) as usize)
            }
        }
    };
    if neg { format!("-{body}") } else { body }
}

/// `strconv.FormatFloat(f, 'x', -1, 64)`: `-0x1.cp+01`.
pub(crate) fn hex_float(f: f64, upper: bool, plus: bool, space: bool) -> String {
    let sign = if f.is_sign_negative() {
        "-"
    } else if plus {
        "+"
    } else if space {
        " "
    } else {
        ""
    };
    if !f.is_finite() {
        return format!(
            "{sign}{}",
            format_float(f.abs(), 'g', -1).trim_start_matches('+')
        );
    }
    let bits = f.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    let lead = if bits == 0 {
        exp = 0;
        '0'
    } else if exp == 0 {
        // Subnormal: shift the first set bit into the implicit position.
        exp = -1022;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
        '1'
    } else {
        exp -= 1023;
        '1'
    };
    let digits = format!("{mant:013x}");
    let frac = digits.trim_end_matches('0');
    let mut s = format!("{sign}0x{lead}");
    if !frac.is_empty() {
        s.push('.');
        s.push_str(frac);
    }
    s.push_str(&format!(
        "p{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    ));
    if upper { s.to_uppercase() } else { s }
}
