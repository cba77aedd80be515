//! `strconv.FormatFloat`.
//!
//! Decimal digits come from Rust's formatter, which like Go's produces the shortest
//! digits that read back exactly (choosing the closest when several do) and, for a given
//! precision, the exactly rounded digits with ties to even. The layout around them (`e`,
//! `f`, `g` choices, exponent widths, hex and binary forms) is Go's.

use std::fmt::Write as _;

/// Significant digits beyond which a float's exact decimal expansion is all zeros: a
/// float64 has at most 767 significant digits (Rust's formatter refuses precisions above
/// `u16::MAX`, Go's goes to any).
const MAX_SIGNIFICANT: usize = 800;
/// Fractional digits beyond which a float's exact decimal expansion is all zeros.
const MAX_FRACTIONAL: usize = 1074;

/// `strconv.FormatFloat(f, fmt, prec, bitSize)`.
///
/// `fmt` is one of Go's formats: `b` (`-ddddp±ddd`), `e`/`E` (`-d.dddde±dd`), `f`
/// (`-ddd.dddd`), `g`/`G` (`e` for large exponents, else `f`), `x`/`X`
/// (`-0x1.hhhhp±dd`); any other yields `%` and the format, as in Go. `prec` is the number
/// of digits after the point (`e`, `f`, `x`) or of significant digits (`g`); `-1` means the
/// fewest digits that read back exactly. A `bit_size` of 32 first rounds `f` to a float32
/// and formats that, with float32's shortest digits; any other formats a float64. NaN and
/// the infinities are `NaN`, `+Inf` and `-Inf`.
///
/// ```
/// use crunch_gostd::strconv::format_float;
///
/// assert_eq!(format_float(1e6, 'g', -1, 64), "1e+06");
/// assert_eq!(format_float(0.1, 'g', -1, 32), "0.1");
/// assert_eq!(format_float(0.1, 'f', 20, 32), "0.10000000149011611938");
/// assert_eq!(format_float(-3.5, 'x', -1, 64), "-0x1.cp+01");
/// ```
pub fn format_float(f: f64, fmt: char, prec: i32, bit_size: u32) -> String {
    let float = Float::new(f, bit_size == 32);
    if float.value.is_nan() {
        return "NaN".into();
    }
    if float.value.is_infinite() {
        return if float.negative { "-Inf" } else { "+Inf" }.into();
    }
    let mut out = String::new();
    if float.negative {
        out.push('-');
    }
    match fmt {
        'b' => float.binary(&mut out),
        'x' | 'X' => float.hex(&mut out, prec, fmt == 'X'),
        'e' | 'E' | 'f' | 'g' | 'G' => float.decimal(&mut out, prec, fmt),
        _ => {
            // Go prints nothing of the number for a format it does not know.
            return format!("%{fmt}");
        }
    }
    out
}

/// A finite or non-finite float of either width, taken apart.
struct Float {
    /// The value, already rounded to float32 precision for 32-bit formatting.
    value: f64,
    single: bool,
    negative: bool,
    /// The significand with its implicit leading bit, as an integer.
    mantissa: u64,
    /// The binary exponent of the significand's leading bit position (Go's `exp` after
    /// adding the bias: the value is `mantissa × 2^(exponent − mantissa_bits)`).
    exponent: i32,
    mantissa_bits: u32,
}

impl Float {
    fn new(f: f64, single: bool) -> Float {
        // Narrowing is the point: Go formats the float32 nearest to f.
        #[allow(clippy::cast_possible_truncation)]
        let narrowed = f as f32;
        let (value, bits, exponent_bits, mantissa_bits, bias) = if single {
            (
                f64::from(narrowed),
                u64::from(narrowed.to_bits()),
                8,
                23,
                -127,
            )
        } else {
            (f, f.to_bits(), 11, 52, -1023)
        };
        let negative = bits >> (exponent_bits + mantissa_bits) != 0;
        let biased = ((bits >> mantissa_bits) & ((1 << exponent_bits) - 1)) as i32;
        let mut mantissa = bits & ((1 << mantissa_bits) - 1);
        let exponent = if biased == 0 {
            // Subnormal: no implicit bit, the smallest exponent.
            1 + bias
        } else {
            mantissa |= 1 << mantissa_bits;
            biased + bias
        };
        Float {
            value,
            single,
            negative,
            mantissa,
            exponent,
            mantissa_bits,
        }
    }

