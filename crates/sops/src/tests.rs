//! End-to-end tests: SOPS files built here by hand from SOPS's rules (values sealed with
//! their path as AAD, the MAC over the plaintexts in order, sealed with `lastmodified`,
//! the data key wrapped for age recipients), then decrypted through the public API.

use std::io::Write;

use sha2::{Digest, Sha512};

use crate::cipher::tests::encrypt;
use crate::{Error, Format, Keys, MasterKey, decrypt};

const LAST_MODIFIED: &str = "2024-05-01T10:00:00Z";

/// The data key wrapped for an age recipient, armored as SOPS writes it.
fn wrap_for_age(data_key: &[u8], recipient: &age::x25519::Recipient) -> String {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient)).unwrap();
    let armored =
        age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor).unwrap();
    let mut writer = encryptor.wrap_output(armored).unwrap();
    writer.write_all(data_key).unwrap();
    String::from_utf8(writer.finish().unwrap().finish().unwrap()).unwrap()
}

/// SOPS's MAC of the plaintexts (hashed in walk order), sealed with `lastmodified`.
fn mac(data_key: &[u8], plaintexts: &[&str], only_encrypted: bool) -> String {
    let mut hash = Sha512::new();
    if only_encrypted {
        hash.update(super::tree::mac_only_encrypted_initialization());
    }
    for p in plaintexts {
        hash.update(p.as_bytes());
    }
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
    encrypt(&hex, "str", data_key, LAST_MODIFIED)
}

/// YAML block-scalar lines of an armored text, indented for `enc: |`.
fn block(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| format!("{indent}{l}\n"))
        .collect::<String>()
}

struct AgeFixture {
    identity: age::x25519::Identity,
    data_key: [u8; 32],
}

impl AgeFixture {
    fn new() -> Self {
        AgeFixture {
            identity: age::x25519::Identity::generate(),
            data_key: [42u8; 32],
        }
    }

    fn keys(&self) -> Keys {
        let mut keys = Keys::new();
        let text = format!(
            "# created: test\n# public key: {}\n{}\n",
            self.identity.to_public(),
            secrecy_text(&self.identity)
        );
        assert_eq!(keys.add_age_identities("test-keys.txt", &text).unwrap(), 1);
        keys
    }

    fn enc(&self, plain: impl AsRef<[u8]>, kind: &str, aad: &str) -> String {
        encrypt(plain, kind, &self.data_key, aad)
    }

    /// The `sops:` block of a YAML file for this key, with extra metadata lines.
    fn yaml_metadata(&self, mac: &str, extra: &str) -> String {
        let recipient = self.identity.to_public();
        format!(
            "sops:\n    age:\n        - recipient: {recipient}\n          enc: |\n{}    lastmodified: \"{LAST_MODIFIED}\"\n    mac: {mac}\n{extra}    version: 3.10.2\n",
            block(&wrap_for_age(&self.data_key, &recipient), "            ")
        )
    }
}

fn secrecy_text(identity: &age::x25519::Identity) -> String {
    use age::secrecy::ExposeSecret;
    identity.to_string().expose_secret().to_owned()
}

/// A YAML file with comments (a top-level comment's path is empty, so its AAD is `:`), several types, a list, a nested map and an
/// `_unencrypted` key.
fn yaml_file(f: &AgeFixture) -> String {
    let body = format!(
        "#{c1}\nname: {name}\nreplicas: {replicas}\nratio: {ratio}\nenabled: {enabled}\nhosts:\n    - {h0}\n    #{c2}\n    - {h1}\ndata:\n    password: {password}\nport_unencrypted: 8080\n",
        c1 = f.enc(" who owns this", "comment", ":"),
        name = f.enc("web", "str", "name:"),
        replicas = f.enc("3", "int", "replicas:"),
        ratio = f.enc("0.5", "float", "ratio:"),
        enabled = f.enc("True", "bool", "enabled:"),
        h0 = f.enc("a.example", "str", "hosts:"),
        c2 = f.enc(" second host", "comment", "hosts:"),
        h1 = f.enc("b.example", "str", "hosts:"),
        password = f.enc("hunter2", "str", "data:password:"),
    );
    let mac = mac(
        &f.data_key,
        &[
            "web",
            "3",
            "0.5",
            "True",
            "a.example",
            "b.example",
            "hunter2",
            "8080",
        ],
        false,
    );
    format!("{body}{}", f.yaml_metadata(&mac, ""))
}

