//! Sprig's clock- and randomness-based functions: structure and reproducibility (their
//! output under helm is random or clock-dependent, so there is no differential test).
//! Most of them are the `crypto` feature's.
#![cfg(feature = "crypto")]

use crunch_template::{Clock, FuncMap, Options, Templates, Value};

/// Renders `text` with `seed` and `clock`.
fn render_with(text: &str, seed: u64, now: Clock) -> String {
    let options = Options {
        seed,
        now,
        ..Options::helm()
    };
    let mut set = Templates::new("gotpl", FuncMap::sprig(), options);
    set.parse("t", text).expect("parse");
    set.execute("t", Value::Nil).expect("execute")
}

fn render(text: &str, seed: u64) -> String {
    render_with(text, seed, Clock::default())
}

const CLOCK: Clock = Clock {
    unix_seconds: 1_700_000_000,
    nanos: 123_456_789,
    utc_offset_seconds: 0,
};

#[test]
fn now_reads_the_build_clock() {
    assert_eq!(render("{{ now }}", 0), "1970-01-01 00:00:00 +0000 UTC");
    assert_eq!(
        render_with("{{ now }}", 0, CLOCK),
        "2023-11-14 22:13:20.123456789 +0000 UTC"
    );
    assert_eq!(
        render_with(
            "{{ now | date \"2006-01-02\" }} {{ now | unixEpoch }}",
            0,
            CLOCK
        ),
        "2023-11-14 1700000000"
    );
    let east = Clock {
        utc_offset_seconds: 7200,
        ..CLOCK
    };
    assert_eq!(
        render_with(
            "{{ now | date \"15:04 MST\" }} {{ htmlDate 1700000000 }}",
            0,
            east
        ),
        "00:13 +0200 2023-11-15"
    );
    assert_eq!(
        render_with(
            "{{ ago 1699996400 }} {{ ago (now | dateModify \"90s\") }}",
            0,
            CLOCK
        ),
        "1h0m0s -1m30s"
    );
    assert_eq!(
        render_with(
            "{{ toDate \"2006\" \"2023\" | durationRound }} {{ date \"2006\" .x }}",
            0,
            CLOCK
        ),
        "10mo 2023"
    );
    assert_eq!(
        render("{{ now | typeOf }} {{ now | kindOf }}", 0),
        "time.Time struct"
    );
}

#[test]
fn aes_round_trips_and_is_reproducible() {
    let enc = "{{ encryptAES \"key\" \"the plaintext\" }}";
    let a = render(enc, 1);
    assert_eq!(a, render(enc, 1), "same seed, same IV");
    assert_ne!(a, render(enc, 2), "another seed, another IV");
    let dec = format!("{{{{ decryptAES \"key\" \"{a}\" }}}}");
    assert_eq!(render(&dec, 9), "the plaintext");
}

#[test]
fn bcrypt_hashes_verify_and_are_reproducible() {
    let h = render("{{ bcrypt \"hunter2\" }}", 7);
    assert!(h.starts_with("$2a$10$"), "{h}");
    assert!(bcrypt::verify("hunter2", &h).expect("valid hash"));
    assert_eq!(h, render("{{ bcrypt \"hunter2\" }}", 7));
    assert_ne!(h, render("{{ bcrypt \"hunter2\" }}", 8));
    let line = render("{{ htpasswd \"admin\" \"s3cret\" }}", 3);
    let (user, hash) = line.split_once(':').expect("user:hash");
    assert_eq!(user, "admin");
    assert!(bcrypt::verify("s3cret", hash).expect("valid hash"));
}