    /// `b`: the significand in decimal and a binary exponent, `4503599627370496p-52`.
    fn binary(&self, out: &mut String) {
        let exponent = self.exponent - self.mantissa_bits as i32;
        let sign = if exponent >= 0 { "+" } else { "" };
        let _ = write!(out, "{}p{sign}{exponent}", self.mantissa);
    }

    /// `x`/`X`: a hex significand `1.hhh` (or `0` for zero) and a binary exponent of at
    /// least two digits; `prec` hex digits after the point, rounded half to even.
    fn hex(&self, out: &mut String, prec: i32, upper: bool) {
        let mut mantissa = self.mantissa;
        let mut exponent = if mantissa == 0 { 0 } else { self.exponent };
        // The leading 1 at bit 60, leaving 15 hex digits of fraction below it.
        mantissa <<= 60 - self.mantissa_bits;
        while mantissa != 0 && mantissa & (1 << 60) == 0 {
            mantissa <<= 1;
            exponent -= 1;
        }
        if (0..15).contains(&prec) {
            let shift = prec as u32 * 4;
            let dropped = (mantissa << shift) & ((1 << 60) - 1);
            mantissa >>= 60 - shift;
            // Round half to even: above half, or exactly half with an odd last digit.
            if dropped | (mantissa & 1) > 1 << 59 {
                mantissa += 1;
            }
            mantissa <<= 60 - shift;
            if mantissa & (1 << 61) != 0 {
                // Rounding carried into a new leading digit.
                mantissa >>= 1;
                exponent += 1;
            }
        }
        let digit = |d: u64| {
            let c = char::from_digit(d as u32, 16).unwrap_or('0');
            if upper { c.to_ascii_uppercase() } else { c }
        };
        out.push('0');
        out.push(if upper { 'X' } else { 'x' });
        out.push(if (mantissa >> 60) & 1 == 1 { '1' } else { '0' });
        mantissa <<= 4;
        if prec < 0 && mantissa != 0 {
            out.push('.');
            while mantissa != 0 {
                out.push(digit((mantissa >> 60) & 15));
                mantissa <<= 4;
            }
        } else if prec > 0 {
            out.push('.');
            for _ in 0..prec {
                out.push(digit((mantissa >> 60) & 15));
                mantissa <<= 4;
            }
        }
        out.push(if upper { 'P' } else { 'p' });
        out.push(if exponent < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exponent.unsigned_abs());
    }

    /// `e`, `E`, `f`, `g`, `G`.
    fn decimal(&self, out: &mut String, prec: i32, fmt: char) {
        let magnitude = self.value.abs();
        if magnitude == 0.0 {
            return Digits::ZERO.format(out, prec, fmt, prec < 0);
        }
        if prec < 0 {
            let digits = Digits::shortest(magnitude, self.single);
            let (nd, dp) = (digits.len(), digits.point);
            let prec = match fmt {
                'e' | 'E' => (nd - 1).max(0),
                'f' => (nd - dp).max(0),
                _ => nd,
            };
            return digits.format(out, prec, fmt, true);
        }
        let (digits, prec) = match fmt {
            'e' | 'E' => (Digits::significant(magnitude, prec as usize + 1), prec),
            'f' => (Digits::fixed(magnitude, prec as usize), prec),
            _ => {
                let prec = prec.max(1);
                (Digits::significant(magnitude, prec as usize), prec)
            }
        };
        digits.format(out, prec, fmt, false)
    }
}

/// A decimal `0.DIGITS × 10^point` without trailing zeros (no digits for zero), as Go's
/// `decimalSlice` holds it.
struct Digits {
    digits: Vec<u8>,
    point: i32,
}

impl Digits {
    const ZERO: Digits = Digits {
        digits: Vec::new(),
        point: 0,
    };

    fn len(&self) -> i32 {
        self.digits.len() as i32
    }

    /// The shortest digits that read back as `magnitude` (non-zero) at its width.
    fn shortest(magnitude: f64, single: bool) -> Digits {
        let scientific = if single {
            #[allow(clippy::cast_possible_truncation)]
            let narrowed = magnitude as f32;
            format!("{narrowed:e}")
        } else {
            format!("{magnitude:e}")
        };
        Digits::from_scientific(&scientific)
    }

    /// `magnitude` (non-zero) rounded to `n` significant digits.
    fn significant(magnitude: f64, n: usize) -> Digits {
        let shown = n.clamp(1, MAX_SIGNIFICANT);
        Digits::from_scientific(&format!("{:.*e}", shown - 1, magnitude))
    }