#[test]
fn yaml_decrypts_and_prints_as_sops_does() {
    let f = AgeFixture::new();
    let plain = decrypt(yaml_file(&f).as_bytes(), Format::Yaml, &f.keys()).unwrap();
    assert_eq!(
        String::from_utf8(plain.emit(Format::Yaml).unwrap()).unwrap(),
        "# who owns this\nname: web\nreplicas: 3\nratio: 0.5\nenabled: true\nhosts:\n    - a.example\n    # second host\n    - b.example\ndata:\n    password: hunter2\nport_unencrypted: 8080\n"
    );
    assert_eq!(plain.data_key(), &f.data_key);
    assert!(!format!("{plain:?}").contains("hunter2"));
    assert_eq!(
        plain.plaintext_values(),
        [
            "web",
            "3",
            "0.5",
            "True",
            "a.example",
            "b.example",
            "hunter2"
        ]
    );
    assert!(
        matches!(&plain.recipients()[0][0], MasterKey::Age { recipient, .. } if recipient.starts_with("age1"))
    );
    // JSON output of the same tree, as `sops -d --output-type json`.
    assert_eq!(
        String::from_utf8(plain.emit(Format::Json).unwrap()).unwrap(),
        "{\n\t\"name\": \"web\",\n\t\"replicas\": 3,\n\t\"ratio\": 0.5,\n\t\"enabled\": true,\n\t\"hosts\": [\n\t\t\"a.example\",\n\t\t\"b.example\"\n\t],\n\t\"data\": {\n\t\t\"password\": \"hunter2\"\n\t},\n\t\"port_unencrypted\": 8080\n}\n"
    );
}

#[test]
fn the_encrypted_yaml_reads_back_to_its_bytes() {
    let f = AgeFixture::new();
    let file = yaml_file(&f);
    assert_eq!(
        String::from_utf8(crate::reformat(file.as_bytes(), Format::Yaml, None).unwrap()).unwrap(),
        file
    );
}

#[test]
fn a_value_moved_to_another_path_fails_naming_the_path() {
    let f = AgeFixture::new();
    let file = yaml_file(&f);
    // The password sealed for `data:password:` pasted under `name`.
    let password = f.enc("hunter2", "str", "data:password:");
    let name_line = file.lines().nth(1).unwrap().to_owned();
    let tampered = file.replacen(&name_line, &format!("name: {password}"), 1);
    let err = decrypt(tampered.as_bytes(), Format::Yaml, &f.keys()).unwrap_err();
    assert!(
        matches!(&err, Error::Value { path, .. } if path == "name"),
        "{err}"
    );
}

#[test]
fn a_changed_plain_value_breaks_the_mac() {
    let f = AgeFixture::new();
    let file = yaml_file(&f).replace("port_unencrypted: 8080", "port_unencrypted: 9090");
    let err = decrypt(file.as_bytes(), Format::Yaml, &f.keys()).unwrap_err();
    assert!(matches!(err, Error::MacMismatch { .. }), "{err}");
}

#[test]
fn without_the_key_the_error_names_recipient_and_tried_keys() {
    let f = AgeFixture::new();
    let other = AgeFixture::new();
    let err = decrypt(yaml_file(&f).as_bytes(), Format::Yaml, &other.keys()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("encrypted for {}", f.identity.to_public())),
        "{text}"
    );
    assert!(
        text.contains("tried: age identity from test-keys.txt (no match)"),
        "{text}"
    );
    let none = decrypt(yaml_file(&f).as_bytes(), Format::Yaml, &Keys::new()).unwrap_err();
    assert!(
        none.to_string().contains("no key of these kinds was given"),
        "{none}"
    );
}

#[test]
fn kms_only_files_name_the_key_and_what_crunch_supports() {
    let file = "a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n    kms:\n        - arn: arn:aws:kms:us-east-1:123:key/abc\n          created_at: \"2024-01-01T00:00:00Z\"\n          enc: AQID\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: x\n    version: 3.9.0\n";
    let err = decrypt(file.as_bytes(), Format::Yaml, &Keys::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "encrypted for AWS KMS arn:aws:kms:us-east-1:123:key/abc: crunch decrypts age and PGP only"
    );
}

