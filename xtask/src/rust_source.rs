//! A Rust source file with comments and string contents taken out, so the tidy checks can look
//! for attributes without being fooled by a `#[allow(` inside a string or a comment.

/// What one line of the source holds besides code.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineInfo {
    /// The line holds (part of) a plain comment: `//`, `/* */`.
    pub(crate) plain_comment: bool,
    /// The line holds (part of) a doc comment: `///`, `//!`, `/** */`, `/*! */`.
    pub(crate) doc_comment: bool,
    /// The line holds code (anything but whitespace and comments).
    pub(crate) code: bool,
}

/// One attribute, `#[...]` or `#![...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    /// `#![...]` rather than `#[...]`.
    pub(crate) inner: bool,
    /// The text between the brackets, whitespace collapsed to single spaces; string contents
    /// keep only their letters, digits and underscores.
    pub(crate) text: String,
    /// 0-based line of the `#`.
    pub(crate) start_line: usize,
    /// 0-based line of the closing `]`.
    pub(crate) end_line: usize,
    /// 0-based line of the first attribute of the run of attributes this one belongs to (the
    /// attributes applied to the same item).
    pub(crate) group_start_line: usize,
    /// Index in [`RustSource::attributes`] of the first attribute of that run.
    pub(crate) group_start: usize,
}

/// The parsed view of a file.
#[derive(Debug)]
pub(crate) struct RustSource {
    /// Per-line facts, indexed by 0-based line.
    pub(crate) lines: Vec<LineInfo>,
    /// Every attribute, in source order.
    pub(crate) attributes: Vec<Attribute>,
}

impl RustSource {
    /// Parses `source`. Never fails: unterminated comments or strings just run to the end.
    pub(crate) fn parse(source: &str) -> Self {
        let (code, lines) = strip(source);
        let attributes = attributes(&code);
        Self { lines, attributes }
    }
}

/// Whether `c` can be part of an identifier.
fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Returns the code as `(char, line)` pairs with comments removed and string/char literal
/// contents reduced to letters, digits and underscores (delimiters kept as `"`/`'`), plus
/// per-line facts.
fn strip(source: &str) -> (Vec<(char, usize)>, Vec<LineInfo>) {
    let chars: Vec<char> = source.chars().collect();
    let mut lines = vec![LineInfo::default(); source.lines().count().max(1) + 1];
    let mut code = Vec::with_capacity(chars.len());
    let mut line = 0;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');

    // Marks the lines from `from` to the current line as holding a comment of this kind.
    fn mark(lines: &mut [LineInfo], from: usize, to: usize, doc: bool) {
        for info in &mut lines[from..=to] {
            if doc {
                info.doc_comment = true;
            } else {
                info.plain_comment = true;
            }
        }
    }

    while i < chars.len() {
        let c = chars[i];
        let prev_ident = i > 0 && ident_char(chars[i - 1]);
        if c == '\n' {
            code.push(('\n', line));
            line += 1;
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            let doc = (at(i + 2) == '/' && at(i + 3) != '/') || at(i + 2) == '!';
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            mark(&mut lines, line, line, doc);
        } else if c == '/' && at(i + 1) == '*' {
            let doc = (at(i + 2) == '*' && !matches!(at(i + 3), '*' | '/')) || at(i + 2) == '!';
            let start = line;
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        code.push(('\n', line));
                        line += 1;
                    }
                    i += 1;
                }
            }
            mark(&mut lines, start, line, doc);
            code.push((' ', line));
        } else if !prev_ident && matches!(c, 'r' | 'b' | 'c') && raw_string_start(&chars, i) {
            // r"..", r#".."#, br"..", cr#".."#: no escapes, ends at `"` plus as many `#`.
            let mut j = i + 1;
            if c != 'r' {
                j += 1;
            }
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            code.push(('"', line));
            i = j + 1;
            while i < chars.len() {
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                push_literal_char(&mut code, &mut line, chars[i]);
                i += 1;
            }
            code.push(('"', line));
        } else if c == '"' || (!prev_ident && matches!(c, 'b' | 'c') && at(i + 1) == '"') {
            if c != '"' {
                i += 1;
            }
            code.push(('"', line));
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    push_literal_char(&mut code, &mut line, ch);
                }
                i += 1;
            }
            code.push(('"', line));
            i += 1;
        } else if c == '\'' || (!prev_ident && c == 'b' && at(i + 1) == '\'') {
            let q = if c == 'b' { i + 1 } else { i };
            let is_char = at(q + 1) == '\\' || (at(q + 2) == '\'' && at(q + 1) != '\n');
            if is_char {
                code.push(('\'', line));
                let mut j = q + 1;
                if at(j) == '\\' {
                    j += 2;
                    while j < chars.len() && chars[j] != '\'' && chars[j] != '\n' {
                        j += 1;
                    }
                } else {
                    j += 1;
                }
                code.push(('\'', line));
                i = j + 1;
            } else {
                // A lifetime or label.
                code.push((c, line));
                i += 1;
            }
        } else {
            code.push((c, line));
            i += 1;
        }
    }
    for &(ch, l) in &code {
        if !ch.is_whitespace() {
            lines[l].code = true;
        }
    }
    (code, lines)
}

