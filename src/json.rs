//! A small, strict JSON reader for the flat objects of the JSON Lines format (SPEC §1).
//!
//! It reads one object, picks out the fields the event model knows, borrows their strings from
//! the line when they have no escapes, and skips (while validating) every other value, nested or
//! not. It never panics: every malformed input is an `Err` with the byte offset. About five
//! times faster than a general deserializer on ~120-byte event lines, which is what the
//! end-to-end throughput target needs.

use std::borrow::Cow;

/// The known fields of an event line; `None` when absent or `null` (R42).
#[derive(Default)]
pub(crate) struct Fields<'a> {
    pub(crate) kind: Option<Cow<'a, str>>,
    pub(crate) conversation: Option<Cow<'a, str>>,
    pub(crate) at: Option<Cow<'a, str>>,
    pub(crate) id: Option<Cow<'a, str>>,
    pub(crate) author: Option<Cow<'a, str>>,
    pub(crate) visibility: Option<Cow<'a, str>>,
    pub(crate) agent: Option<Cow<'a, str>>,
    pub(crate) team: Option<Cow<'a, str>>,
    pub(crate) channel: Option<Cow<'a, str>>,
    pub(crate) brand: Option<Cow<'a, str>>,
    pub(crate) status: Option<Cow<'a, str>>,
    pub(crate) priority: Option<Cow<'a, str>>,
    pub(crate) reason: Option<Cow<'a, str>>,
    pub(crate) tags: Option<Vec<Cow<'a, str>>>,
    pub(crate) score: Option<i64>,
}

/// Nesting depth beyond which a skipped value is refused (no recursion limit surprises).
const MAX_DEPTH: usize = 64;

struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

type Res<T> = std::result::Result<T, String>;

/// Eight bytes at a time (SWAR): the high bit of every byte of `w` equal to `byte`. Exact up
/// to the lowest match; a byte above a match may be flagged falsely (the borrow), never one
/// below it, so the lowest flag is the first match.
#[inline(always)]
fn bytes_equal(w: u64, byte: u8) -> u64 {
    bytes_below(w ^ (LO * byte as u64), 1)
}

/// The high bit of every byte of `w` below `limit` (at most 0x80), with the same exactness as
/// [`bytes_equal`].
#[inline(always)]
fn bytes_below(w: u64, limit: u8) -> u64 {
    w.wrapping_sub(LO * limit as u64) & !w & 0x8080_8080_8080_8080
}

const LO: u64 = 0x0101_0101_0101_0101;

