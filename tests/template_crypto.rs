//! Sprig's clock- and randomness-based functions: structure and reproducibility (their
//! output under helm is random or clock-dependent, so there is no differential test).

use crunch::template::{Clock, FuncMap, Options, Templates, Value};

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
