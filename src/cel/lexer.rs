//! Tokenizer for CEL source text.
//!
//! Literal values are decoded here (escapes, radix, raw and triple-quoted
//! strings), so the parser only deals with structure.

use super::CompileError;

/// One lexical token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// Integer digits as written; range checks happen in the parser because a
    /// leading minus sign may still apply.
    Int(u64),
    Uint(u64),
    Double(f64),
    Str(String),
    Bytes(Vec<u8>),
    Ident(String),
    True,
    False,
    Null,
    In,
    /// Punctuation and operators, spelled as in the source.
    Punct(&'static str),
    Eof,
}

impl Tok {
    /// The token as the syntax error messages quote it.
    pub(super) fn describe(&self, src: &str) -> String {
        match self {
            Tok::Eof => "<EOF>".to_string(),
            _ => src.to_string(),
        }
    }
}

/// A token with the byte span it came from.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) start: usize,
    pub(super) end: usize,
}

const PUNCT: &[&str] = &[
    "==", "!=", "<=", ">=", "&&", "||", ".?", "[?", "(", ")", "[", "]", "{", "}", ".", ",", ":",
    "?", "!", "-", "+", "*", "/", "%", "<", ">",
];

/// Words the grammar reserves; they may not be used as identifiers.
pub(super) const RESERVED: &[&str] = &[
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, CompileError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        // String and bytes literals, with optional r/b prefixes in either order.
        let mut j = i;
        let (mut raw, mut bytes) = (false, false);
        while j < b.len() && j - i < 2 {
            match b[j] {
                b'r' | b'R' if !raw => raw = true,
                b'b' | b'B' if !bytes => bytes = true,
                _ => break,
            }
            j += 1;
        }
        if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
            let (tok, end) = lex_string(src, start, j, raw, bytes)?;
            out.push(Token { tok, start, end });
            i = end;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (tok, end) = lex_number(src, i)?;
            out.push(Token { tok, start, end });
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &src[start..i];
            let tok = match word {
                "true" => Tok::True,
                "false" => Tok::False,
                "null" => Tok::Null,
                "in" => Tok::In,
                w if RESERVED.contains(&w) => {
                    return Err(CompileError::syntax(
                        start,
                        format!("reserved identifier: {w}"),
                    ));
                }
                w => Tok::Ident(w.to_string()),
            };
            out.push(Token { tok, start, end: i });
            continue;
        }
        if let Some(p) = PUNCT.iter().find(|p| src[i..].starts_with(**p)) {
            i += p.len();
            out.push(Token {
                tok: Tok::Punct(p),
                start,
                end: i,
            });
            continue;
        }
        let ch = src[i..].chars().next().unwrap_or('?');
        return Err(CompileError::syntax(
            start,
            format!("token recognition error at: '{ch}'"),
        ));
    }
    out.push(Token {
        tok: Tok::Eof,
        start: src.len(),
        end: src.len(),
    });
    Ok(out)
}

fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), CompileError> {
    let b = src.as_bytes();
    let mut i = start;
    let bad = |msg: &str| CompileError::syntax(start, msg.to_string());
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        let ds = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        let v = u64::from_str_radix(&src[ds..i], 16).map_err(|_| bad("invalid int literal"))?;
        return Ok(finish_int(b, i, v));
    }
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_double = false;
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        is_double = true;
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut k = i + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            is_double = true;
            i = k;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    if is_double {
        let v: f64 = src[start..i]
            .parse()
            .map_err(|_| bad("invalid double literal"))?;
        return Ok((Tok::Double(v), i));
    }
    let v: u64 = src[start..i]
        .parse()
        .map_err(|_| bad("invalid int literal"))?;
    Ok(finish_int(b, i, v))
}

fn finish_int(b: &[u8], i: usize, v: u64) -> (Tok, usize) {
    if i < b.len() && (b[i] == b'u' || b[i] == b'U') {
        (Tok::Uint(v), i + 1)
    } else {
        (Tok::Int(v), i)
    }
}

