//! Sprig v3's functions, as Helm v4 installs them (`env` and `expandenv` removed).

mod case;
mod conv;
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
    crypto::install(m);
}