    /// `magnitude` rounded to `n` digits after the point.
    fn fixed(magnitude: f64, n: usize) -> Digits {
        let text = format!("{:.*}", n.min(MAX_FRACTIONAL), magnitude);
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let all: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
        let leading = all.iter().take_while(|&&d| d == b'0').count();
        let mut digits = Digits {
            digits: all[leading..].to_vec(),
            point: int.len() as i32 - leading as i32,
        };
        digits.trim();
        digits
    }

    /// From Rust's `d.ddde±x` notation.
    fn from_scientific(text: &str) -> Digits {
        let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
        let exponent: i32 = exponent.parse().unwrap_or(0);
        let mut digits = Digits {
            digits: mantissa.bytes().filter(u8::is_ascii_digit).collect(),
            point: exponent + 1,
        };
        digits.trim();
        digits
    }

    fn trim(&mut self) {
        while self.digits.last() == Some(&b'0') {
            self.digits.pop();
        }
        if self.digits.is_empty() {
            self.point = 0;
        }
    }

    fn digit(&self, i: i32) -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.digits.get(i))
            .map_or('0', |&d| char::from(d))
    }

    /// Go's `fmtEFG`: lays the digits out as `fmt` with `prec` (already resolved).
    fn format(&self, out: &mut String, mut prec: i32, mut fmt: char, shortest: bool) {
        let nd = self.len();
        let dp = self.point;
        if matches!(fmt, 'g' | 'G') {
            // Exponential when the exponent is below -4 or at least the precision (6 for
            // the shortest digits); trailing zeros never print.
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                prec = prec.min(nd) - 1;
                fmt = if fmt == 'g' { 'e' } else { 'E' };
            } else {
                if prec > dp {
                    prec = nd;
                }
                prec = (prec - dp).max(0);
                fmt = 'f';
            }
        }
        if fmt == 'f' {
            if dp > 0 {
                (0..dp).for_each(|i| out.push(self.digit(i)));
            } else {
                out.push('0');
            }
            if prec > 0 {
                out.push('.');
                (0..prec).for_each(|i| out.push(self.digit(dp + i)));
            }
            return;
        }
        out.push(self.digit(0));
        if prec > 0 {
            out.push('.');
            (1..=prec).for_each(|i| out.push(self.digit(i)));
        }
        out.push(fmt);
        // Zero has exponent 0.
        let exp = if nd == 0 { 0 } else { dp - 1 };
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    }
}

#[cfg(test)]
mod tests {
    use super::format_float;

