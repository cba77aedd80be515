//! Sprig's numeric conversions and arithmetic (integers through spf13/cast's `ToInt64`).

use super::conv::{i, s, strval, to_float64, to_int64};
use crate::Value;
use crate::funcs::{FuncMap, Signature, Type};
use crate::num::{NumError, parse_int};

const A: Type = Type::Any;
const I: Type = Type::Int;

pub(super) fn install(m: &mut FuncMap) {
    let one = Signature::new(&[A]);
    let two = Signature::new(&[A, A]);
    m.insert("int", one.clone(), |_, a| Ok(Value::Int(to_int64(&a[0]))));
    m.insert("int64", one.clone(), |_, a| {
        Ok(Value::Int64(to_int64(&a[0])))
    });
    m.insert("float64", one.clone(), |_, a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    // strconv.Atoi: decimal only; out-of-range values come back clamped (Sprig
    // ignores the error), syntax errors as 0.
    m.insert("atoi", Signature::new(&[Type::String]), |_, a| {
        let t = s(&a[0]);
        let body = t.strip_prefix(['+', '-']).unwrap_or(t);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Value::Int(0));
        }
        Ok(Value::Int(match parse_int(t) {
            Ok(n) | Err(NumError::Range(n)) => n,
            Err(NumError::Syntax) => 0,
        }))
    });
    m.insert("toDecimal", one.clone(), |_, a| {
        let t = strval(&a[0]);
        Ok(Value::Int64(i64::from_str_radix(&t, 8).unwrap_or(0)))
    });
    m.insert("add", Signature::variadic(&[], A), |_, a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(0, i64::wrapping_add),
        ))
    });
    m.insert("add1", one.clone(), |_, a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_add(1)))
    });
    m.insert("sub", two.clone(), |_, a| {
        Ok(Value::Int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    m.insert("mul", Signature::variadic(&[A], A), |_, a| {
        Ok(Value::Int64(
            a.iter().map(to_int64).fold(1, i64::wrapping_mul),
        ))
    });
    m.insert("div", two.clone(), |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_div(d)))
    });
    m.insert("mod", two.clone(), |_, a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_int64(&a[0]).wrapping_rem(d)))
    });
    for name in ["max", "biggest"] {
        m.insert(name, Signature::variadic(&[A], A), |_, a| {
            Ok(Value::Int64(a.iter().map(to_int64).max().unwrap_or(0)))
        });
    }
    m.insert("min", Signature::variadic(&[A], A), |_, a| {
        Ok(Value::Int64(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    m.insert("maxf", Signature::variadic(&[A], A), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    m.insert("minf", Signature::variadic(&[A], A), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    });
    m.insert("addf", Signature::variadic(&[], A), |_, a| {
        decimal_fold(&Value::Float(0.0), a, Op::Add)
    });
    m.insert("add1f", one.clone(), |_, a| {
        decimal_fold(&a[0], &[Value::Int(1)], Op::Add)
    });
    m.insert("subf", Signature::variadic(&[A], A), |_, a| {
        decimal_fold(&a[0], &a[1..], Op::Sub)
    });
    m.insert("mulf", Signature::variadic(&[A], A), |_, a| {
        decimal_fold(&a[0], &a[1..], Op::Mul)
    });
    m.insert("divf", Signature::variadic(&[A], A), |_, a| {
        decimal_fold(&a[0], &a[1..], Op::Div)
    });
    m.insert("floor", one.clone(), |_, a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    m.insert("ceil", one, |_, a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    m.insert(
        "round",
        Signature::variadic(&[A, I], Type::Float64),
        |_, a| {
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            let pow = 10f64.powi(i(&a[1]) as i32);
            let digit = pow * to_float64(&a[0]);
            let frac = digit.fract();
            let r = if frac >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        },
    );
    m.insert("randInt", Signature::new(&[I, I]), |ctx, a| {
        let (lo, hi) = (i(&a[0]), i(&a[1]));
        // Go's `rand.Intn(max-min) + min` in wrapping int arithmetic.
        let span = hi.wrapping_sub(lo);
        if span <= 0 {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(
            lo.wrapping_add((ctx.random_u64() % span as u64) as i64),
        ))
    });
}

/// A decimal `mant × 10^exp`, as shopspring/decimal computes Sprig's `*f` functions
/// (so 0.1 + 0.2 is 0.3). Operations that overflow fall back to float arithmetic.
#[derive(Clone, Copy)]
struct Decimal {
    mant: i128,
    exp: i32,
}

/// shopspring's `DivisionPrecision`: quotients keep 16 decimal places.
const DIVISION_PLACES: i32 = 16;

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Option<Decimal> {
        if !f.is_finite() {
            return None;
        }
        let text = format!("{f:e}");
        let (m, e) = text.split_once('e')?;
        let e: i32 = e.parse().ok()?;
        let frac = m.split_once('.').map_or(0, |(_, fr)| fr.len() as i32);
        let mant: i128 = m.replace('.', "").parse().ok()?;
        Some(Decimal {
            mant,
            exp: e - frac,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.mant, self.exp)
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn scaled(self, exp: i32) -> Option<i128> {
        let diff = u32::try_from(self.exp - exp).ok()?;
        self.mant.checked_mul(10i128.checked_pow(diff)?)
    }

    fn add(self, o: Decimal) -> Result<Option<Decimal>, String> {
        let exp = self.exp.min(o.exp);
        Ok((|| {
            Some(Decimal {
                mant: self.scaled(exp)?.checked_add(o.scaled(exp)?)?,
                exp,
            })
        })())
    }

    fn sub(self, o: Decimal) -> Result<Option<Decimal>, String> {
        self.add(Decimal {
            mant: -o.mant,
            exp: o.exp,
        })
    }

    fn mul(self, o: Decimal) -> Result<Option<Decimal>, String> {
        Ok(self.mant.checked_mul(o.mant).map(|mant| Decimal {
            mant,
            exp: self.exp + o.exp,
        }))
    }

    /// `DivRound(o, 16)`: rounded half away from zero.
    fn div(self, o: Decimal) -> Result<Option<Decimal>, String> {
        if o.mant == 0 {
            return Err("decimal division by 0".into());
        }
        Ok((|| {
            // self/o × 10^16 = mant × 10^(exp - o.exp + 16) / o.mant
            let shift = self.exp - o.exp + DIVISION_PLACES;
            let (num, den) = if shift >= 0 {
                (
                    self.mant.checked_mul(10i128.checked_pow(shift as u32)?)?,
                    o.mant,
                )
            } else {
                (
                    self.mant,
                    o.mant
                        .checked_mul(10i128.checked_pow(shift.unsigned_abs())?)?,
                )
            };
            let (q, r) = (num / den, num % den);
            let away = r.checked_mul(2)?.abs() >= den.abs();
            let q = if away {
                q + num.signum() * den.signum()
            } else {
                q
            };
            Some(Decimal {
                mant: q,
                exp: -DIVISION_PLACES,
            })
        })())
    }
}

/// The operation of one of Sprig's `*f` functions.
#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

impl Op {
    fn decimal(self, a: Decimal, b: Decimal) -> Result<Option<Decimal>, String> {
        match self {
            Op::Add => a.add(b),
            Op::Sub => a.sub(b),
            Op::Mul => a.mul(b),
            Op::Div => a.div(b),
        }
    }

    fn float(self, a: f64, b: f64) -> f64 {
        match self {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div => a / b,
        }
    }
}

/// Sprig's `execDecimalOp`: folds `rest` into `first` with decimal arithmetic.
fn decimal_fold(first: &Value, rest: &[Value], op: Op) -> Result<Value, String> {
    let mut acc = to_float64(first);
    for v in rest {
        let y = to_float64(v);
        let decimal = match (Decimal::from_f64(acc), Decimal::from_f64(y)) {
            (Some(a), Some(b)) => op.decimal(a, b)?,
            _ => None,
        };
        acc = match decimal {
            Some(d) => d.to_f64(),
            None => op.float(acc, y),
        };
    }
    Ok(Value::Float(acc))
}
