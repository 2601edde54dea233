//! PyYAML's implicit resolvers (which tag a plain scalar gets) and its
//! constructors of ints, floats and timestamps, written out from
//! `yaml/resolver.py` and `yaml/constructor.py`.

use super::super::py::PyValue;

/// An implicit resolver: the tag, and whether a plain scalar matches.
type Resolver = (&'static str, fn(&str) -> bool);

/// The tag PyYAML's implicit resolvers give a plain scalar, tried in its
/// order for the scalar's first character.
pub(super) fn resolve(text: &str) -> &'static str {
    let first = text.chars().next();
    let candidates: &[Resolver] = match first {
        None => &[("null", is_null)],
        Some(c) => match c {
            'y' | 'Y' | 't' | 'T' | 'f' | 'F' | 'o' | 'O' => &[("bool", is_bool)],
            'n' | 'N' => &[("bool", is_bool), ("null", is_null)],
            '~' => &[("null", is_null)],
            '-' | '+' => &[("float", is_float), ("int", is_int)],
            '.' => &[("float", is_float)],
            '0'..='9' => &[
                ("float", is_float),
                ("int", is_int),
                ("timestamp", is_timestamp),
            ],
            '<' => &[("merge", |t| t == "<<")],
            '=' => &[("value", |t| t == "=")],
            _ => &[],
        },
    };
    candidates
        .iter()
        .find(|(_, matches)| matches(text))
        .map_or("str", |(tag, _)| tag)
}

fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

fn is_bool(text: &str) -> bool {
    matches!(
        text,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// A small cursor for the resolvers' patterns.
struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        if self.peek().is_some_and(&f) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Zero or more bytes matching `f`; how many.
    fn many(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.at;
        while self.eat_if(&f) {}
        self.at - start
    }

    fn sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }

    /// `(?::[0-5]?[0-9])+`: at least one sexagesimal part.
    fn sexagesimal_parts(&mut self) -> bool {
        let mut parts = 0;
        loop {
            let save = self.at;
            if !self.eat(b':') {
                break;
            }
            let a = self.peek();
            let b = self.bytes.get(self.at + 1).copied();
            match (a, b) {
                (Some(b'0'..=b'5'), Some(b'0'..=b'9')) => self.at += 2,
                (Some(b'0'..=b'9'), _) => self.at += 1,
                _ => {
                    self.at = save;
                    break;
                }
            }
            parts += 1;
        }
        parts > 0
    }

    /// `(?:[eE][-+][0-9]+)?`
    fn exponent(&mut self) -> bool {
        let save = self.at;
        if self.eat(b'e') || self.eat(b'E') {
            if (self.eat(b'-') || self.eat(b'+')) && self.many(|b| b.is_ascii_digit()) > 0 {
                return true;
            }
            self.at = save;
            return false;
        }
        true
    }
}

fn digit_or_underscore(b: u8) -> bool {
    b.is_ascii_digit() || b == b'_'
}

/// PyYAML's float pattern.
fn is_float(text: &str) -> bool {
    let alternatives: [fn(&str) -> bool; 5] = [
        // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |t| {
            let mut s = Scan::new(t);
            s.sign();
            s.eat_if(|b| b.is_ascii_digit())
                && {
                    s.many(digit_or_underscore);
                    s.eat(b'.')
                }
                && {
                    s.many(digit_or_underscore);
                    s.exponent()
                }
                && s.done()
        },
        // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |t| {
            let mut s = Scan::new(t);
            s.eat(b'.')
                && s.eat_if(|b| b.is_ascii_digit())
                && {
                    s.many(digit_or_underscore);
                    s.exponent()
                }
                && s.done()
        },
        // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |t| {
            let mut s = Scan::new(t);
            s.sign();
            s.eat_if(|b| b.is_ascii_digit())
                && {
                    s.many(digit_or_underscore);
                    s.sexagesimal_parts()
                }
                && s.eat(b'.')
                && {
                    s.many(digit_or_underscore);
                    s.done()
                }
        },
        // [-+]?\.(?:inf|Inf|INF)
        |t| {
            let t = t.strip_prefix(['-', '+']).unwrap_or(t);
            matches!(t, ".inf" | ".Inf" | ".INF")
        },
        // \.(?:nan|NaN|NAN)
        |t| matches!(t, ".nan" | ".NaN" | ".NAN"),
    ];
    alternatives.iter().any(|matches| matches(text))
}

