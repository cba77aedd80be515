//! Sprig's certificate functions: `genCA`, `genSelfSignedCert`, `genSignedCert` (each
//! with a `…WithKey` variant taking a PEM key) and `buildCustomCert`. New keys are RSA
//! 2048 from the seeded source, serials are drawn from it, and validity starts at the
//! build clock, so a build is reproducible.

use std::net::IpAddr;
use std::rc::Rc;

use rand_core::Rng as _;
use x509_cert::Certificate as X509;
use x509_cert::der::Decode as _;

use super::pem;
use super::pkey::{KeyKind, PrivateKey};
use super::seeded_rng;
use super::x509::{Signer, Template, create};
use crate::fmt::sprint_value;
use crate::funcs::sprig::conv::{i, s};
use crate::funcs::{Context, FuncMap, Signature, Type};
use crate::{Error, Object, Value};

/// Go's name of Sprig's certificate type, as `typeOf` prints it.
const CERTIFICATE: &str = "sprig.certificate";

/// Sprig's `certificate` struct: a PEM certificate and its PEM private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Certificate {
    /// The PEM `CERTIFICATE` block.
    pub(super) cert: String,
    /// The PEM private key block.
    pub(super) key: String,
}

impl Certificate {
    fn into_value(self) -> Value {
        Value::Object(Rc::new(self))
    }

    fn from_value(v: &Value) -> Option<&Certificate> {
        match v {
            Value::Object(o) => o.as_any()?.downcast_ref::<Certificate>(),
            _ => None,
        }
    }
}

impl Object for Certificate {
    fn type_name(&self) -> String {
        CERTIFICATE.into()
    }

    fn kind_name(&self) -> &'static str {
        "struct"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Cert" => Some(self.cert.as_str().into()),
            "Key" => Some(self.key.as_str().into()),
            _ => None,
        }
    }

    /// `%v` of a Go struct: `{Cert Key}`.
    fn display(&self) -> String {
        format!("{{{} {}}}", self.cert, self.key)
    }

    fn to_json(&self) -> Result<serde_json::Value, Error> {
        Ok(serde_json::json!({ "Cert": self.cert, "Key": self.key }))
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// What a certificate function is asked for: Sprig's template inputs.
struct Request<'a> {
    cn: &'a str,
    ips: &'a Value,
    dns_names: &'a Value,
    days: i64,
    is_ca: bool,
}

/// The subject key: a fresh RSA 2048 key, or the caller's PEM key (Sprig wraps its
/// parse error as `parsing private key: …`).
enum KeySource<'a> {
    Generate,
    Pem(&'a str),
}

/// Sprig's `generate…WithKeyInternal` for every variant.
fn generate(
    ctx: &mut Context<'_>,
    request: &Request<'_>,
    key: KeySource<'_>,
    ca: Option<&Certificate>,
) -> Result<Value, String> {
    let mut rng = seeded_rng(ctx);
    let subject_key = match key {
        KeySource::Generate => PrivateKey::generate(KeyKind::Rsa(2048), &mut rng)
            .map_err(|e| format!("error generating rsa key: {e}"))?,
        KeySource::Pem(text) => {
            PrivateKey::from_pem(text).map_err(|e| format!("parsing private key: {e}"))?
        }
    };
    let parent = match ca {
        Some(ca) => Some(parse_ca(ca)?),
        None => None,
    };
    let ips = ip_addresses(request.ips)?;
    let dns_names = dns_names(request.dns_names)?;
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    let now = ctx.now();
    let now_nanos = i128::from(now.unix_seconds) * 1_000_000_000 + i128::from(now.nanos);
    let (not_before, not_after) = Template::validity(now_nanos, request.days);
    let template = Template {
        common_name: request.cn.to_string(),
        ips,
        dns_names,
        not_before,
        not_after,
        is_ca: request.is_ca,
        serial,
    };
    let signer = match &parent {
        Some((cert, key)) => Signer::Ca { cert, key },
        None => Signer::SelfSigned,
    };
    let der = create(&template, &subject_key, &signer)
        .map_err(|e| format!("error creating certificate: {e}"))?;
    let key_pem = subject_key
        .to_pem()
        .map_err(|e| format!("error pem-encoding key: {e}"))?;
    Ok(Certificate {
        cert: pem::encode("CERTIFICATE", &der),
        key: key_pem,
    }
    .into_value())
}