#[test]
fn private_keys_parse_and_are_reproducible() {
    use ed25519_dalek::pkcs8::DecodePrivateKey as _;
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::traits::PublicKeyParts as _;

    let ec = render("{{ genPrivateKey \"ecdsa\" }}", 5);
    assert!(p256::SecretKey::from_sec1_pem(&ec).is_ok(), "{ec}");
    assert_eq!(ec, render("{{ genPrivateKey \"ecdsa\" }}", 5));
    assert_ne!(ec, render("{{ genPrivateKey \"ecdsa\" }}", 6));

    let ed = render("{{ genPrivateKey \"ed25519\" }}", 5);
    assert!(
        ed25519_dalek::SigningKey::from_pkcs8_pem(&ed).is_ok(),
        "{ed}"
    );
    assert_eq!(ed, render("{{ genPrivateKey \"ed25519\" }}", 5));

    let started = std::time::Instant::now();
    let pem = render("{{ genPrivateKey \"rsa\" }}", 5);
    eprintln!("rsa 4096 generation took {:?}", started.elapsed());
    assert!(
        pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
        "{pem}"
    );
    let key = rsa::PrivateKey::from_pkcs1_pem(&pem).expect("PKCS#1 key");
    assert_eq!(key.size() * 8, 4096);
    assert_eq!(
        pem,
        render("{{ genPrivateKey \"\" }}", 5),
        "\"\" is rsa, same seed"
    );
}

/// Certificates: parsed back with x509-cert and checked field by field against what Go's
/// `x509.CreateCertificate` writes for Sprig's template (the expected DER of the
/// extensions was read from certificates helm made).
mod certs {
    use super::{CLOCK, render, render_with};
    use crunch_gostd::hex::encode as hex;
    use crunch_template::Clock;
    use rsa::pkcs8::DecodePublicKey as _;
    use rsa::signature::Verifier as _;
    use sha2::Digest as _;
    use x509_cert::Certificate;
    use x509_cert::der::{Decode as _, DecodePem as _, Encode as _};

    const KEY_USAGE: &str = "2.5.29.15";
    const EXT_KEY_USAGE: &str = "2.5.29.37";
    const BASIC_CONSTRAINTS: &str = "2.5.29.19";
    const SUBJECT_KEY_ID: &str = "2.5.29.14";
    const AUTHORITY_KEY_ID: &str = "2.5.29.35";
    const SUBJECT_ALT_NAME: &str = "2.5.29.17";
    /// serverAuth, clientAuth.
    const EKU_DER: &str = "301406082b0601050507030106082b06010505070302";

    /// A rendered `{{ $x.Cert }}|{{ $x.Key }}`.
    struct Rendered {
        pem: String,
        cert: Certificate,
        key: String,
    }

    fn split(out: &str) -> Rendered {
        let (pem, key) = out.split_once('|').expect("cert|key");
        let cert = Certificate::from_pem(pem).expect("certificate PEM");
        Rendered {
            pem: pem.to_string(),
            cert,
            key: key.to_string(),
        }
    }