/// PyYAML's int pattern.
fn is_int(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let bytes = body.as_bytes();
    if let Some(rest) = body.strip_prefix("0b") {
        return !rest.is_empty() && rest.bytes().all(|b| matches!(b, b'0' | b'1' | b'_'));
    }
    if let Some(rest) = body.strip_prefix("0x") {
        return !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_');
    }
    if body == "0" {
        return true;
    }
    if bytes.first() == Some(&b'0') {
        return bytes.len() > 1 && bytes[1..].iter().all(|b| matches!(b, b'0'..=b'7' | b'_'));
    }
    if !bytes.first().is_some_and(|b| matches!(b, b'1'..=b'9')) {
        return false;
    }
    let mut s = Scan::new(body);
    s.at = 1;
    s.many(digit_or_underscore);
    if s.done() {
        return true;
    }
    s.sexagesimal_parts() && s.done()
}

/// PyYAML's timestamp pattern.
fn is_timestamp(text: &str) -> bool {
    let mut s = Scan::new(text);
    let digits = |s: &mut Scan<'_>, min: usize, max: usize| {
        let start = s.at;
        while s.at - start < max && s.eat_if(|b| b.is_ascii_digit()) {}
        s.at - start >= min
    };
    // YYYY-MM-DD alone.
    if text.len() == 10 {
        let mut d = Scan::new(text);
        if digits(&mut d, 4, 4)
            && d.eat(b'-')
            && digits(&mut d, 2, 2)
            && d.eat(b'-')
            && digits(&mut d, 2, 2)
            && d.done()
        {
            return true;
        }
    }
    // YYYY-M-D (T| +)H:MM:SS(.f*)?( *(Z|±H(:MM)?))?
    if !(digits(&mut s, 4, 4)
        && s.eat(b'-')
        && digits(&mut s, 1, 2)
        && s.eat(b'-')
        && digits(&mut s, 1, 2))
    {
        return false;
    }
    if !(s.eat(b'T') || s.eat(b't') || s.many(|b| b == b' ' || b == b'\t') > 0) {
        return false;
    }
    if !(digits(&mut s, 1, 2)
        && s.eat(b':')
        && digits(&mut s, 2, 2)
        && s.eat(b':')
        && digits(&mut s, 2, 2))
    {
        return false;
    }
    if s.eat(b'.') {
        s.many(|b| b.is_ascii_digit());
    }
    if s.done() {
        return true;
    }
    s.many(|b| b == b' ' || b == b'\t');
    if s.eat(b'Z') {
        return s.done();
    }
    if !(s.eat(b'-') || s.eat(b'+')) || !digits(&mut s, 1, 2) {
        return false;
    }
    if s.eat(b':') && !digits(&mut s, 2, 2) {
        return false;
    }
    s.done()
}