/// Lexes a quoted literal whose opening quote is at `q`.
fn lex_string(
    src: &str,
    start: usize,
    q: usize,
    raw: bool,
    bytes: bool,
) -> Result<(Tok, usize), CompileError> {
    let b = src.as_bytes();
    let quote = b[q];
    let triple = b.get(q + 1) == Some(&quote) && b.get(q + 2) == Some(&quote);
    let delim_len = if triple { 3 } else { 1 };
    let mut i = q + delim_len;
    let mut buf: Vec<u8> = Vec::new();
    let unterminated = || {
        CompileError::syntax(
            start,
            format!("token recognition error at: '{}'", &src[start..]),
        )
    };
    loop {
        if i >= b.len() {
            return Err(unterminated());
        }
        let c = b[i];
        if c == quote && (!triple || (b.get(i + 1) == Some(&quote) && b.get(i + 2) == Some(&quote)))
        {
            i += delim_len;
            break;
        }
        if !triple && (c == b'\n' || c == b'\r') {
            return Err(unterminated());
        }
        if c == b'\\' && !raw {
            let (n, consumed) = unescape(src, i, bytes)?;
            buf.extend_from_slice(&n);
            i += consumed;
            continue;
        }
        if c == b'\\' && raw && b.get(i + 1) == Some(&quote) && !triple {
            // In a raw single-line string an escaped quote still does not end it.
            buf.extend_from_slice(&[b'\\', quote]);
            i += 2;
            continue;
        }
        buf.push(c);
        i += 1;
    }
    if bytes {
        return Ok((Tok::Bytes(buf), i));
    }
    match String::from_utf8(buf) {
        Ok(s) => Ok((Tok::Str(s), i)),
        Err(_) => Err(CompileError::syntax(
            start,
            "invalid utf-8 in string literal".into(),
        )),
    }
}

/// Decodes the escape at `i`; returns its bytes and the source length consumed.
fn unescape(src: &str, i: usize, bytes: bool) -> Result<(Vec<u8>, usize), CompileError> {
    let b = src.as_bytes();
    let bad = || {
        CompileError::syntax(
            i,
            format!(
                "token recognition error at: '{}'",
                src[i..].chars().take(2).collect::<String>()
            ),
        )
    };
    let Some(&e) = b.get(i + 1) else {
        return Err(bad());
    };
    let simple = |c: u8| Ok((vec![c], 2));
    match e {
        b'a' => simple(7),
        b'b' => simple(8),
        b'f' => simple(12),
        b'n' => simple(b'\n'),
        b'r' => simple(b'\r'),
        b't' => simple(b'\t'),
        b'v' => simple(11),
        b'\\' | b'\'' | b'"' | b'`' | b'?' => simple(e),
        b'x' | b'X' | b'u' | b'U' => {
            let n = match e {
                b'x' | b'X' => 2,
                b'u' => 4,
                _ => 8,
            };
            let hex = src.get(i + 2..i + 2 + n).ok_or_else(bad)?;
            let v = u32::from_str_radix(hex, 16).map_err(|_| bad())?;
            Ok((code_unit(v, bytes && n == 2).ok_or_else(bad)?, 2 + n))
        }
        b'0'..=b'3' => {
            let oct = src.get(i + 1..i + 4).ok_or_else(bad)?;
            let v = u32::from_str_radix(oct, 8).map_err(|_| bad())?;
            Ok((code_unit(v, bytes).ok_or_else(bad)?, 4))
        }
        _ => Err(bad()),
    }
}

/// A numeric escape is a raw byte in bytes literals and a code point in strings.
fn code_unit(v: u32, raw_byte: bool) -> Option<Vec<u8>> {
    if raw_byte {
        return u8::try_from(v).ok().map(|b| vec![b]);
    }
    let c = char::from_u32(v)?;
    Some(c.to_string().into_bytes())
}