    /// (oid, critical, hex of value) of each extension, in order.
    fn extensions(cert: &Certificate) -> Vec<(String, bool, String)> {
        cert.tbs_certificate()
            .extensions()
            .map(|exts| {
                exts.iter()
                    .map(|e| {
                        (
                            e.extn_id.to_string(),
                            e.critical,
                            hex(e.extn_value.as_bytes()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn ext<'a>(
        exts: &'a [(String, bool, String)],
        oid: &str,
    ) -> Option<&'a (String, bool, String)> {
        exts.iter().find(|e| e.0 == oid)
    }

    fn common_name(name: &x509_cert::name::Name) -> Option<String> {
        name.common_name()
            .expect("CN decodes")
            .map(|cn| cn.value().into_owned())
    }

    fn unix(t: x509_cert::time::Time) -> u64 {
        t.to_unix_duration().as_secs()
    }

    fn tbs_der(cert: &Certificate) -> Vec<u8> {
        cert.tbs_certificate().to_der().expect("tbs")
    }

    fn spki_der(cert: &Certificate) -> Vec<u8> {
        cert.tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .expect("spki")
    }

    /// Verifies `cert`'s signature with the public key of `issuer` (RSA, P-256 or
    /// Ed25519), by the algorithm the certificate names.
    fn verify(cert: &Certificate, issuer: &Certificate) {
        let tbs = tbs_der(cert);
        let sig = cert.signature().raw_bytes();
        let spki = spki_der(issuer);
        match cert.signature_algorithm().oid.to_string().as_str() {
            "1.2.840.113549.1.1.11" => {
                assert!(
                    cert.signature_algorithm().parameters.is_some(),
                    "Go writes NULL parameters for RSA"
                );
                let key = rsa::PublicKey::from_public_key_der(&spki).expect("rsa key");
                let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
                let sig = rsa::pkcs1v15::Signature::try_from(sig).expect("sig");
                verifier.verify(&tbs, &sig).expect("RSA signature verifies");
            }
            "1.2.840.10045.4.3.2" => {
                let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).expect("ec key");
                let sig = p256::ecdsa::Signature::from_der(sig).expect("sig");
                key.verify(&tbs, &sig).expect("ECDSA signature verifies");
            }
            "1.3.101.112" => {
                let key = ed25519_dalek::VerifyingKey::from_public_key_der(&spki).expect("ed key");
                let sig = ed25519_dalek::Signature::from_slice(sig).expect("sig");
                key.verify(&tbs, &sig).expect("Ed25519 signature verifies");
            }
            other => panic!("unexpected signature algorithm {other}"),
        }
    }

    fn rsa_bits(cert: &Certificate) -> usize {
        use rsa::traits::PublicKeyParts as _;
        rsa::PublicKey::from_public_key_der(&spki_der(cert))
            .expect("rsa key")
            .size()
            * 8
    }

    /// The SPKI DER of a PEM private key, through crunch's own parser and writer: the
    /// key a `…WithKey` certificate must carry.
    fn public_of(key_pem: &str) -> Vec<u8> {
        let out = render(
            &format!("{{{{ (genSelfSignedCertWithKey \"k\" nil nil 1 {key_pem:?}).Cert }}}}"),
            0,
        );
        spki_der(&Certificate::from_pem(&out).expect("cert"))
    }

    #[test]
    fn ca_is_a_self_signed_rsa_2048_ca_valid_from_the_clock() {
        let text = "{{ $ca := genCA \"my-ca\" 365 }}{{ $ca.Cert }}|{{ $ca.Key }}";
        let out = render_with(text, 1, CLOCK);
        let ca = split(&out);
        let tbs = ca.cert.tbs_certificate();
        assert_eq!(tbs.version(), x509_cert::Version::V3);
        // Below 2^128: at most 16 bytes once the DER sign byte is dropped.
        let serial = tbs.serial_number().as_bytes();
        assert!(
            serial.iter().skip_while(|b| **b == 0).count() <= 16,
            "{serial:?}"
        );
        assert_eq!(common_name(tbs.subject()).as_deref(), Some("my-ca"));
        assert_eq!(tbs.issuer(), tbs.subject());
        // PrintableString, as Go writes a CN of printable characters.
        assert!(hex(tbs.subject().to_der().expect("name")).contains("1305"));
        assert_eq!(unix(tbs.validity().not_before), 1_700_000_000);
        assert_eq!(unix(tbs.validity().not_after), 1_700_000_000 + 365 * 86_400);
        assert_eq!(rsa_bits(&ca.cert), 2048);
        assert!(ca.key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert_eq!(
            public_of(&ca.key),
            spki_der(&ca.cert),
            "Key is the cert's key"
        );
        let exts = extensions(&ca.cert);
        let bits = tbs.subject_public_key_info().subject_public_key.raw_bytes();
        let skid = hex(&sha2::Sha256::digest(bits)[..20]);
        assert_eq!(
            exts,
            vec![
                (KEY_USAGE.into(), true, "030202a4".into()),
                (EXT_KEY_USAGE.into(), false, EKU_DER.into()),
                (BASIC_CONSTRAINTS.into(), true, "30030101ff".into()),
                (SUBJECT_KEY_ID.into(), false, format!("0414{skid}")),
            ]
        );
        verify(&ca.cert, &ca.cert);
        assert_eq!(out, render_with(text, 1, CLOCK), "same seed and clock");
        assert_ne!(out, render_with(text, 2, CLOCK), "another seed");
        let later = Clock {
            unix_seconds: CLOCK.unix_seconds + 60,
            ..CLOCK
        };
        let moved = split(&render_with(text, 1, later));
        assert_eq!(moved.key, ca.key, "the key depends on the seed only");
        assert_ne!(moved.pem, ca.pem);
    }

    #[test]
    fn self_signed_cert_has_go_alternative_names() {
        let text = r#"{{ $c := genSelfSignedCert "web" (list "10.0.0.1" "::1" "::ffff:1.2.3.4") (list "a.example" "b") 30 }}{{ $c.Cert }}|{{ $c.Key }}"#;
        let c = split(&render_with(text, 3, CLOCK));
        let tbs = c.cert.tbs_certificate();
        assert_eq!(common_name(tbs.subject()).as_deref(), Some("web"));
        assert_eq!(unix(tbs.validity().not_after), 1_700_000_000 + 30 * 86_400);
        assert_eq!(
            extensions(&c.cert),
            vec![
                (KEY_USAGE.into(), true, "030205a0".into()),
                (EXT_KEY_USAGE.into(), false, EKU_DER.into()),
                (BASIC_CONSTRAINTS.into(), true, "3000".into()),
                (
                    SUBJECT_ALT_NAME.into(),
                    false,
                    "302c8209612e6578616d706c6582016287040a000001871000000000000000000000000000000001870401020304".into()
                ),
            ]
        );
        assert_eq!(rsa_bits(&c.cert), 2048);
        verify(&c.cert, &c.cert);
    }

    #[test]
    fn empty_subject_makes_the_names_critical() {
        let text =
            r#"{{ $c := genSelfSignedCert "" nil (list "x.y") 1 }}{{ $c.Cert }}|{{ $c.Key }}"#;
        let c = split(&render(text, 0));
        let tbs = c.cert.tbs_certificate();
        assert!(tbs.subject().is_empty());
        let exts = extensions(&c.cert);
        assert_eq!(
            ext(&exts, SUBJECT_ALT_NAME),
            Some(&(SUBJECT_ALT_NAME.into(), true, "30058203782e79".into()))
        );
        // No alternative names at all: no extension.
        let bare = split(&render(
            r#"{{ $c := genSelfSignedCert "n" nil nil 1 }}{{ $c.Cert }}|{{ $c.Key }}"#,
            0,
        ));
        assert!(ext(&extensions(&bare.cert), SUBJECT_ALT_NAME).is_none());
        // A `*` is outside PrintableString: Go writes a UTF8String.
        let star = split(&render(
            r#"{{ $c := genSelfSignedCert "*.x" nil nil 1 }}{{ $c.Cert }}|{{ $c.Key }}"#,
            0,
        ));
        let subject = hex(star
            .cert
            .tbs_certificate()
            .subject()
            .to_der()
            .expect("name"));
        assert!(subject.ends_with("0c032a2e78"), "{subject}");
    }

    #[test]
    fn signed_cert_verifies_against_the_ca() {
        let text = r#"{{ $ca := genCA "the-ca" 10 }}{{ $c := genSignedCert "srv" (list "127.0.0.1") (list "srv.local") 5 $ca }}{{ $ca.Cert }}|{{ $c.Cert }}|{{ $c.Key }}"#;
        let out = render_with(text, 4, CLOCK);
        let (ca_pem, rest) = out.split_once('|').expect("ca|rest");
        let ca = Certificate::from_pem(ca_pem).expect("ca");
        let leaf = split(rest);
        let tbs = leaf.cert.tbs_certificate();
        assert_eq!(tbs.issuer(), ca.tbs_certificate().subject());
        assert_eq!(common_name(tbs.subject()).as_deref(), Some("srv"));
        assert_ne!(tbs.serial_number(), ca.tbs_certificate().serial_number());
        assert_ne!(spki_der(&leaf.cert), spki_der(&ca), "a key of its own");
        assert_eq!(rsa_bits(&leaf.cert), 2048);
        let ca_exts = extensions(&ca);
        let skid = &ext(&ca_exts, SUBJECT_KEY_ID).expect("CA key id").2;
        let exts = extensions(&leaf.cert);
        assert_eq!(
            ext(&exts, AUTHORITY_KEY_ID).map(|e| e.2.clone()),
            Some(format!("30168014{}", &skid[4..]))
        );
        assert!(ext(&exts, SUBJECT_KEY_ID).is_none());
        assert_eq!(
            ext(&exts, BASIC_CONSTRAINTS).map(|e| e.2.as_str()),
            Some("3000")
        );
        verify(&leaf.cert, &ca);
        assert_eq!(out, render_with(text, 4, CLOCK));
        // Go names the authority's key only when issuer and subject differ.
        let same = render(
            r#"{{ $ca := genCA "same" 1 }}{{ $c := genSignedCert "same" nil nil 1 $ca }}{{ $c.Cert }}|{{ $c.Key }}"#,
            0,
        );
        assert!(ext(&extensions(&split(&same).cert), AUTHORITY_KEY_ID).is_none());
    }

    #[test]
    fn with_key_variants_use_the_given_key() {
        let ec = render("{{ genPrivateKey \"ecdsa\" }}", 11);
        let ed = render("{{ genPrivateKey \"ed25519\" }}", 12);
        let text = format!(
            "{{{{ $ca := genCAWithKey \"ec-ca\" 3 {ec:?} }}}}{{{{ $c := genSignedCertWithKey \"leaf\" nil (list \"l\") 3 $ca {ed:?} }}}}{{{{ $ca.Cert }}}}|{{{{ $ca.Key }}}}|{{{{ $c.Cert }}}}|{{{{ $c.Key }}}}"
        );
        let out = render_with(&text, 5, CLOCK);
        let parts: Vec<&str> = out.split('|').collect();
        let ca = Certificate::from_pem(parts[0]).expect("ca");
        let leaf = Certificate::from_pem(parts[2]).expect("leaf");
        assert_eq!(parts[1], ec, "an EC key comes back as the SEC1 PEM it was");
        assert_eq!(parts[3], ed, "an Ed25519 key comes back as PKCS#8");
        assert_eq!(spki_der(&ca), public_of(&ec));
        assert_eq!(spki_der(&leaf), public_of(&ed));
        assert_eq!(
            leaf.signature_algorithm().oid.to_string(),
            "1.2.840.10045.4.3.2",
            "signed by the EC CA"
        );
        verify(&ca, &ca);
        verify(&leaf, &ca);
        assert_eq!(out, render_with(&text, 5, CLOCK));

        // Ed25519 self-signed, and an RSA key in PKCS#8 written back as PKCS#1.
        let ed_self = split(&render(
            &format!(
                "{{{{ $c := genSelfSignedCertWithKey \"e\" nil nil 1 {ed:?} }}}}{{{{ $c.Cert }}}}|{{{{ $c.Key }}}}"
            ),
            0,
        ));
        verify(&ed_self.cert, &ed_self.cert);
        let rsa_pkcs1 = split(&render(
            "{{ $c := genCA \"r\" 1 }}{{ $c.Cert }}|{{ $c.Key }}",
            6,
        ))
        .key;
        let rsa_key = {
            use rsa::pkcs1::DecodeRsaPrivateKey as _;
            use rsa::pkcs8::{EncodePrivateKey as _, LineEnding};
            rsa::PrivateKey::from_pkcs1_pem(&rsa_pkcs1)
                .expect("pkcs1")
                .to_pkcs8_pem(LineEnding::LF)
                .expect("pkcs8")
                .to_string()
        };
        let from_pkcs8 = split(&render(
            &format!(
                "{{{{ $c := genCAWithKey \"r\" 1 {rsa_key:?} }}}}{{{{ $c.Cert }}}}|{{{{ $c.Key }}}}"
            ),
            0,
        ));
        assert_eq!(from_pkcs8.key, rsa_pkcs1);
    }

    #[test]
    fn build_custom_cert_round_trips() {
        let text = r#"{{ $ca := genCA "x" 3 }}{{ $c := buildCustomCert ($ca.Cert | b64enc) ($ca.Key | b64enc) }}{{ eq $c.Cert $ca.Cert }} {{ eq $c.Key $ca.Key }} {{ typeOf $c }}{{ $s := genSignedCert "y" nil nil 1 $c }} {{ typeOf $s }}"#;
        assert_eq!(
            render(text, 0),
            "true true sprig.certificate sprig.certificate"
        );
    }

    #[test]
    fn certificate_prints_as_a_go_struct() {
        let out = render(
            r#"{{ $c := genCA "p" 1 }}{{ typeOf $c }} {{ kindOf $c }}|{{ $c }}|{{ toJson $c }}|{{ $c.Cert }}|{{ $c.Key }}"#,
            0,
        );
        let parts: Vec<&str> = out.split('|').collect();
        assert_eq!(parts[0], "sprig.certificate struct");
        assert_eq!(parts[1], format!("{{{} {}}}", parts[3], parts[4]));
        let json: serde_json::Value = serde_json::from_str(parts[2]).expect("json");
        assert_eq!(json["Cert"], parts[3]);
        assert_eq!(json["Key"], parts[4]);
    }

    #[test]
    fn validity_past_2049_is_generalized_time() {
        let late = Clock {
            unix_seconds: 2_524_521_600, // 2049-12-31T00:00:00Z
            nanos: 999_999_999,
            utc_offset_seconds: 3600,
        };
        let c = split(&render_with(
            r#"{{ $c := genSelfSignedCert "t" nil nil 2 }}{{ $c.Cert }}|{{ $c.Key }}"#,
            0,
            late,
        ));
        let v = c.cert.tbs_certificate().validity();
        assert!(matches!(v.not_before, x509_cert::time::Time::UtcTime(_)));
        assert!(matches!(v.not_after, x509_cert::time::Time::GeneralTime(_)));
        assert_eq!(unix(v.not_before), 2_524_521_600);
        assert_eq!(unix(v.not_after), 2_524_521_600 + 2 * 86_400);
    }

    #[test]
    fn certificate_errors_are_sprigs() {
        let err = |text: &str| {
            let mut set = crunch_template::Templates::new(
                "gotpl",
                crunch_template::FuncMap::sprig(),
                crunch_template::Options::helm(),
            );
            set.parse("t", text).expect("parse");
            set.execute("t", crunch_template::Value::Nil)
                .expect_err("fails")
                .to_string()
        };
        let e = err(r#"{{ genSignedCert "x" (list "1.2.3") nil 1 (genCA "c" 1) }}"#);
        assert!(
            e.ends_with("error calling genSignedCert: error parsing ip: 1.2.3"),
            "{e}"
        );
        let e = err(r#"{{ genSelfSignedCert "x" nil (list "ü.x") 1 }}"#);
        assert!(
            e.ends_with(
                r#"error creating certificate: x509: "ü.x" cannot be encoded as an IA5String"#
            ),
            "{e}"
        );
        let e = err(
            "{{ genCAWithKey \"x\" 1 \"-----BEGIN DSA PRIVATE KEY-----\\nAAAA\\n-----END DSA PRIVATE KEY-----\\n\" }}",
        );
        assert!(
            e.ends_with("parsing private key: dsa keys are not supported by crunch"),
            "{e}"
        );
    }

    #[test]
    fn parsed_certificate_round_trips_through_der() {
        let c = split(&render(
            "{{ $c := genCA \"d\" 1 }}{{ $c.Cert }}|{{ $c.Key }}",
            9,
        ));
        let der = c.cert.to_der().expect("der");
        assert_eq!(Certificate::from_der(&der).expect("decode"), c.cert);
    }
}