/// Whether a raw string literal (`r"`, `r#"`, `br"`, `cr#"`, ...) starts at `i`.
fn raw_string_start(chars: &[char], i: usize) -> bool {
    let mut j = i;
    if chars[j] != 'r' {
        j += 1;
        if chars.get(j) != Some(&'r') {
            return false;
        }
    }
    j += 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// Keeps a literal's letters, digits, underscores and line breaks; everything else becomes a
/// space so it cannot look like syntax.
fn push_literal_char(code: &mut Vec<(char, usize)>, line: &mut usize, ch: char) {
    if ch == '\n' {
        code.push(('\n', *line));
        *line += 1;
    } else if ident_char(ch) {
        code.push((ch, *line));
    } else {
        code.push((' ', *line));
    }
}

/// Finds every attribute in the stripped code.
fn attributes(code: &[(char, usize)]) -> Vec<Attribute> {
    let mut found: Vec<Attribute> = Vec::new();
    // Index into `code` just past the previous attribute, to tell whether attributes are
    // adjacent (only whitespace between them).
    let mut prev_end: Option<usize> = None;
    let mut i = 0;
    while i < code.len() {
        if code[i].0 != '#' {
            i += 1;
            continue;
        }
        let start_line = code[i].1;
        let mut j = skip_ws(code, i + 1);
        let inner = code.get(j).is_some_and(|c| c.0 == '!');
        if inner {
            j = skip_ws(code, j + 1);
        }
        if code.get(j).is_none_or(|c| c.0 != '[') {
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        let mut k = j;
        while k < code.len() {
            match code[k].0 {
                '[' => depth += 1,
                ']' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            k += 1;
        }
        let end = k.min(code.len().saturating_sub(1));
        let mut text = String::new();
        for &(ch, _) in &code[(j + 1).min(end)..end] {
            if ch.is_whitespace() {
                if !text.ends_with(' ') {
                    text.push(' ');
                }
            } else {
                text.push(ch);
            }
        }
        let adjacent = !inner
            && found.last().is_some_and(|last| !last.inner)
            && prev_end.is_some_and(|p| code[p..i].iter().all(|c| c.0.is_whitespace()));
        let (group_start, group_start_line) = match (adjacent, found.last()) {
            (true, Some(last)) => (last.group_start, last.group_start_line),
            _ => (found.len(), start_line),
        };
        found.push(Attribute {
            inner,
            text: text.trim().to_owned(),
            start_line,
            end_line: code[end].1,
            group_start_line,
            group_start,
        });
        prev_end = Some(end + 1);
        i = end + 1;
    }
    found
}

fn skip_ws(code: &[(char, usize)], mut i: usize) -> usize {
    while code.get(i).is_some_and(|c| c.0.is_whitespace()) {
        i += 1;
    }
    i
}

/// Whether `text` holds `word` as a whole word followed (after optional spaces) by `next`.
pub(crate) fn has_word_then(text: &str, word: &str, next: char) -> bool {
    let mut from = 0;
    while let Some(pos) = text[from..].find(word) {
        let start = from + pos;
        let end = start + word.len();
        let before_ok = !text[..start].chars().next_back().is_some_and(ident_char);
        let after = text[end..].trim_start();
        if before_ok && after.starts_with(next) {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        RustSource::parse(src)
            .attributes
            .into_iter()
            .map(|a| a.text)
            .collect()
    }

    #[test]
    fn finds_outer_and_inner_attributes() {
        let src = "#![forbid(unsafe_code)]\n#[derive(Debug)]\n# [ allow ( x ) ]\nstruct S;";
        let parsed = RustSource::parse(src);
        let texts: Vec<&str> = parsed.attributes.iter().map(|a| a.text.as_str()).collect();
        assert_eq!(
            texts,
            ["forbid(unsafe_code)", "derive(Debug)", "allow ( x )"]
        );
        assert!(parsed.attributes[0].inner);
        assert!(!parsed.attributes[1].inner);
        assert_eq!(parsed.attributes[2].start_line, 2);
        assert_eq!(parsed.attributes[2].group_start_line, 1);
    }

    #[test]
    fn ignores_attributes_in_strings_and_comments() {
        let src = r##"
            // #[allow(a)]
            /* #[allow(b)] /* nested #[allow(c)] */ still comment #[allow(d)] */
            const S: &str = "#[allow(e)]";
            const R: &str = r#"#[allow(f)] " still raw"#;
            const B: &[u8] = b"#[allow(g)]";
            const C: char = '#';
            const D: char = '\'';
            fn f<'a>(x: &'a str) -> &'a str { x }
            #[allow(real)]
            fn g() {}
        "##;
        assert_eq!(texts(src), ["allow(real)"]);
    }

    #[test]
    fn string_contents_keep_words() {
        let src = "#[cfg_attr(target_os = \"windows\", allow(x, reason = \"ffi, see #1\"))]";
        assert_eq!(
            texts(src),
            ["cfg_attr(target_os = \"windows\", allow(x, reason = \"ffi see 1\"))"]
        );
    }

    #[test]
    fn multi_line_attribute_spans_lines() {
        let src = "x\n#[allow(\n    a,\n    b,\n)]\nfn f() {}\n";
        let parsed = RustSource::parse(src);
        assert_eq!(parsed.attributes[0].start_line, 1);
        assert_eq!(parsed.attributes[0].end_line, 4);
    }

    #[test]
    fn line_facts() {
        let src = "// plain\n/// doc\n//! inner doc\n//// plain too\ncode(); /* c */\n/** d */\n";
        let lines = RustSource::parse(src).lines;
        assert!(lines[0].plain_comment && !lines[0].doc_comment && !lines[0].code);
        assert!(lines[1].doc_comment && !lines[1].plain_comment);
        assert!(lines[2].doc_comment);
        assert!(lines[3].plain_comment && !lines[3].doc_comment);
        assert!(lines[4].code && lines[4].plain_comment);
        assert!(lines[5].doc_comment && !lines[5].code);
    }

    #[test]
    fn word_matching() {
        assert!(has_word_then("allow(x)", "allow", '('));
        assert!(has_word_then("cfg_attr(test, allow (x))", "allow", '('));
        assert!(!has_word_then("clippy::allow_attributes", "allow", '('));
        assert!(!has_word_then("disallow(x)", "allow", '('));
        assert!(has_word_then("allow(x, reason = \"r\")", "reason", '='));
    }
}
