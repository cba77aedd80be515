//! Certificates as Go's `x509.CreateCertificate` writes them from Sprig's template: v3,
//! a 128-bit random serial, CN-only subject, the key usages, extended key usages and
//! basic constraints Sprig sets, Go's subject and authority key identifiers, and the
//! alternative names, in Go's extension order and criticality.

use std::net::IpAddr;
use std::time::Duration;

use sha2::Digest as _;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder as _, CertificateBuilder};
use x509_cert::der::asn1::{Any, BitString, GeneralizedTime, Ia5String, OctetString, UtcTime};
use x509_cert::der::oid::AssociatedOid as _;
use x509_cert::der::{Decode as _, Encode as _, Tag};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, EncodePublicKey,
    SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef,
};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

use super::pkey::PrivateKey;
use crunch_gostd::strconv::quote;

const COMMON_NAME: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("2.5.4.3");
const SERVER_AUTH: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
const CLIENT_AUTH: x509_cert::der::oid::ObjectIdentifier =
    x509_cert::der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

const NANOS: i128 = 1_000_000_000;

/// Sprig's certificate template (`getBaseCertTemplate`, with `genCA`'s overrides).
pub(super) struct Template {
    /// The subject's common name; empty for an empty subject.
    pub(super) common_name: String,
    /// IP alternative names, in order.
    pub(super) ips: Vec<IpAddr>,
    /// DNS alternative names, in order.
    pub(super) dns_names: Vec<String>,
    /// Start of validity, in nanoseconds since the Unix epoch.
    pub(super) not_before: i128,
    /// End of validity, in nanoseconds since the Unix epoch.
    pub(super) not_after: i128,
    /// A CA certificate (`genCA`): may sign certificates, and gets a subject key id.
    pub(super) is_ca: bool,
    /// The serial number, big-endian (Go's `rand.Int` below 2¹²⁸).
    pub(super) serial: [u8; 16],
}

impl Template {
    /// Validity from `now_nanos` for `days` days, as Go's
    /// `time.Now().Add(time.Hour * 24 * time.Duration(days))` computes it (the duration
    /// wraps on overflow).
    pub(super) fn validity(now_nanos: i128, days: i64) -> (i128, i128) {
        let span = 86_400_000_000_000_i64.wrapping_mul(days);
        (now_nanos, now_nanos + i128::from(span))
    }
}

/// Who signs: the new key itself, or a CA certificate and its key.
pub(super) enum Signer<'a> {
    /// A self-signed certificate.
    SelfSigned,
    /// Signed by `cert`'s subject with `key`.
    Ca {
        /// The CA certificate (its subject becomes the issuer).
        cert: &'a Certificate,
        /// The CA's private key.
        key: &'a PrivateKey,
    },
}

/// Go's `x509.CreateCertificate(template, parent, subjectKey.Public(), signingKey)`:
/// the DER certificate, or Go's error text.
pub(super) fn create(
    template: &Template,
    subject_key: &PrivateKey,
    signer: &Signer<'_>,
) -> Result<Vec<u8>, String> {
    let subject_spki_der = subject_key.public_key_der()?;
    let spki = SubjectPublicKeyInfoOwned::from_der(&subject_spki_der).map_err(err)?;
    let subject = subject_name(&template.common_name)?;
    let (issuer, signing_key, parent_key_id) = match signer {
        Signer::SelfSigned => (subject.clone(), subject_key, None),
        Signer::Ca { cert, key } => {
            let parent_spki = cert
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(err)?;
            if key.public_key_der()? != parent_spki {
                return Err("x509: provided PrivateKey doesn't match parent's PublicKey".into());
            }
            let issuer = cert.tbs_certificate().subject().clone();
            (issuer, *key, subject_key_id_of(cert.tbs_certificate())?)
        }
    };
    let mut extensions = vec![
        extension(
            KeyUsage(key_usages(template.is_ca)).to_der(),
            KeyUsage::OID,
            true,
        )?,
        extension(
            ExtendedKeyUsage(vec![SERVER_AUTH, CLIENT_AUTH]).to_der(),
            ExtendedKeyUsage::OID,
            false,
        )?,
        extension(
            BasicConstraints {
                ca: template.is_ca,
                path_len_constraint: None,
            }
            .to_der(),
            BasicConstraints::OID,
            true,
        )?,
    ];
    if template.is_ca {
        // Go 1.25: the first 160 bits of the SHA-256 of the public key bits.
        let bits = spki.subject_public_key.raw_bytes();
        let id = &sha2::Sha256::digest(bits)[..20];
        extensions.push(extension(
            OctetString::new(id).and_then(|o| o.to_der()),
            x509_cert::ext::pkix::SubjectKeyIdentifier::OID,
            false,
        )?);
    }
    // Go names the issuer's key only when issuer and subject differ.
    if let Some(id) = parent_key_id.filter(|_| issuer != subject) {
        let akid = AuthorityKeyIdentifier {
            key_identifier: Some(id),
            ..Default::default()
        };
        extensions.push(extension(
            akid.to_der(),
            AuthorityKeyIdentifier::OID,
            false,
        )?);
    }
    if !template.ips.is_empty() || !template.dns_names.is_empty() {
        let names = alternative_names(template)?;
        // RFC 5280: the names are critical when the subject is empty.
        extensions.push(extension(
            SubjectAltName(names).to_der(),
            SubjectAltName::OID,
            subject.is_empty(),
        )?);
    }
    let profile = Profile {
        subject,
        issuer,
        extensions,
    };
    let serial = SerialNumber::new(&template.serial).map_err(err)?;
    let validity = Validity::new(time(template.not_before)?, time(template.not_after)?);
    let mut builder = CertificateBuilder::new(profile, serial, validity, spki).map_err(err)?;
    let key_signer = KeySigner {
        key: signing_key,
        public: PublicKeyDer(signing_key.public_key_der()?),
    };
    let tbs = builder.finalize(&key_signer).map_err(err)?;
    let signature = signing_key.sign(&tbs)?;
    let bits = BitString::from_bytes(&signature).map_err(err)?;
    let cert = builder.assemble(bits, &key_signer).map_err(err)?;
    cert.to_der().map_err(err)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn key_usages(is_ca: bool) -> x509_cert::der::flagset::FlagSet<KeyUsages> {
    let leaf = KeyUsages::DigitalSignature | KeyUsages::KeyEncipherment;
    if is_ca {
        leaf | KeyUsages::KeyCertSign
    } else {
        leaf
    }
}

fn extension(
    value: x509_cert::der::Result<Vec<u8>>,
    oid: x509_cert::der::oid::ObjectIdentifier,
    critical: bool,
) -> Result<Extension, String> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.map_err(err)?).map_err(err)?,
    })
}