#[test]
fn shamir_groups_combine_at_the_threshold() {
    let (a, b, c) = (AgeFixture::new(), AgeFixture::new(), AgeFixture::new());
    let data_key = [9u8; 32];
    // Shares of a degree-1 polynomial at x = 1, 2, 3 (coefficient 0x5a for every byte).
    let share = |x: u8| {
        let mut part: Vec<u8> = data_key
            .iter()
            .map(|&s| s ^ super::shamir::mult(0x5a, x))
            .collect();
        part.push(x);
        part
    };
    let group = |f: &AgeFixture, x: u8| {
        format!(
            "        - age:\n            - recipient: {}\n              enc: |\n{}",
            f.identity.to_public(),
            block(
                &wrap_for_age(&share(x), &f.identity.to_public()),
                "                "
            )
        )
    };
    let value = encrypt("s3cret", "str", &data_key, "key:");
    let mac = mac(&data_key, &["s3cret"], false);
    let file = format!(
        "key: {value}\nsops:\n    shamir_threshold: 2\n    key_groups:\n{}{}{}    lastmodified: \"{LAST_MODIFIED}\"\n    mac: {mac}\n    version: 3.10.2\n",
        group(&a, 1),
        group(&b, 2),
        group(&c, 3)
    );
    // Two of three groups suffice.
    let mut keys = a.keys();
    let text = secrecy_text(&c.identity);
    keys.add_age_identities("c.txt", &text).unwrap();
    let plain = decrypt(file.as_bytes(), Format::Yaml, &keys).unwrap();
    assert_eq!(plain.data_key(), &data_key);
    assert_eq!(plain.plaintext_values(), ["s3cret"]);
    // One is not enough, and the message says which groups failed.
    let err = decrypt(file.as_bytes(), Format::Yaml, &b.keys()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("(key group 1 of 3, threshold 2)"), "{text}");
    assert!(text.contains("(key group 3 of 3, threshold 2)"), "{text}");
}

#[test]
fn json_dotenv_and_binary_stores() {
    let f = AgeFixture::new();
    let recipient = f.identity.to_public();
    let wrapped = wrap_for_age(&f.data_key, &recipient);
    let json = format!(
        "{{\n\t\"user\": \"{}\",\n\t\"n\": \"{}\",\n\t\"sops\": {{\n\t\t\"age\": [{{\"recipient\": \"{recipient}\", \"enc\": {}}}],\n\t\t\"lastmodified\": \"{LAST_MODIFIED}\",\n\t\t\"mac\": \"{}\",\n\t\t\"version\": \"3.10.2\"\n\t}}\n}}\n",
        f.enc("admin", "str", "user:"),
        f.enc("7", "int", "n:"),
        serde_json::to_string(&wrapped).unwrap(),
        mac(&f.data_key, &["admin", "7"], false)
    );
    let plain = decrypt(json.as_bytes(), Format::Json, &f.keys()).unwrap();
    assert_eq!(
        plain.emit(Format::Json).unwrap(),
        b"{\n\t\"user\": \"admin\",\n\t\"n\": 7\n}\n"
    );
    // go-yaml v3 quotes YAML 1.1 booleans, keys included: `n` is one.
    assert_eq!(
        plain.emit(Format::Yaml).unwrap(),
        b"user: admin\n\"n\": 7\n"
    );

    let dotenv = format!(
        "#{}\nUSER={}\nsops_age__list_0__map_enc={}\nsops_age__list_0__map_recipient={recipient}\nsops_lastmodified={LAST_MODIFIED}\nsops_mac={}\nsops_version=3.10.2\n",
        f.enc(" the login", "comment", ":"),
        f.enc("admin\nroot", "str", "USER:"),
        wrapped.replace('\n', "\\n"),
        mac(&f.data_key, &["admin\nroot"], false)
    );
    let plain = decrypt(dotenv.as_bytes(), Format::Dotenv, &f.keys()).unwrap();
    assert_eq!(
        plain.emit(Format::Dotenv).unwrap(),
        b"# the login\nUSER=admin\\nroot\n"
    );

    let binary = format!(
        "{{\n\t\"data\": \"{}\",\n\t\"sops\": {{\n\t\t\"age\": [{{\"recipient\": \"{recipient}\", \"enc\": {}}}],\n\t\t\"lastmodified\": \"{LAST_MODIFIED}\",\n\t\t\"mac\": \"{}\",\n\t\t\"version\": \"3.10.2\"\n\t}}\n}}\n",
        f.enc("raw bytes\n", "str", "data:"),
        serde_json::to_string(&wrapped).unwrap(),
        mac(&f.data_key, &["raw bytes\n"], false)
    );
    let plain = decrypt(binary.as_bytes(), Format::Binary, &f.keys()).unwrap();
    assert_eq!(plain.emit(Format::Binary).unwrap(), b"raw bytes\n");

    // A binary file that is not UTF-8 keeps its bytes (and its MAC): raw as binary,
    // `!!binary` in YAML.
    let raw: &[u8] = &[0xff, 0x00, 0xfe, b'k'];
    let mut hash = Sha512::new();
    hash.update(raw);
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02X}")).collect();
    let binary = format!(
        "{{\n\t\"data\": \"{}\",\n\t\"sops\": {{\n\t\t\"age\": [{{\"recipient\": \"{recipient}\", \"enc\": {}}}],\n\t\t\"lastmodified\": \"{LAST_MODIFIED}\",\n\t\t\"mac\": \"{}\",\n\t\t\"version\": \"3.10.2\"\n\t}}\n}}\n",
        f.enc(raw, "str", "data:"),
        serde_json::to_string(&wrapped).unwrap(),
        f.enc(hex, "str", LAST_MODIFIED)
    );
    let plain = decrypt(binary.as_bytes(), Format::Binary, &f.keys()).unwrap();
    assert_eq!(plain.emit(Format::Binary).unwrap(), raw);
    assert_eq!(
        plain.emit(Format::Yaml).unwrap(),
        b"data: !!binary /wD+aw==\n"
    );

    // INI: a section comment (path `db:`), values under `section:key:`, the metadata
    // flattened in `[sops]` with its line breaks escaped.
    let ini = format!(
        "; {}\n[db]\nuser = {}\npass_unencrypted = open\n\n[sops]\nage__list_0__map_enc = {}\nage__list_0__map_recipient = {recipient}\nlastmodified = {LAST_MODIFIED}\nmac = {}\n",
        f.enc("credentials", "comment", "db:"),
        f.enc("admin", "str", "db:user:"),
        wrapped.replace('\n', "\\n"),
        mac(&f.data_key, &["admin", "open"], false)
    );
    let plain = decrypt(ini.as_bytes(), Format::Ini, &f.keys()).unwrap();
    assert_eq!(
        plain.emit(Format::Ini).unwrap(),
        b"; credentials\n[db]\nuser             = admin\npass_unencrypted = open\n"
    );
}

