//! Go's float formatting (`strconv.FormatFloat` with shortest precision) as go-yaml and
//! `encoding/json` use it.

/// Shortest round-trip decimal digits of a finite, non-zero-or-zero float: the digit string
/// and the position of the decimal point (Go's `decimalSlice.dp`: value = 0.DIGITS × 10^dp).
struct Decimal {
    negative: bool,
    digits: String,
    point: i32,
}

/// Shortest digits from Rust's `{:e}` formatting, which (like Go) prints the shortest
/// string that round-trips, choosing the closest one when several exist.
fn decimal(scientific: &str) -> Decimal {
    let (negative, rest) = match scientific.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, scientific),
    };
    let (mantissa, exponent) = rest.split_once('e').unwrap_or((rest, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if digits.bytes().all(|d| d == b'0') {
        return Decimal {
            negative,
            digits: "0".to_owned(),
            point: 1,
        };
    }
    Decimal {
        negative,
        digits,
        point: exponent + 1,
    }
}

impl Decimal {
    fn of64(f: f64) -> Self {
        decimal(&format!("{f:e}"))
    }

    fn of32(f: f32) -> Self {
        decimal(&format!("{f:e}"))
    }

    /// Go's `%e` with shortest digits: `d.ddde±XX`, at least two exponent digits.
    fn exponential(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        out.push_str(&self.digits[..1]);
        if self.digits.len() > 1 {
            out.push('.');
            out.push_str(&self.digits[1..]);
        }
        let exponent = if self.digits == "0" {
            0
        } else {
            self.point - 1
        };
        let sign = if exponent < 0 { '-' } else { '+' };
        out.push_str(&format!("e{sign}{:02}", exponent.unsigned_abs()));
        out
    }

    /// Go's `%f` with shortest digits: no exponent, no trailing zeros after the point.
    fn fixed(&self) -> String {
        let mut out = String::new();
        if self.negative {
            out.push('-');
        }
        let len = self.digits.len() as i32;
        if self.point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', self.point.unsigned_abs() as usize));
            out.push_str(&self.digits);
        } else if self.point >= len {
            out.push_str(&self.digits);
            out.extend(std::iter::repeat_n('0', (self.point - len) as usize));
        } else {
            let (int, frac) = self.digits.split_at(self.point as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
        out
    }

    /// Go's `%g` with shortest digits: exponential when the exponent is below -4 or at
    /// least 6 (Go decides with precision 6 when formatting the shortest representation).
    fn general(&self) -> String {
        let exponent = self.point - 1;
        if self.digits != "0" && !(-4..6).contains(&exponent) {
            self.exponential()
        } else {
            self.fixed()
        }
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, including Go's `+Inf`, `-Inf` and `NaN`.
pub(crate) fn format_g(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        Decimal::of64(f).general()
    }
}

/// A float mapping key as `sigs.k8s.io/yaml` stringifies it: `FormatFloat(f, 'g', -1, 32)`,
/// with go-yaml's spellings for the non-finite values.
pub(crate) fn format_key(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf" } else { "-.inf" }.to_owned()
    } else {
        format_g32(f)
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`, including Go's `+Inf`, `-Inf` and `NaN`.
pub(crate) fn format_g32(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else {
        // Narrowing is the point: Go formats at 32-bit precision.
        Decimal::of32(f as f32).general()
    }
}

/// A finite float as `encoding/json` prints it: `'f'` format for `1e-6 <= |f| < 1e21`
/// (and zero), else `'e'` with a single-digit negative exponent kept short (`1e-7`).
pub(crate) fn format_json(f: f64) -> String {
    let abs = f.abs();
    let decimal = Decimal::of64(f);
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = decimal.exponential();
        // Go rewrites e-09 to e-9 (only for negative exponents).
        if let Some(pos) = s.find("e-0") {
            s.remove(pos + 2);
        }
        s
    } else {
        decimal.fixed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn general_matches_go() {
        for (f, want) in [
            (1e6, "1e+06"),
            (100000.0, "100000"),
            (1e21, "1e+21"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5, "1.5"),
            (-2.25e-7, "-2.25e-07"),
            (0.0, "0"),
            (-0.0, "-0"),
            (123456789.0, "1.23456789e+08"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(format_g(f), want, "{f}");
        }
    }

    #[test]
    fn json_matches_go() {
        for (f, want) in [
            (1e6, "1000000"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-10, "1.5e-10"),
            (-0.0, "-0"),
            (12345678901234567890.0, "12345678901234567000"),
            (3.0, "3"),
        ] {
            assert_eq!(format_json(f), want, "{f}");
        }
    }

    #[test]
    fn keys_use_32_bit_precision() {
        assert_eq!(format_key(1.1), "1.1");
        assert_eq!(format_key(1.234_567_890_123_45), "1.2345679");
        assert_eq!(format_key(f64::INFINITY), ".inf");
    }
}