/// `pkix.Name{CommonName: cn}`: no attribute for an empty name; a PrintableString when
/// every character is in Go's printable set (no `*` or `&`), else a UTF8String.
fn subject_name(cn: &str) -> Result<Name, String> {
    let mut rdns = RdnSequence::default();
    if !cn.is_empty() {
        let tag = if cn.bytes().all(go_printable) {
            Tag::PrintableString
        } else {
            Tag::Utf8String
        };
        let value = Any::new(tag, cn.as_bytes()).map_err(err)?;
        let mut rdn = RelativeDistinguishedName::default();
        rdn.insert(x509_cert::attr::AttributeTypeAndValue {
            oid: COMMON_NAME,
            value,
        })
        .map_err(err)?;
        rdns.push(rdn);
    }
    Name::from_der(&rdns.to_der().map_err(err)?).map_err(err)
}

fn go_printable(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b)
}

/// DNS names, then IP addresses (IPv4 and IPv4-mapped IPv6 as 4 bytes), as Go orders
/// them; a DNS name must be ASCII.
fn alternative_names(template: &Template) -> Result<Vec<GeneralName>, String> {
    let mut names = Vec::new();
    for dns in &template.dns_names {
        let ia5 = Ia5String::new(dns)
            .map_err(|_| format!("x509: {} cannot be encoded as an IA5String", quote(dns)))?;
        names.push(GeneralName::DnsName(ia5));
    }
    for ip in &template.ips {
        let bytes = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.octets().to_vec(),
                None => v6.octets().to_vec(),
            },
        };
        names.push(GeneralName::IpAddress(
            OctetString::new(bytes).map_err(err)?,
        ));
    }
    Ok(names)
}

/// The subject key identifier extension's value, if the certificate has one.
fn subject_key_id_of(tbs: &TbsCertificate) -> Result<Option<OctetString>, String> {
    let oid = x509_cert::ext::pkix::SubjectKeyIdentifier::OID;
    let Some(ext) = tbs
        .extensions()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == oid))
    else {
        return Ok(None);
    };
    OctetString::from_der(ext.extn_value.as_bytes())
        .map(Some)
        .map_err(|e| format!("x509: invalid subject key identifier: {e}"))
}

/// An ASN.1 time as Go writes it: UTCTime for 1950–2049, GeneralizedTime otherwise,
/// whole seconds. Times before 1970 are outside what crunch's DER library encodes.
fn time(nanos: i128) -> Result<Time, String> {
    let secs = nanos.div_euclid(NANOS);
    let secs = u64::try_from(secs)
        .map_err(|_| "certificate validity before 1970 is not supported by crunch".to_string())?;
    let d = Duration::from_secs(secs);
    let utc = UtcTime::from_unix_duration(d);
    match utc {
        Ok(t) => Ok(Time::UtcTime(t)),
        Err(_) => GeneralizedTime::from_unix_duration(d)
            .map(Time::GeneralTime)
            .map_err(|e| format!("certificate validity out of range: {e}")),
    }
}

/// The fixed names and extensions of one certificate, handed to x509-cert's builder.
struct Profile {
    subject: Name,
    issuer: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

/// A public key already encoded as `SubjectPublicKeyInfo`.
#[derive(Clone)]
struct PublicKeyDer(Vec<u8>);

impl EncodePublicKey for PublicKeyDer {
    fn to_public_key_der(&self) -> x509_cert::spki::Result<x509_cert::der::Document> {
        Ok(x509_cert::der::Document::try_from(self.0.as_slice())?)
    }
}

/// What the builder asks of a signer: its public key and signature algorithm. The
/// signing itself is [`PrivateKey::sign`].
struct KeySigner<'a> {
    key: &'a PrivateKey,
    public: PublicKeyDer,
}

impl rsa::signature::Keypair for KeySigner<'_> {
    type VerifyingKey = PublicKeyDer;

    fn verifying_key(&self) -> PublicKeyDer {
        self.public.clone()
    }
}

impl DynSignatureAlgorithmIdentifier for KeySigner<'_> {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(self.key.signature_algorithm())
    }
}