#[test]
fn encrypted_regex_with_mac_only_encrypted() {
    let f = AgeFixture::new();
    let body = format!(
        "kind: Secret\nstringData:\n    token: {}\n",
        f.enc("t0k3n", "str", "stringData:token:")
    );
    let extra = "    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n";
    let file = format!(
        "{body}{}",
        f.yaml_metadata(&mac(&f.data_key, &["t0k3n"], true), extra)
    );
    let plain = decrypt(file.as_bytes(), Format::Yaml, &f.keys()).unwrap();
    assert_eq!(
        plain.emit(Format::Yaml).unwrap(),
        b"kind: Secret\nstringData:\n    token: t0k3n\n"
    );
    // The MAC covers only encrypted values: the plain `kind` may change.
    let changed = file.replace("kind: Secret", "kind: ConfigMap");
    assert!(decrypt(changed.as_bytes(), Format::Yaml, &f.keys()).is_ok());
    // Without mac_only_encrypted the same MAC no longer matches.
    let strict = file.replace("    mac_only_encrypted: true\n", "");
    assert!(matches!(
        decrypt(strict.as_bytes(), Format::Yaml, &f.keys()),
        Err(Error::MacMismatch { .. })
    ));
}

#[test]
fn files_without_or_with_broken_metadata() {
    let keys = Keys::new();
    assert!(matches!(
        decrypt(b"a: 1\n", Format::Yaml, &keys),
        Err(Error::NotEncrypted)
    ));
    assert!(matches!(
        decrypt(b"A=1\n", Format::Dotenv, &keys),
        Err(Error::NotEncrypted)
    ));
    let no_time = "a: 1\nsops:\n    mac: x\n    age: []\n";
    assert!(matches!(
        decrypt(no_time.as_bytes(), Format::Yaml, &keys),
        Err(Error::Metadata(_))
    ));
    let two_rules = "a: 1\nsops:\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    encrypted_regex: x\n    unencrypted_suffix: _u\n    age:\n        - recipient: age1x\n          enc: x\n";
    let err = decrypt(two_rules.as_bytes(), Format::Yaml, &keys).unwrap_err();
    assert!(
        err.to_string().contains("Cannot use more than one of"),
        "{err}"
    );
    assert!(matches!(
        decrypt(b"[1, 2]", Format::Json, &keys),
        Err(Error::Syntax { .. })
    ));
}

