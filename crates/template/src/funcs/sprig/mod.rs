//! Sprig v3's functions, as Helm v4 installs them (`env` and `expandenv` removed).

mod case;
mod conv;
#[cfg(feature = "crypto")]
mod crypto;
mod date;
mod dicts;
mod encoding;
mod flow;
mod json;
mod lists;
mod misc;
mod numeric;
mod regex;
mod semver;
mod strings;
mod url;

use super::FuncMap;
#[cfg(not(feature = "crypto"))]
use super::{Signature, Type};

pub(super) fn install(m: &mut FuncMap) {
    strings::install(m);
    lists::install(m);
    dicts::install(m);
    numeric::install(m);
    flow::install(m);
    encoding::install(m);
    regex::install(m);
    semver::install(m);
    json::install(m);
    misc::install(m);
    date::install(m);
    url::install(m);
    #[cfg(feature = "crypto")]
    crypto::install(m);
    #[cfg(not(feature = "crypto"))]
    for name in CRYPTO {
        m.insert(name, Signature::variadic(&[], Type::Any), move |_, _| {
            Err(format!(
                "{name}: crunch-template was built without its `crypto` feature"
            ))
        });
    }
}

/// The functions of the `crypto` feature. Without it they are defined all the same, so
/// a template calling one fails saying why rather than with "function not defined".
#[cfg_attr(feature = "crypto", allow(dead_code))]
const CRYPTO: [&str; 13] = [
    "bcrypt",
    "htpasswd",
    "derivePassword",
    "encryptAES",
    "decryptAES",
    "genPrivateKey",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "buildCustomCert",
];

#[cfg(all(test, feature = "crypto"))]
mod tests {
    use super::*;

    #[test]
    fn the_crypto_list_names_exactly_what_the_feature_installs() {
        let mut installed = FuncMap::new();
        crypto::install(&mut installed);
        for name in CRYPTO {
            assert!(installed.contains(name), "{name} is not a crypto function");
            installed.remove(name);
        }
        assert!(
            installed.is_empty(),
            "crypto::install defines functions CRYPTO does not list"
        );
    }
}

#[cfg(all(test, not(feature = "crypto")))]
mod without_crypto {
    use crate::{FuncMap, Options, Templates, Value};

    #[test]
    fn crypto_functions_fail_naming_the_feature() {
        let mut set = Templates::new("gotpl", FuncMap::sprig(), Options::helm());
        set.parse("t", r#"{{ genPrivateKey "rsa" }}"#).unwrap();
        let error = set.execute("t", Value::Nil).unwrap_err().to_string();
        assert!(
            error.contains("genPrivateKey: crunch-template was built without its `crypto` feature"),
            "{error}"
        );
    }
}
