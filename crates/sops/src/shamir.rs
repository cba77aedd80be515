//! Shamir's secret sharing over GF(2^8) as HashiCorp Vault's `shamir` package (which SOPS
//! vendors) does it: each part is the share bytes followed by its x coordinate.

/// Multiplication in GF(2^8) modulo the AES polynomial x^8 + x^4 + x^3 + x + 1.
pub(crate) fn mult(a: u8, b: u8) -> u8 {
    let mut acc: u8 = 0;
    for i in (0..8).rev() {
        let bit = (b >> i) & 1;
        let reduce = if acc & 0x80 != 0 { 0x1b } else { 0 };
        acc = (if bit == 1 { a } else { 0 }) ^ (reduce ^ acc.wrapping_shl(1));
    }
    acc
}

/// a^254, the inverse of a non-zero a.
fn inverse(a: u8) -> u8 {
    let mut result = 1u8;
    for _ in 0..254 {
        result = mult(result, a);
    }
    result
}

/// Lagrange interpolation of the samples at x = 0.
fn interpolate_at_zero(xs: &[u8], ys: &[u8]) -> u8 {
    let mut result = 0u8;
    for (i, (&xi, &yi)) in xs.iter().zip(ys).enumerate() {
        let mut basis = 1u8;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                basis = mult(basis, mult(xj, inverse(xi ^ xj)));
            }
        }
        result ^= mult(basis, yi);
    }
    result
}

/// Recombines the secret from parts (`shamir.Combine`).
pub(crate) fn combine(parts: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    if parts.len() < 2 {
        return Err("less than two parts cannot be used to reconstruct the secret".into());
    }
    let len = parts[0].len();
    if len < 2 {
        return Err("parts must be at least two bytes".into());
    }
    if parts.iter().any(|p| p.len() != len) {
        return Err("all parts must be the same length".into());
    }
    let xs: Vec<u8> = parts.iter().map(|p| p[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err("duplicate part detected".into());
        }
    }
    Ok((0..len - 1)
        .map(|idx| {
            let ys: Vec<u8> = parts.iter().map(|p| p[idx]).collect();
            interpolate_at_zero(&xs, &ys)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits with a fixed polynomial (for tests): secret byte s, coefficients c.
    fn split(secret: &[u8], xs: &[u8], coefficient: u8) -> Vec<Vec<u8>> {
        xs.iter()
            .map(|&x| {
                let mut part: Vec<u8> = secret.iter().map(|&s| s ^ mult(coefficient, x)).collect();
                part.push(x);
                part
            })
            .collect()
    }

    #[test]
    fn field_arithmetic_matches_aes() {
        // FIPS-197's example: {57} • {83} = {c1}.
        assert_eq!(mult(0x57, 0x83), 0xc1);
        for a in 1..=255u8 {
            assert_eq!(mult(a, inverse(a)), 1);
        }
    }

    #[test]
    fn any_two_of_three_parts_recombine() {
        let secret = b"a data key of thirty-two bytes!!".to_vec();
        let parts = split(&secret, &[3, 77, 200], 0x9d);
        assert_eq!(combine(&parts[..2]).unwrap(), secret);
        assert_eq!(combine(&parts[1..]).unwrap(), secret);
        assert_eq!(combine(&parts).unwrap(), secret);
        assert!(combine(&parts[..1]).is_err());
        assert!(combine(&[parts[0].clone(), parts[0].clone()]).is_err());
    }
}