#[test]
fn unusable_key_sources_are_named() {
    let mut keys = Keys::new();
    let err = keys
        .add_age_identities("k.txt", "# c\nssh-ed25519 AAAA x\n")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot use the key from k.txt line 2: SSH identities are not supported: crunch reads age X25519 identities (AGE-SECRET-KEY-1…)"
    );
    assert!(
        keys.add_age_identities("k.txt", "AGE-SECRET-KEY-1NOTAKEY\n")
            .is_err()
    );
    assert!(keys.add_pgp_keyring("ring.asc", b"not a keyring").is_err());
    assert!(keys.is_empty());
}

#[test]
fn formats_by_path_and_marker() {
    assert_eq!(Format::for_path("a/b.yml"), Format::Yaml);
    assert_eq!(Format::for_path("a/.env"), Format::Dotenv);
    assert_eq!(Format::for_path("x.ini"), Format::Ini);
    assert_eq!(Format::for_path("config.txt"), Format::Binary);
    // Suffixes, case-sensitive, as SOPS's FormatForPath tests them.
    assert_eq!(Format::for_path("x.YAML"), Format::Binary);
    assert_eq!(Format::for_path("plain.env"), Format::Dotenv);
    assert_eq!(Format::for_path("auth/.dockerconfigjson"), Format::Json);
    assert_eq!(
        Format::detect(b"K=v\nsops_mac=ENC[x]"),
        Some(Format::Dotenv)
    );
    assert_eq!(
        Format::detect(b"{\"sops\": {\"mac\": \"ENC[x]\"}}"),
        Some(Format::Json)
    );
    assert_eq!(
        Format::detect(b"a: b\nsops:\n    mac: ENC[x]\n"),
        Some(Format::Yaml)
    );
    assert_eq!(
        Format::detect(b"note: '[sops]'\nsops:\n    mac: ENC[x]\n"),
        Some(Format::Yaml)
    );
    assert_eq!(Format::Binary.marker(), Format::Json.marker());
    assert_eq!(Format::detect(b"[sops]\nmac = x"), Some(Format::Ini));
    assert_eq!(Format::detect(b"plain: text"), None);
}

mod never_panics {
    use proptest::prelude::*;

    use crate::{Format, Keys, decrypt};

    proptest! {
        #[test]
        fn on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            for format in [Format::Yaml, Format::Json, Format::Dotenv, Format::Binary, Format::Ini] {
                let _ = decrypt(&bytes, format, &Keys::new());
            }
        }

        #[test]
        fn on_sops_shaped_text(
            key in "[a-z_]{1,8}",
            value in "(ENC\\[AES256_GCM,data:[A-Za-z0-9+/=]{0,8},iv:[A-Za-z0-9+/=]{0,8},tag:[A-Za-z0-9+/=]{0,8},type:[a-z]{0,7}\\]|[ -~]{0,12})",
            threshold in "[0-9a-z]{0,3}",
            time in "[0-9TZ:+-]{0,25}",
        ) {
            let text = format!("{key}: {value}\nsops:\n    shamir_threshold: {threshold}\n    lastmodified: \"{time}\"\n    mac: {value}\n    age:\n        - recipient: age1x\n          enc: {value}\n");
            let _ = decrypt(text.as_bytes(), Format::Yaml, &Keys::new());
            let env = format!("{key}={value}\nsops_lastmodified={time}\nsops_mac={value}\nsops_age__list_{threshold}__map_enc={value}\n");
            let _ = decrypt(env.as_bytes(), Format::Dotenv, &Keys::new());
        }
    }
}

/// A throwaway GnuPG home (the machine's `gpg`, which the crunch machines carry), its
/// agent stopped and the directory removed when dropped.
struct GnupgHome {
    dir: std::path::PathBuf,
}

impl GnupgHome {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("crunch-sops-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        GnupgHome { dir }
    }