/// PyYAML's `construct_yaml_int`: underscores dropped; binary, hex, octal
/// (a leading 0), sexagesimal, or decimal; exact at any size.
pub(super) fn construct_int(text: &str) -> Option<PyValue> {
    let cleaned = text.replace('_', "");
    let (negative, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let digits: String = if body == "0" {
        "0".to_owned()
    } else if let Some(rest) = body.strip_prefix("0b") {
        to_decimal(rest, 2)?
    } else if let Some(rest) = body.strip_prefix("0x") {
        to_decimal(rest, 16)?
    } else if body.len() > 1 && body.starts_with('0') {
        to_decimal(body, 8)?
    } else if body.contains(':') {
        let mut total = String::from("0");
        for part in body.split(':') {
            let part: u32 = part.parse().ok()?;
            total = multiply_add(&total, 60, part)?;
        }
        total
    } else {
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        body.to_owned()
    };
    let signed = if negative && !digits.trim_start_matches('0').is_empty() {
        format!("-{digits}")
    } else {
        digits
    };
    PyValue::int_from_digits(&signed)
}

/// `digits` in `base`, as decimal text.
fn to_decimal(digits: &str, base: u32) -> Option<String> {
    if digits.is_empty() {
        return None;
    }
    let mut total = String::from("0");
    for c in digits.chars() {
        total = multiply_add(&total, base, c.to_digit(base)?)?;
    }
    Some(total)
}

/// `decimal * factor + add`, on decimal text of any length.
fn multiply_add(decimal: &str, factor: u32, add: u32) -> Option<String> {
    let mut carry = u64::from(add);
    let mut out: Vec<u8> = Vec::with_capacity(decimal.len() + 3);
    for b in decimal.bytes().rev() {
        let d = u64::from(b.checked_sub(b'0')?);
        let n = d * u64::from(factor) + carry;
        out.push((n % 10) as u8 + b'0');
        carry = n / 10;
    }
    while carry > 0 {
        out.push((carry % 10) as u8 + b'0');
        carry /= 10;
    }
    while out.len() > 1 && out.last() == Some(&b'0') {
        out.pop();
    }
    out.reverse();
    String::from_utf8(out).ok()
}

/// PyYAML's `construct_yaml_float`.
pub(super) fn construct_float(text: &str) -> Option<f64> {
    let cleaned = text.replace('_', "").to_ascii_lowercase();
    let (sign, body) = match cleaned.as_bytes().first() {
        Some(b'-') => (-1.0, &cleaned[1..]),
        Some(b'+') => (1.0, &cleaned[1..]),
        _ => (1.0, cleaned.as_str()),
    };
    if body == ".inf" {
        return Some(sign * f64::INFINITY);
    }
    if body == ".nan" {
        return Some(f64::NAN);
    }
    if body.contains(':') {
        let mut total = 0.0;
        for part in body.split(':') {
            total = total * 60.0 + python_float(part)?;
        }
        return Some(sign * total);
    }
    Some(sign * python_float(body)?)
}

/// Python's `float()` of a decimal literal such as `1.`, `.5` or `1.e+3`.
fn python_float(text: &str) -> Option<f64> {
    let (mantissa, exponent) = match text.find('e') {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let mut normalized = String::with_capacity(text.len() + 2);
    if mantissa.starts_with('.') {
        normalized.push('0');
    }
    normalized.push_str(mantissa);
    if mantissa.ends_with('.') {
        normalized.push('0');
    }
    normalized.push_str(exponent);
    normalized.parse().ok()
}

/// PyYAML's `construct_yaml_timestamp`, as the ISO text pydantic writes for
/// the date or datetime: `2024-01-01`, `2024-01-01T12:00:00`,
/// `2001-12-14T21:59:43.100000-05:00`, `...Z` for UTC.
pub(super) fn construct_timestamp(text: &str) -> Option<String> {
    let number = |s: &str| s.parse::<u32>().ok();
    let (date, rest) = match text.find(['T', 't', ' ', '\t']) {
        Some(at) => (
            &text[..at],
            Some(text[at..].trim_start_matches([' ', '\t', 'T', 't'])),
        ),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year = number(parts.next()?)?;
    let month = number(parts.next()?)?;
    let day = number(parts.next()?)?;
    if parts.next().is_some()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in(year, month)
    {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    let Some(rest) = rest else {
        return Some(date);
    };
    // H:MM:SS(.f)? then the zone.
    let zone_at = rest.find(['Z', '+', '-', ' ', '\t']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let zone = zone.trim_start_matches([' ', '\t']);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut clock = clock.split(':');
    let hour = number(clock.next()?)?;
    let minute = number(clock.next()?)?;
    let second = number(clock.next()?)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut micros = fraction.chars().take(6).collect::<String>();
    while !micros.is_empty() && micros.len() < 6 {
        micros.push('0');
    }
    let mut out = format!("{date}T{hour:02}:{minute:02}:{second:02}");
    if !micros.is_empty() && micros.parse::<u32>().ok()? > 0 {
        out.push('.');
        out.push_str(&micros);
    }
    match zone {
        "" => {}
        "Z" => out.push('Z'),
        zone => {
            let (sign, offset) = zone.split_at(1);
            let (hours, minutes) = offset.split_once(':').unwrap_or((offset, "0"));
            let (hours, minutes) = (number(hours)?, number(minutes)?);
            if hours == 0 && minutes == 0 {
                out.push('Z');
            } else {
                out.push_str(&format!("{sign}{hours:02}:{minutes:02}"));
            }
        }
    }
    Some(out)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}