    #[test]
    fn formats_as_go_does() {
        // (value, fmt, prec, bits, Go's FormatFloat), from Go's ftoa tests and Go 1.25.
        let cases: &[(f64, char, i32, u32, &str)] = &[
            (1.0, 'e', 5, 64, "1.00000e+00"),
            (1.0, 'f', 5, 64, "1.00000"),
            (1.0, 'g', 5, 64, "1"),
            (1.0, 'g', -1, 64, "1"),
            (20.0, 'g', -1, 64, "20"),
            (1234567.8, 'g', -1, 64, "1.2345678e+06"),
            (200000.0, 'g', -1, 64, "200000"),
            (2000000.0, 'g', -1, 64, "2e+06"),
            (1e10, 'g', -1, 64, "1e+10"),
            (400.0, 'g', 2, 64, "4e+02"),
            (40.0, 'g', 2, 64, "40"),
            (4.0, 'g', 2, 64, "4"),
            (0.4, 'g', 2, 64, "0.4"),
            (0.04, 'g', 2, 64, "0.04"),
            (0.0004, 'g', 2, 64, "0.0004"),
            (0.00004, 'g', 2, 64, "4e-05"),
            (1.5, 'g', 5, 64, "1.5"),
            (100.0, 'g', 3, 64, "100"),
            (100.0, 'g', 0, 64, "1e+02"),
            (123456.0, 'g', 0, 64, "1e+05"),
            (0.0, 'e', 5, 64, "0.00000e+00"),
            (0.0, 'f', 5, 64, "0.00000"),
            (0.0, 'g', 5, 64, "0"),
            (0.0, 'g', -1, 64, "0"),
            (0.0, 'e', -1, 64, "0e+00"),
            (-0.0, 'g', -1, 64, "-0"),
            (-1.0, 'g', -1, 64, "-1"),
            (1e23, 'e', 17, 64, "9.99999999999999916e+22"),
            (
                1e23,
                'f',
                17,
                64,
                "99999999999999991611392.00000000000000000",
            ),
            (1e23, 'g', 17, 64, "9.9999999999999992e+22"),
            (1e23, 'e', -1, 64, "1e+23"),
            (1e23, 'f', -1, 64, "100000000000000000000000"),
            (1e23, 'g', -1, 64, "1e+23"),
            (100.0, 'x', -1, 64, "0x1.9p+06"),
            (100.0, 'X', -1, 64, "0X1.9P+06"),
            (100.0, 'x', 0, 64, "0x1p+07"),
            (100.0, 'x', 2, 64, "0x1.90p+06"),
            (0.0, 'x', -1, 64, "0x0p+00"),
            (-0.0, 'x', 3, 64, "-0x0.000p+00"),
            (1.0, 'x', 0, 64, "0x1p+00"),
            (1.5, 'x', 0, 64, "0x1p+01"),
            (2.5, 'x', 0, 64, "0x1p+01"),
            (5e-324, 'x', -1, 64, "0x1p-1074"),
            (f64::MAX, 'x', -1, 64, "0x1.fffffffffffffp+1023"),
            (1.0, 'x', 20, 64, "0x1.00000000000000000000p+00"),
            (1.0, 'b', -1, 64, "4503599627370496p-52"),
            (5e-324, 'b', -1, 64, "1p-1074"),
            (1.0, 'b', -1, 32, "8388608p-23"),
            (0.5, 'e', 0, 64, "5e-01"),
            (0.25, 'f', 1, 64, "0.2"),
            (0.35, 'f', 1, 64, "0.3"),
            (2.5, 'f', 0, 64, "2"),
            (3.5, 'f', 0, 64, "4"),
            (9.5, 'e', 0, 64, "1e+01"),
            (1e-7, 'e', -1, 64, "1e-07"),
            (1e100, 'e', -1, 64, "1e+100"),
            (1.5e-300, 'g', -1, 64, "1.5e-300"),
            (5e-324, 'g', -1, 64, "5e-324"),
            (f64::MAX, 'g', -1, 64, "1.7976931348623157e+308"),
            (0.1, 'g', -1, 32, "0.1"),
            (0.1, 'f', -1, 32, "0.1"),
            (0.1, 'e', 20, 32, "1.00000001490116119385e-01"),
            (1.234_567_890_123_45, 'g', -1, 32, "1.2345679"),
            (16777217.0, 'f', -1, 32, "16777216"),
            (1e40, 'g', -1, 32, "+Inf"),
            (3.4e38, 'g', -1, 32, "3.4e+38"),
            (1.0, 'E', -1, 64, "1E+00"),
            (1e21, 'G', -1, 64, "1E+21"),
            (1.0, 'z', -1, 64, "%z"),
            (f64::NAN, 'g', -1, 64, "NaN"),
            (f64::INFINITY, 'f', 3, 64, "+Inf"),
            (f64::NEG_INFINITY, 'e', -1, 32, "-Inf"),
            (-1.0, 'b', -1, 64, "-4503599627370496p-52"),
            (0.9999, 'x', 1, 64, "0x1.0p+00"),
            (1.96875, 'x', 1, 64, "0x1.0p+01"),
            (3e-5, 'x', 3, 32, "0x1.f75p-16"),
            (123.456, 'e', 2, 64, "1.23e+02"),
            (0.000123456, 'g', 3, 64, "0.000123"),
            (123456789.0, 'g', 4, 64, "1.235e+08"),
            (99999.0, 'g', 4, 64, "1e+05"),
            (0.5, 'f', 0, 64, "0"),
            (1.5, 'f', 0, 64, "2"),
            (1e-320, 'e', 3, 64, "1.000e-320"),
            (5e-324, 'f', 2, 64, "0.00"),
            (1e15, 'f', -1, 64, "1000000000000000"),
            (1.0000001, 'g', 8, 32, "1.0000001"),
        ];
        for &(f, fmt, prec, bits, want) in cases {
            assert_eq!(
                format_float(f, fmt, prec, bits),
                want,
                "FormatFloat({f:e}, {fmt:?}, {prec}, {bits})"
            );
        }
    }

    #[test]
    fn precision_beyond_the_exact_expansion_pads_zeros() {
        let f = format_float(0.5, 'f', 2000, 64);
        assert_eq!(f.len(), 2002);
        assert!(f.starts_with("0.5000") && f.ends_with('0'));
        let e = format_float(5e-324, 'e', 1000, 64);
        assert!(e.starts_with("4.9406564584124654") && e.ends_with("e-324"));
        assert_eq!(e.len(), "4.".len() + 1000 + "e-324".len());
        assert_eq!(format_float(1.0, 'g', 1000, 64), "1");
    }
}