/// The first `"`, `\\` or control character in `b`, eight bytes at a time (SWAR): the scan of
/// string contents is most of the work of reading a line.
#[inline(always)]
fn find_special(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(&[c0, c1, c2, c3, c4, c5, c6, c7]) = b.get(at..at + 8) {
        let w = u64::from_le_bytes([c0, c1, c2, c3, c4, c5, c6, c7]);
        let hits = bytes_equal(w, b'"') | bytes_equal(w, b'\\') | bytes_below(w, 0x20);
        if hits != 0 {
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    b.get(at..)?
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|p| at + p)
}

impl<'a> Scanner<'a> {
    #[cold]
    #[inline(never)]
    fn err<T>(&self, what: &str) -> Res<T> {
        match self.b.get(self.i) {
            Some(&c) if c.is_ascii_graphic() => {
                Err(format!("{what} at byte {}, found `{}`", self.i + 1, c as char))
            }
            Some(_) => Err(format!("{what} at byte {}", self.i + 1)),
            None => Err(format!(
                "{what} at byte {}, found the end of the line",
                self.i + 1
            )),
        }
    }

    /// Skips white space; one compare when there is none (the usual case: every white-space
    /// byte is below `!`).
    #[inline(always)]
    fn ws(&mut self) {
        if self.b.get(self.i).is_some_and(|&c| c > b' ') {
            return;
        }
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8, what: &str) -> Res<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.err(what)
        }
    }

    /// The common case of [`string`](Self::string), inlined: a string at the current `"`
    /// without escapes or control characters, consumed and borrowed. `None`, consuming nothing,
    /// for anything else (`string` then reads or rejects it).
    #[inline(always)]
    fn plain(&mut self) -> Option<&'a str> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i + 1;
        let rest = self.b.get(start..)?;
        let p = find_special(rest)?;
        if rest[p] != b'"' {
            return None;
        }
        // Both ends are ASCII quotes, so the slice is on character boundaries.
        let s = self.s.get(start..start + p)?;
        self.i = start + p + 1;
        Some(s)
    }

    /// A string starting at the current `"`: borrowed when it has no escapes.
    #[inline]
    fn string(&mut self) -> Res<Cow<'a, str>> {
        self.eat(b'"', "expected a string")?;
        let start = self.i;
        let rest = self.b.get(start..).unwrap_or_default();
        match find_special(rest) {
            Some(p) => {
                self.i = start + p;
                match rest[p] {
                    b'"' => {
                        let s = &self.s[start..self.i];
                        self.i += 1;
                        Ok(Cow::Borrowed(s))
                    }
                    b'\\' => self.escaped_string(start).map(Cow::Owned),
                    _ => self.err("control character in a string"),
                }
            }
            None => {
                self.i = self.b.len();
                self.err("unterminated string")
            }
        }
    }

    /// The rest of a string with escapes, from its first backslash (the current byte); the
    /// plain part before it starts at `start`.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize) -> Res<String> {
        let mut out = String::from(&self.s[start..self.i]);
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.peek();
                    self.i += 1;
                    match c {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => out.push(self.unicode_escape()?),
                        _ => {
                            self.i -= 1;
                            return self.err("invalid escape");
                        }
                    }
                }
                Some(c) if c < 0x20 => return self.err("control character in a string"),
                Some(_) => {
                    // Copy a run of plain characters (char boundaries: the delimiters are ASCII).
                    let from = self.i;
                    while let Some(c) = self.peek() {
                        if c == b'"' || c == b'\\' || c < 0x20 {
                            break;
                        }
                        self.i += 1;
                    }
                    out.push_str(&self.s[from..self.i]);
                }
                None => return self.err("unterminated string"),
            }
        }
    }

    fn hex4(&mut self) -> Res<u32> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| "truncated \\u escape".to_owned())?;
        let v = u32::from_str_radix(digits, 16)
            .map_err(|_| format!("invalid \\u escape at byte {}", self.i + 1))?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return self.err("invalid \\u escape");
        }
        self.i += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Res<char> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                return self.err("unpaired surrogate in \\u escape");
            }
            self.i += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return self.err("unpaired surrogate in \\u escape");
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| format!("invalid \\u escape before byte {}", self.i + 1))
    }

    /// A JSON number; returns its text.
    fn number(&mut self) -> Res<&'a str> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.i += 1;
                }
            }
            _ => return self.err("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            let d = self.i;
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
            if self.i == d {
                return self.err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            let d = self.i;
            while let Some(b'0'..=b'9') = self.peek() {
                self.i += 1;
            }
            if self.i == d {
                return self.err("invalid number");
            }
        }
        Ok(&self.s[start..self.i])
    }

    fn literal(&mut self, word: &[u8]) -> Res<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.err("invalid literal")
        }
    }

    /// `null` (true) or not (false), consuming it.
    fn null(&mut self) -> Res<bool> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Skips any value, validating it.
    fn skip(&mut self, depth: usize) -> Res<()> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.items(b'}', |sc| {
                sc.string()?;
                sc.ws();
                sc.eat(b':', "expected `:`")?;
                sc.ws();
                sc.skip(depth + 1)
            }),
            Some(b'[') => self.items(b']', |sc| sc.skip(depth + 1)),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => self.number().map(drop),
        }
    }

    #[inline(always)]
    fn opt_string(&mut self, field: &str) -> Res<Option<Cow<'a, str>>> {
        match self.plain() {
            Some(s) => Ok(Some(Cow::Borrowed(s))),
            None => self.opt_string_slow(field),
        }
    }

    /// [`opt_string`](Self::opt_string) for `null`, escapes and errors.
    #[inline(never)]
    fn opt_string_slow(&mut self, field: &str) -> Res<Option<Cow<'a, str>>> {
        if self.null()? {
            return Ok(None);
        }
        if self.peek() != Some(b'"') {
            return Err(format!("field `{field}` must be a string"));
        }
        self.string().map(Some)
    }

    fn opt_strings(&mut self, field: &str) -> Res<Option<Vec<Cow<'a, str>>>> {
        if self.null()? {
            return Ok(None);
        }
        if self.peek() != Some(b'[') {
            return Err(format!("field `{field}` must be a list of strings"));
        }
        let mut out = Vec::new();
        self.items(b']', |sc| {
            if sc.peek() != Some(b'"') {
                return Err(format!("field `{field}` must be a list of strings"));
            }
            out.push(sc.string()?);
            Ok(())
        })?;
        Ok(Some(out))
    }

    /// The items of an object or array whose opening bracket is the current byte, each read by
    /// `item` (which starts at the item, after white space), up to the `close` bracket.
    fn items(&mut self, close: u8, mut item: impl FnMut(&mut Self) -> Res<()>) -> Res<()> {
        self.i += 1;
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            item(self)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(());
                }
                _ => {
                    return self.err(if close == b'}' {
                        "expected `,` or `}`"
                    } else {
                        "expected `,` or `]`"
                    })
                }
            }
        }
    }

    fn opt_integer(&mut self, field: &str) -> Res<Option<i64>> {
        if self.null()? {
            return Ok(None);
        }
        if !matches!(self.peek(), Some(b'-' | b'0'..=b'9')) {
            return Err(format!("field `{field}` must be a whole number"));
        }
        let text = self.number()?;
        text.parse::<i64>()
            .map(Some)
            .map_err(|_| format!("field `{field}` must be a whole number, found {text}"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Type,
    Conversation,
    At,
    Id,
    Author,
    Visibility,
    Agent,
    Team,
    Channel,
    Brand,
    Status,
    Priority,
    Reason,
    Tags,
    Score,
    Unknown,
}

/// The known field whose name, closing quote and colon (`at":`) begin `rest` (a plain line
/// after a key's opening quote), and how many bytes that takes; `None` for any other key, or
/// one not followed at once by its colon. A jump on the first byte, then a compare of a few
/// bytes against each name starting with it: no search for the closing quote.
#[inline]
fn known_key(rest: &[u8]) -> Option<(Field, usize)> {
    macro_rules! names {
        ($($name:literal => $f:ident),*) => {{
            $(if rest.starts_with(concat!($name, "\":").as_bytes()) {
                return Some((Field::$f, $name.len() + 2));
            })*
            None
        }};
    }
    match rest.first()? {
        b'c' => names!("conversation" => Conversation, "channel" => Channel),
        b'a' => names!("at" => At, "author" => Author, "agent" => Agent),
        b't' => names!("type" => Type, "team" => Team, "tags" => Tags),
        b'i' => names!("id" => Id),
        b's' => names!("status" => Status, "score" => Score),
        b'b' => names!("brand" => Brand),
        b'p' => names!("priority" => Priority),
        b'v' => names!("visibility" => Visibility),
        b'r' => names!("reason" => Reason),
        _ => None,
    }
}

/// Which field the `len` key bytes at `b[start..]` name: a jump on the length, then one or two
/// masked word loads and compares against the names of that length (a chain of string
/// compares cost more than the rest of the line).
#[inline]
fn field_at(b: &[u8], start: usize, len: usize) -> Field {
    // Bytes `from..from + n` (n <= 8) as a little-endian word.
    let word = |from: usize, n: usize| -> u64 {
        let mask = if n >= 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
        match b.get(from..from + 8) {
            Some(c) => u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) & mask,
            None => b
                .get(from..from + n)
                .unwrap_or_default()
                .iter()
                .rev()
                .fold(0u64, |w, &x| (w << 8) | x as u64),
        }
    };
    const fn pack(name: &[u8], from: usize) -> u64 {
        let mut w = 0u64;
        let mut i = 0;
        while i < 8 && from + i < name.len() {
            w |= (name[from + i] as u64) << (8 * i);
            i += 1;
        }
        w
    }
    macro_rules! names {
        ($len:literal: $($name:literal => $f:ident),*) => {{
            let first = word(start, $len.min(8));
            let second = if $len > 8 { word(start + 8, $len - 8) } else { 0 };
            $(if (first, second) == (pack($name, 0), pack($name, 8)) {
                return Field::$f;
            })*
            Field::Unknown
        }};
    }
    match len {
        2 => names!(2: b"at" => At, b"id" => Id),
        4 => names!(4: b"type" => Type, b"team" => Team, b"tags" => Tags),
        5 => names!(5: b"agent" => Agent, b"brand" => Brand, b"score" => Score),
        6 => names!(6: b"author" => Author, b"status" => Status, b"reason" => Reason),
        7 => names!(7: b"channel" => Channel),
        8 => names!(8: b"priority" => Priority),
        10 => names!(10: b"visibility" => Visibility),
        12 => names!(12: b"conversation" => Conversation),
        _ => Field::Unknown,
    }
}

/// Reads one JSON object line into its known fields. Unknown fields are skipped, `null` is
/// absent; a repeated known field, malformed JSON or trailing text is an error. (The caller has
/// checked that the line is UTF-8: `parse_line`, or a whole chunk of lines at once.)
pub(crate) fn read_object<'a>(s: &'a str, f: &mut Fields<'a>) -> Res<()> {
    if read_plain_object(s, f).is_some() {
        return Ok(());
    }
    *f = Fields::default();
    read_any_object(s, f)
}