    fn gpg(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        use std::process::{Command, Stdio};
        let mut child = Command::new("gpg")
            .arg("--homedir")
            .arg(&self.dir)
            .args(["--batch", "--quiet", "--pinentry-mode", "loopback"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gpg is part of the crunch machines (tools/test relies on it)");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A new key (Ed25519 with a Curve25519 subkey) and its fingerprint.
    fn generate(&self, passphrase: &str) -> String {
        self.gpg(
            &[
                "--passphrase",
                passphrase,
                "--quick-gen-key",
                "crunch test <test@example.com>",
                "future-default",
                "default",
                "never",
            ],
            b"",
        );
        let listing =
            String::from_utf8(self.gpg(&["--with-colons", "--list-secret-keys"], b"")).unwrap();
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:::::::::"))
            .map(|f| f.trim_end_matches(':').to_owned())
            .unwrap()
    }
}

impl Drop for GnupgHome {
    fn drop(&mut self) {
        let _ = std::process::Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.dir)
            .args(["--kill", "gpg-agent"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn pgp_data_keys_open_with_a_keyring_and_with_a_gnupg_home() {
    let home = GnupgHome::new("pgp");
    let fingerprint = home.generate("");
    let data_key = [5u8; 32];
    let armored = String::from_utf8(home.gpg(
        &[
            "--trust-model",
            "always",
            "--armor",
            "--encrypt",
            "-r",
            &fingerprint,
        ],
        &data_key,
    ))
    .unwrap();
    let file = format!(
        "token: {}\nsops:\n    lastmodified: \"{LAST_MODIFIED}\"\n    mac: {}\n    pgp:\n        - created_at: \"{LAST_MODIFIED}\"\n          enc: |\n{}          fp: {fingerprint}\n    version: 3.10.2\n",
        encrypt("t0k3n", "str", &data_key, "token:"),
        mac(&data_key, &["t0k3n"], false),
        block(&armored, "            ")
    );

    let mut gnupg = Keys::new();
    gnupg.add_gnupg_home("GNUPGHOME", &home.dir, "gpg");
    let plain = decrypt(file.as_bytes(), Format::Yaml, &gnupg).unwrap();
    assert_eq!(plain.plaintext_values(), ["t0k3n"]);

    let secret = home.gpg(
        &[
            "--passphrase",
            "",
            "--armor",
            "--export-secret-keys",
            &fingerprint,
        ],
        b"",
    );
    let mut keyring = Keys::new();
    assert_eq!(keyring.add_pgp_keyring("secret.asc", &secret).unwrap(), 1);
    let plain = decrypt(file.as_bytes(), Format::Yaml, &keyring).unwrap();
    assert_eq!(plain.emit(Format::Yaml).unwrap(), b"token: t0k3n\n");

    let err = decrypt(file.as_bytes(), Format::Yaml, &Keys::new()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("encrypted for PGP 0x{fingerprint}")),
        "{err}"
    );
}

#[test]
fn passphrase_protected_pgp_keys_are_refused_by_name() {
    let home = GnupgHome::new("locked");
    let fingerprint = home.generate("s3cret");
    let secret = home.gpg(
        &[
            "--passphrase",
            "s3cret",
            "--armor",
            "--export-secret-keys",
            &fingerprint,
        ],
        b"",
    );
    let err = Keys::new()
        .add_pgp_keyring("locked.asc", &secret)
        .unwrap_err();
    assert!(
        err.to_string().contains("protected by a passphrase"),
        "{err}"
    );
}

#[test]
fn timestamps_are_go_times() {
    // go-yaml v3 decodes a plain timestamp into a time.Time: SOPS encrypts it with type
    // `time` (its MarshalText form) and hashes that form for the MAC, also when it stays
    // plain; printed plain in YAML, quoted in JSON, to the second in dotenv.
    let f = AgeFixture::new();
    let body = format!(
        "at: {}\nseen_unencrypted: 2024-02-03 04:05:06.5\n",
        f.enc("2024-01-01T00:00:00Z", "time", "at:")
    );
    let mac = mac(
        &f.data_key,
        &["2024-01-01T00:00:00Z", "2024-02-03T04:05:06.5Z"],
        false,
    );
    let file = format!("{body}{}", f.yaml_metadata(&mac, ""));
    let plain = decrypt(file.as_bytes(), Format::Yaml, &f.keys()).unwrap();
    assert_eq!(
        plain.emit(Format::Yaml).unwrap(),
        b"at: 2024-01-01T00:00:00Z\nseen_unencrypted: 2024-02-03T04:05:06.5Z\n"
    );
    assert_eq!(
        plain.emit(Format::Json).unwrap(),
        b"{\n\t\"at\": \"2024-01-01T00:00:00Z\",\n\t\"seen_unencrypted\": \"2024-02-03T04:05:06.5Z\"\n}\n"
    );
    assert_eq!(
        plain.emit(Format::Dotenv).unwrap(),
        b"at=2024-01-01T00:00:00Z\nseen_unencrypted=2024-02-03T04:05:06Z\n"
    );
}
