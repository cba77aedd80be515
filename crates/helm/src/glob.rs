//! The two glob dialects charts meet: Go's `path/filepath.Match` (`.helmignore`) and
//! `gobwas/glob` with `/` as separator (`.Files.Glob`).

/// One element of a compiled pattern.
#[derive(Debug, Clone)]
enum Token {
    Literal(char),
    /// `?`: any one character except `/`.
    AnyChar,
    /// `*`: any run of characters without `/`.
    Star,
    /// `**` (gobwas only): any run of characters.
    SuperStar,
    /// `[…]`: one character in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `{a,b}` (gobwas only): one of the alternatives.
    Alternatives(Vec<Vec<Token>>),
}

/// A compiled glob pattern.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
}

/// Which syntax a pattern is written in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    GoFilepath,
    Gobwas,
}

impl Glob {
    /// Compiles a `path/filepath.Match` pattern; `Err` is Go's `syntax error in pattern`.
    pub(crate) fn go_filepath(pattern: &str) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let tokens = parse(&chars, &mut pos, Dialect::GoFilepath, false)?;
        Ok(Glob { tokens })
    }

    /// Compiles a `gobwas/glob` pattern with `/` as the separator.
    pub(crate) fn gobwas(pattern: &str) -> Result<Glob, String> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pos = 0;
        let tokens = parse(&chars, &mut pos, Dialect::Gobwas, false)?;
        if pos != chars.len() {
            return Err(format!("unexpected '{}'", chars[pos]));
        }
        Ok(Glob { tokens })
    }

    /// True if the whole of `name` matches.
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        match_tokens(&self.tokens, &name)
    }
}

const SYNTAX_ERROR: &str = "syntax error in pattern";

/// Parses until the end of input or, inside `{…}`, until `,` or `}` (left unconsumed).
fn parse(
    chars: &[char],
    pos: &mut usize,
    dialect: Dialect,
    in_braces: bool,
) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    while let Some(&c) = chars.get(*pos) {
        match c {
            ',' | '}' if in_braces => return Ok(tokens),
            '*' => {
                *pos += 1;
                if dialect == Dialect::Gobwas && chars.get(*pos) == Some(&'*') {
                    *pos += 1;
                    tokens.push(Token::SuperStar);
                } else {
                    tokens.push(Token::Star);
                }
            }
            '?' => {
                *pos += 1;
                tokens.push(Token::AnyChar);
            }
            '[' => {
                *pos += 1;
                tokens.push(parse_class(chars, pos, dialect)?);
            }
            '{' if dialect == Dialect::Gobwas => {
                *pos += 1;
                let mut alternatives = Vec::new();
                loop {
                    alternatives.push(parse(chars, pos, dialect, true)?);
                    match chars.get(*pos) {
                        Some(',') => *pos += 1,
                        Some('}') => {
                            *pos += 1;
                            break;
                        }
                        _ => return Err("unexpected end of input".into()),
                    }
                }
                tokens.push(Token::Alternatives(alternatives));
            }
            '\\' => {
                *pos += 1;
                let escaped = chars.get(*pos).ok_or(SYNTAX_ERROR)?;
                *pos += 1;
                tokens.push(Token::Literal(*escaped));
            }
            _ => {
                *pos += 1;
                tokens.push(Token::Literal(c));
            }
        }
    }
    Ok(tokens)
}

/// Parses a character class after its `[`.
fn parse_class(chars: &[char], pos: &mut usize, dialect: Dialect) -> Result<Token, String> {
    let negation = match dialect {
        Dialect::GoFilepath => '^',
        Dialect::Gobwas => '!',
    };
    let negated = chars.get(*pos) == Some(&negation);
    if negated {
        *pos += 1;
    }
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(*pos).ok_or(SYNTAX_ERROR)?;
        if c == ']' && !ranges.is_empty() {
            *pos += 1;
            return Ok(Token::Class { negated, ranges });
        }
        if c == ']' && dialect == Dialect::GoFilepath {
            return Err(SYNTAX_ERROR.into());
        }
        let lo = class_char(chars, pos)?;
        let hi = if chars.get(*pos) == Some(&'-') && chars.get(*pos + 1) != Some(&']') {
            *pos += 1;
            class_char(chars, pos)?
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
}

fn class_char(chars: &[char], pos: &mut usize) -> Result<char, String> {
    let mut c = *chars.get(*pos).ok_or(SYNTAX_ERROR)?;
    if c == '\\' {
        *pos += 1;
        c = *chars.get(*pos).ok_or(SYNTAX_ERROR)?;
    }
    *pos += 1;
    Ok(c)
}

fn match_tokens(tokens: &[Token], name: &[char]) -> bool {
    let Some((first, rest)) = tokens.split_first() else {
        return name.is_empty();
    };
    match first {
        Token::Literal(c) => name.first() == Some(c) && match_tokens(rest, &name[1..]),
        Token::AnyChar => name.first().is_some_and(|&c| c != '/') && match_tokens(rest, &name[1..]),
        Token::Class { negated, ranges } => name.first().is_some_and(|&c| {
            let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
            inside != *negated && match_tokens(rest, &name[1..])
        }),
        Token::Star => {
            let limit = name.iter().position(|&c| c == '/').unwrap_or(name.len());
            (0..=limit).any(|skip| match_tokens(rest, &name[skip..]))
        }
        Token::SuperStar => (0..=name.len()).any(|skip| match_tokens(rest, &name[skip..])),
        Token::Alternatives(alternatives) => alternatives.iter().any(|alt| {
            let joined: Vec<Token> = alt.iter().chain(rest).cloned().collect();
            match_tokens(&joined, name)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn go_filepath_semantics() {
        let g = |p: &str, n: &str| Glob::go_filepath(p).is_ok_and(|g| g.matches(n));
        assert!(g("*.txt", "a.txt"));
        assert!(!g("*.txt", "d/a.txt"));
        assert!(g("templates/.?*", "templates/.hidden"));
        assert!(g("[a-c]x", "bx"));
        assert!(g("[^a-c]x", "dx"));
        assert!(Glob::go_filepath("[").is_err());
        assert!(Glob::go_filepath("a\\").is_err());
    }

    #[test]
    fn gobwas_semantics() {
        let g = |p: &str, n: &str| Glob::gobwas(p).is_ok_and(|g| g.matches(n));
        assert!(g("files/*", "files/a.txt"));
        assert!(!g("files/*", "files/d/a.txt"));
        assert!(g("files/**", "files/d/a.txt"));
        assert!(g("**.yaml", "a/b.yaml"));
        assert!(g("files/{a,b}.txt", "files/b.txt"));
        assert!(g("[!x]y", "ay"));
        assert!(Glob::gobwas("{a,b").is_err());
    }
}
