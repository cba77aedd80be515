//! Characters saphyr would read differently from go-yaml, swapped for placeholders before
//! parsing and swapped back in scalar values. A placeholder is a Unicode noncharacter that
//! does not occur in the input, which saphyr takes for an ordinary character and real
//! documents never contain, so the swap is undone without ambiguity and every position
//! (one character for one character) holds.

/// The placeholders in use for one text, each with the character it stands for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Placeholders {
    pairs: [Option<(char, char)>; 2],
}

impl Placeholders {
    /// A placeholder for `original` that occurs neither in `text` nor among those in use;
    /// `None` when all are taken (the caller then leaves `original` alone).
    pub(crate) fn add(&mut self, text: &str, original: char) -> Option<char> {
        let slot = self.pairs.iter().position(Option::is_none)?;
        let taken = |c: char| text.contains(c) || self.pairs.iter().flatten().any(|&(p, _)| p == c);
        let placeholder = ('\u{fdd0}'..='\u{fdef}').find(|&c| !taken(c))?;
        self.pairs[slot] = Some((placeholder, original));
        Some(placeholder)
    }

    /// `value` with every placeholder turned back into its character.
    pub(crate) fn restore(&self, value: String) -> String {
        let mut value = value;
        for &(placeholder, original) in self.pairs.iter().flatten() {
            if value.contains(placeholder) {
                value = value.replace(placeholder, original.encode_utf8(&mut [0; 4]));
            }
        }
        value
    }
}