/// The CA certificate and key of `genSignedCert`, with Sprig's errors.
fn parse_ca(ca: &Certificate) -> Result<(X509, PrivateKey), String> {
    let block = pem::decode(ca.cert.as_bytes()).ok_or("unable to decode certificate")?;
    let cert = parse_certificate(&block.der)
        .map_err(|e| format!("error parsing certificate: decodedSignerCert.Bytes: {e}"))?;
    let key =
        PrivateKey::from_pem(&ca.key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok((cert, key))
}

/// Go's `x509.ParseCertificate`, as far as crunch checks: a DER certificate. Every
/// failure reads as Go's most common one.
fn parse_certificate(der: &[u8]) -> Result<X509, String> {
    X509::from_der(der).map_err(|_| "x509: malformed certificate".to_string())
}

/// Sprig's `getNetIPs`: every item a string Go's `net.ParseIP` accepts.
fn ip_addresses(list: &Value) -> Result<Vec<IpAddr>, String> {
    items(list)
        .iter()
        .map(|ip| match ip {
            Value::String(text) => text
                .parse::<IpAddr>()
                .map_err(|_| format!("error parsing ip: {text}")),
            other => Err(format!(
                "error parsing ip: {} is not a string",
                sprint_value(other)
            )),
        })
        .collect()
}

/// Sprig's `getAlternateDNSStrs`: every item a string.
fn dns_names(list: &Value) -> Result<Vec<String>, String> {
    items(list)
        .iter()
        .map(|name| match name {
            Value::String(text) => Ok(text.to_string()),
            other => Err(format!(
                "error processing alternate dns name: {} is not a string",
                sprint_value(other)
            )),
        })
        .collect()
}

/// The items of a checked `[]interface {}` argument (nil is empty).
fn items(list: &Value) -> Vec<Value> {
    match list {
        Value::List(l) => l.items().to_vec(),
        _ => Vec::new(),
    }
}

/// Sprig's `buildCustomCertificate`: both inputs base64 of PEM; the certificate must
/// parse and the key be one Sprig reads. The PEM texts are returned as given.
fn build_custom(b64_cert: &str, b64_key: &str) -> Result<Value, String> {
    let cert =
        pem::decode_base64(b64_cert.as_bytes()).ok_or("unable to decode base64 certificate")?;
    let key =
        pem::decode_base64(b64_key.as_bytes()).ok_or("unable to decode base64 private key")?;
    let block = pem::decode(&cert).ok_or("unable to decode certificate")?;
    parse_certificate(&block.der)
        .map_err(|e| format!("error parsing certificate: decodedCert.Bytes: {e}"))?;
    let key = String::from_utf8_lossy(&key).into_owned();
    PrivateKey::from_pem(&key).map_err(|e| format!("error parsing private key: {e}"))?;
    Ok(Certificate {
        cert: String::from_utf8_lossy(&cert).into_owned(),
        key,
    }
    .into_value())
}

/// The CA argument of a checked `sprig.certificate` parameter.
fn ca_arg(v: &Value) -> Result<&Certificate, String> {
    Certificate::from_value(v).ok_or_else(|| format!("expected {CERTIFICATE}"))
}

pub(super) fn install(m: &mut FuncMap) {
    const S: Type = Type::String;
    const I: Type = Type::Int;
    const L: Type = Type::List;
    const C: Type = Type::Named(CERTIFICATE);
    m.insert("genCA", Signature::new(&[S, I]), |ctx, a| {
        generate(ctx, &ca_request(a), KeySource::Generate, None)
    });
    m.insert("genCAWithKey", Signature::new(&[S, I, S]), |ctx, a| {
        generate(ctx, &ca_request(a), KeySource::Pem(s(&a[2])), None)
    });
    m.insert(
        "genSelfSignedCert",
        Signature::new(&[S, L, L, I]),
        |ctx, a| generate(ctx, &leaf_request(a), KeySource::Generate, None),
    );
    m.insert(
        "genSelfSignedCertWithKey",
        Signature::new(&[S, L, L, I, S]),
        |ctx, a| generate(ctx, &leaf_request(a), KeySource::Pem(s(&a[4])), None),
    );
    m.insert(
        "genSignedCert",
        Signature::new(&[S, L, L, I, C]),
        |ctx, a| {
            generate(
                ctx,
                &leaf_request(a),
                KeySource::Generate,
                Some(ca_arg(&a[4])?),
            )
        },
    );
    m.insert(
        "genSignedCertWithKey",
        Signature::new(&[S, L, L, I, C, S]),
        |ctx, a| {
            let ca = ca_arg(&a[4])?;
            generate(ctx, &leaf_request(a), KeySource::Pem(s(&a[5])), Some(ca))
        },
    );
    m.insert("buildCustomCert", Signature::new(&[S, S]), |_, a| {
        build_custom(s(&a[0]), s(&a[1]))
    });
}

const NIL: Value = Value::Nil;

/// `genCA cn days`: no alternative names.
fn ca_request(a: &[Value]) -> Request<'_> {
    Request {
        cn: s(&a[0]),
        ips: &NIL,
        dns_names: &NIL,
        days: i(&a[1]),
        is_ca: true,
    }
}

/// `gen…Cert cn ips dnsNames days …`.
fn leaf_request(a: &[Value]) -> Request<'_> {
    Request {
        cn: s(&a[0]),
        ips: &a[1],
        dns_names: &a[2],
        days: i(&a[3]),
        is_ca: false,
    }
}