/// A JSON integer at the start of `b` (`-?(0|[1-9][0-9]*)`, at most 18 digits, so it fits an
/// `i64`), and its length; `None` for any other number or none.
#[inline]
fn plain_integer(b: &[u8]) -> Option<(i64, usize)> {
    let negative = b.first() == Some(&b'-');
    let digits = &b[usize::from(negative)..];
    let n = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 18 || (n > 1 && digits[0] == b'0') {
        return None;
    }
    if let Some(b'.' | b'e' | b'E') = digits.get(n) {
        return None;
    }
    let v = digits[..n]
        .iter()
        .fold(0i64, |v, &c| v * 10 + i64::from(c - b'0'));
    Some((if negative { -v } else { v }, usize::from(negative) + n))
}

/// The string of `s` whose opening quote is at `i` if it has no escapes or control
/// characters, and the position after its closing quote.
#[inline(always)]
fn plain_string(s: &str, i: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let rest = b.get(i + 1..)?;
    let p = find_special(rest)?;
    if rest[p] != b'"' {
        return None;
    }
    Some((s.get(i + 1..i + 1 + p)?, i + 2 + p))
}

/// The common case of [`read_object`]: an object with no white space outside its strings, no
/// escapes, and only strings, whole numbers, `true`, `false`, `null` or (for `tags`) lists of
/// strings as values, read without the general reader's bookkeeping. `None` for any other
/// line, which [`read_any_object`] then reads or rejects: this path never rejects, it only
/// declines, and where it reads a line the general reader reads the same fields (tested below).
fn read_plain_object<'a>(s: &'a str, f: &mut Fields<'a>) -> Option<()> {
    let b = s.as_bytes();
    let string = |i| plain_string(s, i);
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = 1;
    if b.get(i) == Some(&b'}') {
        return (b.len() == 2).then_some(());
    }
    let mut seen = 0u32;
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let field = match known_key(&b[i + 1..]) {
            Some((field, len)) => {
                i += 1 + len;
                field
            }
            None => {
                let (key, after) = string(i)?;
                if b.get(after) != Some(&b':') {
                    return None;
                }
                let field = field_at(b, i + 1, key.len());
                i = after + 1;
                field
            }
        };
        if !first_time(&mut seen, field) {
            return None;
        }
        let rest = b.get(i..)?;
        let null = rest.starts_with(b"null");
        match field {
            Field::Unknown => {
                i += match rest.first()? {
                    b'"' => string(i)?.1 - i,
                    b'n' if null => 4,
                    b't' if rest.starts_with(b"true") => 4,
                    b'f' if rest.starts_with(b"false") => 5,
                    _ => plain_integer(rest)?.1,
                };
            }
            Field::Score => {
                let (value, len) = if null {
                    (None, 4)
                } else {
                    plain_integer(rest).map(|(v, n)| (Some(v), n))?
                };
                f.score = value;
                i += len;
            }
            Field::Tags => {
                if null {
                    i += 4;
                } else if rest.first() == Some(&b'[') {
                    let mut tags = Vec::new();
                    i += 1;
                    if b.get(i) == Some(&b']') {
                        i += 1;
                    } else {
                        loop {
                            let (tag, after) = string(i)?;
                            tags.push(Cow::Borrowed(tag));
                            i = after + 1;
                            match b.get(after)? {
                                b',' => {}
                                b']' => break,
                                _ => return None,
                            }
                        }
                    }
                    f.tags = Some(tags);
                } else {
                    return None;
                }
            }
            _ => {
                let value = if null {
                    i += 4;
                    None
                } else {
                    let (v, after) = string(i)?;
                    i = after;
                    Some(Cow::Borrowed(v))
                };
                *f.string_field(field)? = value;
            }
        }
        match b.get(i)? {
            b',' => i += 1,
            b'}' => return (i + 1 == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// Notes that `field` was read; `false` if it already was. A known field may come once, `null`
/// or not (as a derived serde reader has it); unknown ones are not tracked.
#[inline]
fn first_time(seen: &mut u32, field: Field) -> bool {
    if field == Field::Unknown {
        return true;
    }
    let bit = 1 << field as u32;
    let first = *seen & bit == 0;
    *seen |= bit;
    first
}

impl<'a> Fields<'a> {
    /// The slot of a field whose value is a string.
    #[inline]
    fn string_field(&mut self, field: Field) -> Option<&mut Option<Cow<'a, str>>> {
        Some(match field {
            Field::Type => &mut self.kind,
            Field::Conversation => &mut self.conversation,
            Field::At => &mut self.at,
            Field::Id => &mut self.id,
            Field::Author => &mut self.author,
            Field::Visibility => &mut self.visibility,
            Field::Agent => &mut self.agent,
            Field::Team => &mut self.team,
            Field::Channel => &mut self.channel,
            Field::Brand => &mut self.brand,
            Field::Status => &mut self.status,
            Field::Priority => &mut self.priority,
            Field::Reason => &mut self.reason,
            Field::Tags | Field::Score | Field::Unknown => return None,
        })
    }
}

/// [`read_object`] for any line: white space, escapes, nested values.
fn read_any_object<'a>(s: &'a str, f: &mut Fields<'a>) -> Res<()> {
    let line = s.as_bytes();
    let mut sc = Scanner { s, b: line, i: 0 };
    let mut seen = 0u32;
    sc.ws();
    sc.eat(b'{', "expected a JSON object")?;
    sc.ws();
    if sc.peek() == Some(b'}') {
        sc.i += 1;
    } else {
        loop {
            sc.ws();
            let key_start = sc.i + 1;
            let key = match sc.plain() {
                Some(k) => Cow::Borrowed(k),
                None => sc.string()?,
            };
            let field = match &key {
                Cow::Borrowed(k) => field_at(line, key_start, k.len()),
                Cow::Owned(k) => field_at(k.as_bytes(), 0, k.len()),
            };
            sc.ws();
            sc.eat(b':', "expected `:`")?;
            sc.ws();
            if !first_time(&mut seen, field) {
                return Err(format!("duplicate field `{key}`"));
            }
            match field {
                Field::Tags => f.tags = sc.opt_strings("tags")?,
                Field::Score => f.score = sc.opt_integer("score")?,
                Field::Unknown => sc.skip(0)?,
                _ => {
                    let value = sc.opt_string(&key)?;
                    if let Some(slot) = f.string_field(field) {
                        *slot = value;
                    }
                }
            }
            sc.ws();
            match sc.peek() {
                Some(b',') => sc.i += 1,
                Some(b'}') => {
                    sc.i += 1;
                    break;
                }
                _ => return sc.err("expected `,` or `}`"),
            }
        }
    }
    sc.ws();
    if sc.i != line.len() {
        return sc.err("trailing characters after the object");
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// [`read_object`] on bytes, which must be UTF-8 (as `parse_line` checks first).
    fn read_line<'a>(line: &'a [u8], f: &mut Fields<'a>) -> Res<()> {
        read_object(std::str::from_utf8(line).map_err(|e| e.to_string())?, f)
    }

    /// Applies `edits` to `data`, each `(at, op, byte)`: at the position `at` (modulo the
    /// length, one past the end included), op 0 replaces the byte there, op 1 inserts `byte`,
    /// any other removes the byte there; one past the end, every op appends `byte`.
    pub(crate) fn damage(data: &mut Vec<u8>, edits: Vec<(usize, u8, u8)>) {
        for (at, op, b) in edits {
            let i = at % (data.len() + 1);
            match op {
                0 if i < data.len() => data[i] = b,
                1 => data.insert(i, b),
                _ if i < data.len() => {
                    data.remove(i);
                }
                _ => data.push(b),
            }
        }
    }

    /// The word-at-a-time scan finds the first special byte (a quote, a backslash or a control
    /// character) as a plain search does: every length up to three words, every position,
    /// bytes next to the special ones in value around it (the borrow may only flag bytes above
    /// the first match).
    #[test]
    fn find_special_agrees_with_a_plain_search() {
        for len in 0..24 {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f] {
                    for fill in [b'!', b'#', b'[', b']', 0x20, 0x7f, 0x80, 0xff] {
                        let mut hay = vec![fill; len];
                        if at < len {
                            hay[at] = special;
                            hay[len - 1] = b'"';
                        }
                        let expected = hay.iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20);
                        assert_eq!(find_special(&hay), expected, "{hay:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn r42_reads_like_a_json_parser() {
        let mut f = Fields::default();
        read_line(br#" {"type":"message","x":{"a":[1,2.5e3,true,null,"\"]"]},"conversation":"c\u00e9\n","tags":["a","b"],"score":4,"id":null} "#, &mut f).unwrap();
        assert_eq!(f.kind.as_deref(), Some("message"));
        assert_eq!(f.conversation.as_deref(), Some("cé\n"));
        assert!(matches!(f.kind, Some(Cow::Borrowed(_))));
        assert_eq!(f.tags.unwrap(), vec!["a", "b"]);
        assert_eq!((f.score, f.id), (Some(4), None));
        for bad in [
            &br#"{"type":"a""#[..],
            br#"{"type":"a"} x"#,
            br#"{"type":1}"#,
            br#"{"type":"a","type":"b"}"#,
            br#"{"id":null,"id":"e1"}"#,
            br#"{"score":4.5}"#,
            br#"{"x":01}"#,
            br#"{"x":"\x"}"#,
            br#"{"x":"\ud800"}"#,
            br#"{"x":tru}"#,
            br#"["a"]"#,
            b"{\"x\":\"a\x01\"}",
            b"{\"x\":\"\xff\"}",
            br#"{"x":[1,]}"#,
            br#"{,}"#,
        ] {
            assert!(
                read_line(bad, &mut Fields::default()).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
        assert!(read_line(deep.as_bytes(), &mut Fields::default()).is_err());
    }

    /// The known fields of a line as a general JSON parser (serde_json) reads them: `Err` when
    /// the line is not one JSON object, repeats a known field or gives one the wrong type.
    /// `None` where the two readers may differ by design: serde_json refuses numbers beyond
    /// `f64` (JSON sets no limit; the reader skips them like any number) and keeps `-0` as a
    /// float for its sign (for the reader it is the whole number 0).
    fn reference(line: &[u8]) -> Option<std::result::Result<Vec<(String, String)>, ()>> {
        match serde_json::from_slice::<serde_json::Value>(line) {
            Err(e) if e.to_string().contains("number out of range") => return None,
            Ok(serde_json::Value::Object(m))
                if m.get("score")
                    .is_some_and(|s| s.as_f64() == Some(0.0) && s.as_i64().is_none()) =>
            {
                return None
            }
            _ => {}
        }
        Some(strict(line))
    }

    fn strict(line: &[u8]) -> std::result::Result<Vec<(String, String)>, ()> {
        use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
        use serde_json::Value;
        /// An object's entries in order, duplicates kept (a `Map` would keep the last only).
        struct Entries(Vec<(String, Value)>);
        impl<'de> Deserialize<'de> for Entries {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Entries;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("an object")
                    }
                    fn visit_map<A: MapAccess<'de>>(
                        self,
                        mut m: A,
                    ) -> std::result::Result<Entries, A::Error> {
                        let mut out = Vec::new();
                        while let Some(e) = m.next_entry::<String, Value>()? {
                            out.push(e);
                        }
                        Ok(Entries(out))
                    }
                }
                d.deserialize_map(V)
            }
        }
        let entries = serde_json::from_slice::<Entries>(line).map_err(drop)?.0;
        let mut known = Vec::new();
        for (key, value) in entries {
            let text = match (key.as_str(), &value) {
                (_, Value::Null) => "null".to_owned(),
                ("tags", Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(|s| format!("{s:?}")).ok_or(()))
                    .collect::<std::result::Result<Vec<_>, ()>>()?
                    .join(","),
                ("tags", _) => return Err(()),
                ("score", Value::Number(n)) => n.as_i64().ok_or(())?.to_string(),
                ("score", _) => return Err(()),
                (k, v) if KNOWN.contains(&k) => format!("{:?}", v.as_str().ok_or(())?),
                _ => continue,
            };
            if known.iter().any(|(k, _)| *k == key) {
                return Err(());
            }
            known.push((key, text));
        }
        known.sort();
        Ok(known.into_iter().filter(|(_, v)| v != "null").collect())
    }

    const KNOWN: [&str; 15] = [
        "type",
        "conversation",
        "at",
        "id",
        "author",
        "visibility",
        "agent",
        "team",
        "channel",
        "brand",
        "status",
        "priority",
        "reason",
        "tags",
        "score",
    ];

    /// The known fields as `read_line` reads them, in the form of `reference`.
    fn ours(line: &[u8]) -> std::result::Result<Vec<(String, String)>, ()> {
        let mut f = Fields::default();
        read_line(line, &mut f).map_err(drop)?;
        Ok(known(&f))
    }

    /// The fields read, in the form of `reference`.
    fn known(f: &Fields<'_>) -> Vec<(String, String)> {
        let strings = [
            ("type", &f.kind),
            ("conversation", &f.conversation),
            ("at", &f.at),
            ("id", &f.id),
            ("author", &f.author),
            ("visibility", &f.visibility),
            ("agent", &f.agent),
            ("team", &f.team),
            ("channel", &f.channel),
            ("brand", &f.brand),
            ("status", &f.status),
            ("priority", &f.priority),
            ("reason", &f.reason),
        ];
        let mut out: Vec<(String, String)> = strings
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_owned(), format!("{:?}", v.as_ref()))))
            .collect();
        if let Some(tags) = &f.tags {
            let t: Vec<String> = tags.iter().map(|s| format!("{:?}", s.as_ref())).collect();
            out.push(("tags".to_owned(), t.join(",")));
        }
        if let Some(score) = f.score {
            out.push(("score".to_owned(), score.to_string()));
        }
        out.sort();
        out
    }

    /// Where the fast path reads a line, the general reader reads the same fields from it;
    /// `Some(declined)` for a UTF-8 line.
    fn check_plain_path(line: &[u8]) -> Option<bool> {
        let s = std::str::from_utf8(line).ok()?;
        let mut fast = Fields::default();
        if read_plain_object(s, &mut fast).is_none() {
            return Some(true);
        }
        let mut general = Fields::default();
        let read = read_any_object(s, &mut general);
        assert!(read.is_ok(), "{s}: {read:?}");
        assert_eq!(known(&fast), known(&general), "{s}");
        Some(false)
    }

    /// The fast path reads every line of the synthetic workload, and every line with one byte
    /// changed, inserted or removed either the way the general reader does or not at all.
    #[test]
    fn r42_the_plain_path_reads_workload_lines_as_the_general_reader_does() {
        let mut data = Vec::new();
        crate::Workload::new(3, 300).write_jsonl(&mut data).unwrap();
        let lines: Vec<&[u8]> = data.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect();
        assert!(lines.len() > 2_000);
        for line in &lines {
            assert_eq!(
                check_plain_path(line),
                Some(false),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let mut declined = 0;
        for line in lines.iter().take(40) {
            for at in 0..=line.len() {
                for &c in b"{}[],:\"\\ 0-9.entfu\x01\xc3" {
                    let mut edited = line.to_vec();
                    edited.insert(at, c);
                    declined += usize::from(check_plain_path(&edited) == Some(true));
                    if at < line.len() {
                        edited.remove(at);
                        edited[at] = c;
                        declined += usize::from(check_plain_path(&edited) == Some(true));
                    }
                }
                let mut edited = line.to_vec();
                if at < line.len() {
                    edited.remove(at);
                    declined += usize::from(check_plain_path(&edited) == Some(true));
                }
            }
        }
        assert!(declined > 0);
    }

    use proptest::prelude::*;

    /// A JSON string literal for `s`, each character written plainly or escaped at random.
    fn literal(s: &str, escapes: &[bool]) -> String {
        let mut out = String::from("\"");
        for (i, c) in s.chars().enumerate() {
            let escape = escapes.get(i % escapes.len().max(1)).copied().unwrap_or(false);
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || escape => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9:TZ+-]{0,24}",
            "[a-z\"\\\\/\u{1}\u{1f}é€😀 ]{0,12}",
            prop::sample::select(vec![
                "customer".to_owned(),
                "2024-04-01T00:00:02Z".to_owned(),
                "c1".to_owned()
            ]),
        ]
    }

    fn value(depth: u32) -> BoxedStrategy<String> {
        let leaf = prop_oneof![
            (text(), prop::collection::vec(any::<bool>(), 0..4)).prop_map(|(s, e)| literal(&s, &e)),
            prop::sample::select(vec![
                "null",
                "true",
                "false",
                "0",
                "-0",
                "4",
                "5",
                "-12",
                "1.5",
                "2e3",
                "1E-2",
                "9223372036854775807",
                "9223372036854775808",
                "-9223372036854775808",
                "[]",
                "{}"
            ])
            .prop_map(str::to_owned),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        prop_oneof![
            3 => leaf,
            1 => prop::collection::vec(value(depth - 1), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            1 => prop::collection::vec((text(), value(depth - 1)), 0..3).prop_map(|v| format!(
                "{{{}}}",
                v.iter().map(|(k, x)| format!("{}:{x}", literal(k, &[]))).collect::<Vec<_>>().join(",")
            )),
        ]
        .boxed()
    }

    /// A line: an object of known and unknown keys (keys escaped at times), with white space.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        // Near misses too: a known name cut short or run on, which the known keys' quick
        // match must not take for the name.
        let near = [
            "a",
            "c",
            "t",
            "i",
            "conversatio",
            "conversations",
            "ats",
            "ids",
            "typ",
            "types",
            "tag",
            "agent_",
            "statu",
        ];
        let key = prop_oneof![
            4 => prop::sample::select(KNOWN.to_vec()).prop_map(str::to_owned),
            1 => "[a-z]{0,18}",
            1 => prop::sample::select(near.to_vec()).prop_map(str::to_owned),
        ];
        let ws = prop::sample::select(vec!["", "", "", " ", "\t", "\r\n "]);
        prop::collection::vec(
            (
                key,
                prop::collection::vec(any::<bool>(), 0..3),
                value(2),
                ws.clone(),
                ws,
            ),
            0..9,
        )
        .prop_map(|entries| {
            let body: Vec<String> = entries
                .iter()
                .map(|(k, esc, v, w1, w2)| format!("{w1}{}{w2}:{w1}{v}{w2}", literal(k, esc)))
                .collect();
            format!("{{{}}}", body.join(",")).into_bytes()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// R42: the reader accepts exactly the lines a general JSON parser reads as one object
        /// with well-typed, unrepeated known fields, and reads the same values from them.
        #[test]
        fn r42_reads_what_serde_json_reads(line in line()) {
            if let Some(expected) = reference(&line) {
                prop_assert_eq!(ours(&line), expected, "{}", String::from_utf8_lossy(&line));
            }
        }

        /// The fast path agrees with the general reader (or declines) on lines without white
        /// space, before and after a few edits.
        #[test]
        fn r42_the_plain_path_agrees_with_the_general_reader(
            line in line(),
            edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(b"{}[],:\"\\ 0-9eE.+tnfu\x00\x1f\xc3\xa9".to_vec())), 0..3),
        ) {
            let mut line: Vec<u8> = line.into_iter().filter(|c| !c.is_ascii_whitespace()).collect();
            damage(&mut line, edits);
            check_plain_path(&line);
        }

        /// The same on lines with a few bytes changed, inserted or removed: every malformed
        /// line is rejected, as a general JSON parser rejects it.
        #[test]
        fn r42_rejects_what_serde_json_rejects(
            line in line(),
            edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(b"{}[],:\"\\ 0-9eE.+tnfu\x00\x1f\x7f\xc3\xa9\xff".to_vec())), 1..4),
        ) {
            let mut line = line;
            damage(&mut line, edits);
            if let Some(expected) = reference(&line) {
                prop_assert_eq!(ours(&line), expected, "{}", String::from_utf8_lossy(&line));
            }
        }
    }
}
