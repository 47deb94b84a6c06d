//! The broker crate's layers (`crates/mr-auth-broker/src`), read from the code's own paths:
//!
//! - `oauth/` (the OAuth 2.0 public client) names nothing of `platform/`, `credential/` or the
//!   MSAL token cache (the cache modules at `src/`, or the `mr_auth_msal_cache` crate);
//! - `platform/` (the broker trait and the WAM and Linux brokers) names nothing of
//!   `credential/`;
//! - the crate-wide files at `src/` (`error.rs`, `environment_source.rs`) name none of them;
//! - no file in `credential/` has more than [`MAX_CREDENTIAL_FILE_LINES`] lines of code.
//!
//! What a file "names" is every path in its code (comments, doc comments and strings are left
//! out: an intra-doc link is documentation, not a dependency) that starts with `crate::`,
//! `super::`, `self::` or `mr_auth_msal_cache::`, in `use` trees and inline. It is resolved
//! against the file's module (inline `mod` blocks included) to the crate root's item it goes
//! through: a top module (`oauth`, `platform`, `credential`, a root file) or a name `lib.rs`
//! re-exports, whose layer is that of the module (or crate) it is re-exported from. A path
//! whose layer cannot be told (a glob of the crate root, a root name this table does not know)
//! is a problem too, so that nothing passes unread.
//!
//! Lines of code: lines with code on them, not blank or comment-only. The unit tests at the
//! bottom of a file (`#[cfg(test)] mod tests { ... }`) do not count: the rule is about how
//! much one concept holds, and a file's tests belong next to it (STYLE.md 15) however many
//! cases they need.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use super::{relative, rust_files};
use crate::cmd::Result;

/// The broker crate's sources, relative to the workspace.
const BROKER_SRC: &str = "crates/mr-auth-broker/src";

/// The most lines of code a file in `credential/` may have.
pub(crate) const MAX_CREDENTIAL_FILE_LINES: usize = 300;

/// The root modules of the MSAL token cache, and the crate it moves to.
const CACHE_MODULES: &[&str] = &[
    "msal_token_cache",
    "persistent_token_cache",
    "cache_file",
    "cache_lock",
    "dpapi",
    "secret_service_store",
];
const CACHE_CRATE: &str = "mr_auth_msal_cache";

/// Root modules above every layer: they may name anything, and nothing below names them.
const TOP_MODULES: &[&str] = &["test_util", "fuzzing"];

/// Where an item lives, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    /// Crate-wide bits (the error, the environment source) and other crates.
    Shared,
    OAuth,
    Platform,
    Credential,
    Cache,
    Top,
}

impl Layer {
    fn of_top_module(name: &str) -> Self {
        match name {
            "oauth" => Self::OAuth,
            "platform" => Self::Platform,
            "credential" => Self::Credential,
            _ if CACHE_MODULES.contains(&name) || name == CACHE_CRATE => Self::Cache,
            _ if TOP_MODULES.contains(&name) => Self::Top,
            _ => Self::Shared,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Shared => "the crate-wide files",
            Self::OAuth => "oauth/",
            Self::Platform => "platform/",
            Self::Credential => "credential/",
            Self::Cache => "the MSAL token cache",
            Self::Top => "the crate root's test and fuzzing modules",
        }
    }

    /// The layers a file of this layer must not name.
    fn forbidden(self) -> &'static [Layer] {
        match self {
            Self::Shared => &[
                Self::OAuth,
                Self::Platform,
                Self::Credential,
                Self::Cache,
                Self::Top,
            ],
            Self::OAuth => &[Self::Platform, Self::Credential, Self::Cache, Self::Top],
            Self::Platform => &[Self::Credential, Self::Top],
            Self::Credential | Self::Cache | Self::Top => &[],
        }
    }
}

/// Checks the broker crate of the workspace at `root`; the problems, each as
/// `path:line: what is wrong`.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let src = root.join(BROKER_SRC);
    let lib = src.join("lib.rs");
    let lib_source =
        fs::read_to_string(&lib).map_err(|e| format!("cannot read {}: {e}", lib.display()))?;
    let roots = RootNames::read(&tokenize(&lib_source));
    let mut problems = Vec::new();
    let mut files = Vec::new();
    rust_files(&src, &mut files)?;
    files.sort();
    for file in files {
        let module = module_path(&src, &file);
        let Some(top) = module.first() else {
            continue; // lib.rs: the crate root names every layer
        };
        let layer = Layer::of_top_module(top);
        let source = fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let rel = format!("{BROKER_SRC}/{}", relative(&src, &file));
        for (line, what) in wrong_names(&source, &module, layer, &roots) {
            problems.push(format!("{rel}:{line}: {what}"));
        }
        if layer == Layer::Credential {
            let lines = code_lines(&source);
            if lines > MAX_CREDENTIAL_FILE_LINES {
                problems.push(format!(
                    "{rel}:1: {lines} lines of code, more than the {MAX_CREDENTIAL_FILE_LINES} a file in credential/ may have; split it by concept"
                ));
            }
        }
    }
    Ok(problems)
}

/// What `lib.rs` declares: its modules and the layer of each name it re-exports.
#[derive(Debug, Default)]
struct RootNames {
    modules: Vec<String>,
    names: HashMap<String, Layer>,
}

impl RootNames {
    fn read(tokens: &[Token]) -> Self {
        let mut roots = Self::default();
        let mut depth = 0usize;
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i].tok {
                Tok::Open => depth += 1,
                Tok::Close => depth = depth.saturating_sub(1),
                Tok::Ident(word) if depth == 0 && word == "mod" => {
                    if let Some(Tok::Ident(name)) = tokens.get(i + 1).map(|t| &t.tok) {
                        roots.modules.push(name.clone());
                    }
                }
                Tok::Ident(word) if depth == 0 && word == "use" => {
                    let mut paths = Vec::new();
                    i = parse_use_tree(tokens, i + 1, Vec::new(), &mut paths);
                    for path in paths {
                        roots.add_reexport(&path);
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        roots
    }

    fn add_reexport(&mut self, path: &UsePath) {
        let mut segments: Vec<&str> = path.segments.iter().map(String::as_str).collect();
        if segments
            .first()
            .is_some_and(|s| *s == "crate" || *s == "self")
        {
            segments.remove(0);
        }
        let leaf = match (path.alias.as_deref(), segments.as_slice()) {
            (Some(alias), _) => alias,
            (None, [.., parent, "self"]) => parent,
            (None, [.., "*"]) | (None, []) => return,
            (None, [.., leaf]) => leaf,
        };
        if let Some(from) = segments.first() {
            self.names
                .insert(leaf.to_owned(), Layer::of_top_module(from));
        }
    }

    /// The layer of the crate-root item `name`, if this crate has one by that name.
    fn layer_of(&self, name: &str) -> Option<Layer> {
        if self.modules.iter().any(|m| m == name) {
            return Some(Layer::of_top_module(name));
        }
        self.names.get(name).copied()
    }
}

/// The paths of `source` (a file of `module`, in `layer`) that name a layer it must not, or
/// whose layer cannot be told: `(line, what)`.
fn wrong_names(
    source: &str,
    module: &[String],
    layer: Layer,
    roots: &RootNames,
) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (line, path, inline) in crate_paths(&tokenize(source)) {
        let mut here = module.to_vec();
        here.extend(inline);
        let Some(target) = resolve(&path, &here) else {
            continue;
        };
        let shown = path.join("::");
        let named = match target {
            Target::CacheCrate => Layer::Cache,
            Target::Root(name) if name == "*" => {
                found.push((line, format!("`{shown}`: a glob of the crate root hides which layers this file names; name the items")));
                continue;
            }
            Target::Root(name) => match roots.layer_of(&name) {
                Some(named) => named,
                None => {
                    found.push((line, format!("`{shown}`: the crate root has no module or re-export `{name}` the layer check knows (xtask/src/tidy/layers.rs)")));
                    continue;
                }
            },
        };
        if layer.forbidden().contains(&named) {
            found.push((
                line,
                format!(
                    "{} names {} (`{shown}`); the layers are oauth/ <- platform/ <- credential/, one way",
                    layer.name(),
                    named.name()
                ),
            ));
        }
    }
    found
}

/// What a path goes through at the crate root.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// The crate root's item (a top module, a re-exported name, or `*`).
    Root(String),
    /// The MSAL cache crate.
    CacheCrate,
}

/// Resolves `path`, written in the module `here`; `None` for paths that stay below `here`'s
/// top module or leave the crate (std, other crates).
fn resolve(path: &[String], here: &[String]) -> Option<Target> {
    let first = path.first()?;
    let (mut absolute, rest): (Vec<String>, &[String]) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (here.to_vec(), &path[1..]),
        "super" => {
            let ups = path.iter().take_while(|s| *s == "super").count();
            let kept = here.len().saturating_sub(ups);
            (here[..kept].to_vec(), &path[ups..])
        }
        CACHE_CRATE => return Some(Target::CacheCrate),
        _ => return None,
    };
    absolute.extend(rest.iter().filter(|s| *s != "self").cloned());
    absolute.first().cloned().map(Target::Root)
}

/// Every path starting with `crate`, `self`, `super` or the cache crate in the tokens, with
/// its line and the inline modules it is written in: from `use` trees and from code.
fn crate_paths(tokens: &[Token]) -> Vec<(usize, Vec<String>, Vec<String>)> {
    let mut found = Vec::new();
    // One entry per open brace: the inline module it opens, if any.
    let mut braces: Vec<Option<String>> = Vec::new();
    let mut pending_module: Option<String> = None;
    let mut i = 0;
    while i < tokens.len() {
        let inline: Vec<String> = braces.iter().flatten().cloned().collect();
        match &tokens[i].tok {
            Tok::Open => braces.push(pending_module.take()),
            Tok::Close => {
                braces.pop();
            }
            Tok::Semi => pending_module = None,
            Tok::Ident(word) if word == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (
                    tokens.get(i + 1).map(|t| &t.tok),
                    tokens.get(i + 2).map(|t| &t.tok),
                ) {
                    pending_module = Some(name.clone());
                }
            }
            Tok::Ident(word) if word == "use" => {
                let mut paths = Vec::new();
                i = parse_use_tree(tokens, i + 1, Vec::new(), &mut paths);
                found.extend(
                    paths
                        .into_iter()
                        .map(|p| (p.line, p.segments, inline.clone())),
                );
                continue;
            }
            Tok::Ident(word)
                if is_path_start(word)
                    && tokens.get(i + 1).map(|t| &t.tok) == Some(&Tok::PathSep)
                    && (i == 0 || tokens[i - 1].tok != Tok::PathSep) =>
            {
                let line = tokens[i].line;
                let mut segments = vec![word.clone()];
                i += 1;
                while tokens.get(i).map(|t| &t.tok) == Some(&Tok::PathSep) {
                    match tokens.get(i + 1).map(|t| &t.tok) {
                        Some(Tok::Ident(next)) => {
                            segments.push(next.clone());
                            i += 2;
                        }
                        _ => break,
                    }
                }
                found.push((line, segments, inline));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

fn is_path_start(word: &str) -> bool {
    matches!(word, "crate" | "self" | "super") || word == CACHE_CRATE
}

/// One path of a `use` tree, flattened.
#[derive(Debug)]
struct UsePath {
    segments: Vec<String>,
    alias: Option<String>,
    line: usize,
}

/// Parses the `use` tree at `i` (after the `use` keyword, or inside a `{...}` group) with the
/// segments before it; returns the index after it (past the `;` at the top level).
fn parse_use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<UsePath>,
) -> usize {
    let line = tokens.get(i).map_or(0, |t| t.line);
    let mut segments = prefix;
    while let Some(token) = tokens.get(i) {
        match &token.tok {
            Tok::Ident(word) if word != "as" => {
                segments.push(word.clone());
                i += 1;
                if tokens.get(i).map(|t| &t.tok) != Some(&Tok::PathSep) {
                    break;
                }
                i += 1;
            }
            Tok::PathSep => i += 1,
            Tok::Star => {
                segments.push("*".to_owned());
                i += 1;
                break;
            }
            Tok::Open => {
                i += 1;
                while let Some(token) = tokens.get(i) {
                    match token.tok {
                        Tok::Close => {
                            i += 1;
                            break;
                        }
                        Tok::Comma => i += 1,
                        _ => i = parse_use_tree(tokens, i, segments.clone(), out),
                    }
                }
                return skip_semicolon(tokens, i);
            }
            _ => break,
        }
    }
    let mut alias = None;
    if let (Some(Tok::Ident(word)), Some(Tok::Ident(name))) = (
        tokens.get(i).map(|t| &t.tok),
        tokens.get(i + 1).map(|t| &t.tok),
    ) {
        if word == "as" {
            alias = Some(name.clone());
            i += 2;
        }
    }
    out.push(UsePath {
        segments,
        alias,
        line,
    });
    skip_semicolon(tokens, i)
}

fn skip_semicolon(tokens: &[Token], i: usize) -> usize {
    if tokens.get(i).map(|t| &t.tok) == Some(&Tok::Semi) {
        i + 1
    } else {
        i
    }
}

/// A token of Rust source, as far as paths need: identifiers, `::`, braces, `,`, `;`, `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    PathSep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

/// The tokens of `source`, without comments, strings and character literals.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let push = |tokens: &mut Vec<Token>, tok: Tok, line: usize| tokens.push(Token { tok, line });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            _ if c.is_whitespace() => i += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if next == Some('*') => i = skip_block_comment(&chars, i, &mut line),
            '"' => i = skip_string(&chars, i + 1, false, 0, &mut line),
            '\'' => i = skip_char_or_lifetime(&chars, i),
            ':' if next == Some(':') => {
                push(&mut tokens, Tok::PathSep, line);
                i += 2;
            }
            '{' | '}' | ',' | ';' | '*' => {
                let tok = match c {
                    '{' => Tok::Open,
                    '}' => Tok::Close,
                    ',' => Tok::Comma,
                    ';' => Tok::Semi,
                    _ => Tok::Star,
                };
                push(&mut tokens, tok, line);
                i += 1;
            }
            _ if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                if let Some(end) = raw_or_byte_string(&chars, &word, i, &mut line) {
                    i = end;
                } else {
                    push(&mut tokens, Tok::Ident(word), line);
                }
            }
            _ if c.is_ascii_digit() => {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                push(&mut tokens, Tok::Other, line);
            }
            _ => {
                push(&mut tokens, Tok::Other, line);
                i += 1;
            }
        }
    }
    tokens
}

/// Past a (nested) block comment starting at `i`.
fn skip_block_comment(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            if chars[i] == '\n' {
                *line += 1;
            }
            i += 1;
        }
    }
    i
}

/// Past a string whose body starts at `i`: closed by `"` and `hashes` `#`s; escapes count only
/// in a string that is not `raw`.
fn skip_string(chars: &[char], mut i: usize, raw: bool, hashes: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' if !raw => i += 2,
            '"' if chars[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes =>
            {
                return i + 1 + hashes;
            }
            c => {
                if c == '\n' {
                    *line += 1;
                }
                i += 1;
            }
        }
    }
    i
}

/// After an identifier `word` ending at `i`: the end of the string it prefixes (`r"..."`,
/// `r#"..."#`, `b"..."`, `br"..."`, `c"..."`), if it prefixes one.
fn raw_or_byte_string(chars: &[char], word: &str, i: usize, line: &mut usize) -> Option<usize> {
    let raw = matches!(word, "r" | "br" | "cr");
    if !raw && !matches!(word, "b" | "c") {
        return None;
    }
    let hashes = if raw {
        chars[i..].iter().take_while(|c| **c == '#').count()
    } else {
        0
    };
    if chars.get(i + hashes) != Some(&'"') {
        return None;
    }
    Some(skip_string(chars, i + hashes + 1, raw, hashes, line))
}

/// Past a character literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime (`'a`) at `i`.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> usize {
    match (chars.get(i + 1), chars.get(i + 2)) {
        (Some('\\'), _) => {
            let mut j = i + 2;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            j + 1
        }
        (Some(_), Some('\'')) => i + 3,
        _ => i + 1,
    }
}

/// Lines with code on them, not blank or comment-only, outside the `#[cfg(test)] mod tests`
/// block.
fn code_lines(source: &str) -> usize {
    let mut count = 0;
    let mut in_block_comment = false;
    let mut test_depth: Option<i64> = None;
    let mut depth: i64 = 0;
    let lines: Vec<&str> = source.lines().collect();
    for (index, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        let code = strip_comment(line, &mut in_block_comment);
        let opens = code.matches('{').count() as i64;
        let closes = code.matches('}').count() as i64;
        let starts_tests = line == "#[cfg(test)]"
            && lines
                .get(index + 1)
                .is_some_and(|next| next.trim().starts_with("mod tests"));
        if test_depth.is_none() && starts_tests {
            test_depth = Some(depth);
        }
        depth += opens - closes;
        if let Some(outer) = test_depth {
            if depth <= outer && (opens > 0 || closes > 0) {
                test_depth = None;
            }
            continue;
        }
        if !code.trim().is_empty() {
            count += 1;
        }
    }
    count
}

/// A line's code: without `//` comments and the parts inside `/* */`.
fn strip_comment(line: &str, in_block_comment: &mut bool) -> String {
    let mut code = String::new();
    let mut rest = line;
    loop {
        if *in_block_comment {
            match rest.find("*/") {
                Some(end) => {
                    *in_block_comment = false;
                    rest = &rest[end + 2..];
                }
                None => return code,
            }
        }
        let line_comment = rest.find("//");
        let block_comment = rest.find("/*");
        match (line_comment, block_comment) {
            (Some(l), Some(b)) if b < l => {
                code.push_str(&rest[..b]);
                *in_block_comment = true;
                rest = &rest[b + 2..];
            }
            (None, Some(b)) => {
                code.push_str(&rest[..b]);
                *in_block_comment = true;
                rest = &rest[b + 2..];
            }
            (Some(l), _) => {
                code.push_str(&rest[..l]);
                return code;
            }
            (None, None) => {
                code.push_str(rest);
                return code;
            }
        }
    }
}

/// The module path of `file` under `src` (`oauth/token_endpoint.rs` is `oauth::token_endpoint`,
/// `platform/linux/mod.rs` is `platform::linux`, `lib.rs` the root).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = relative(src, file);
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && stem != "lib" {
            parts.push(stem.to_owned());
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A broker crate in a fresh directory, from `(path under src, source)` pairs.
    struct Tree(PathBuf);

    impl Tree {
        fn new(files: &[(&str, &str)]) -> Self {
            let root = std::env::temp_dir().join(format!(
                "xtask-layers-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&root);
            for (path, source) in files {
                let file = root.join(BROKER_SRC).join(path);
                fs::create_dir_all(file.parent().unwrap()).unwrap();
                fs::write(file, source).unwrap();
            }
            Self(root)
        }

        fn problems(&self) -> Vec<String> {
            check(&self.0).unwrap()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const LIB: &str = "\
mod credential;
mod error;
mod msal_token_cache;
mod oauth;
mod platform;

pub use credential::{Credential, CredentialOptions as Options};
pub use error::Error;
pub use msal_token_cache::CacheWrite;
pub use mr_auth_msal_cache::MsalTokenCache;
pub use oauth::{ClientId, TokenEndpoint};
pub use platform::{Broker, BrokerMode};
";

    /// A tree that keeps every rule, so each test breaks exactly one.
    fn tidy_files() -> Vec<(&'static str, &'static str)> {
        vec![
            ("lib.rs", LIB),
            ("error.rs", "use mr_auth_core::Clock;\npub struct Error;\n"),
            ("msal_token_cache.rs", "use crate::Error;\npub struct CacheWrite;\n"),
            ("oauth/mod.rs", "mod client_id;\npub use client_id::ClientId;\n"),
            (
                "oauth/client_id.rs",
                "// crate::Credential in a comment is not a dependency.\n/// [`Credential`](crate::Credential)\nuse crate::{Error, oauth::TokenEndpoint};\nuse super::client_id;\nconst S: &str = \"crate::Credential\";\npub struct ClientId;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
            ),
            (
                "platform/mod.rs",
                "use crate::{ClientId, Error};\nuse std::sync::Arc;\npub struct Broker;\n",
            ),
            (
                "credential/mod.rs",
                "use crate::{platform::Broker, CacheWrite, MsalTokenCache, ClientId};\npub struct Credential;\n",
            ),
        ]
    }

    fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut files = tidy_files();
        for (path, source) in extra {
            files.retain(|(p, _)| p != path);
            files.push((path, source));
        }
        files
    }

    #[test]
    fn a_tree_keeping_the_layers_is_tidy() {
        assert_eq!(Tree::new(&tidy_files()).problems(), Vec::<String>::new());
    }

    #[test]
    fn oauth_naming_the_credential_through_a_re_export_fails() {
        let tree = Tree::new(&with(&[(
            "oauth/token_endpoint.rs",
            "use crate::{ClientId,\n    Options};\n",
        )]));
        let problems = tree.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("crates/mr-auth-broker/src/oauth/token_endpoint.rs:2: oauth/ names credential/ (`crate::Options`)"),
            "{problems:?}"
        );
    }

    #[test]
    fn oauth_naming_the_cache_or_the_platform_fails_inline_and_by_module() {
        let tree = Tree::new(&with(&[(
            "oauth/token_endpoint.rs",
            "fn f() {\n    let _ = crate::msal_token_cache::CacheWrite;\n    let _ = mr_auth_msal_cache::MsalTokenCache::new();\n    let _ = super::super::platform::Broker;\n}\n",
        )]));
        let problems = tree.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains(":2: oauth/ names the MSAL token cache"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains(":3: oauth/ names the MSAL token cache"),
            "{problems:?}"
        );
        assert!(
            problems[2].contains(":4: oauth/ names platform/"),
            "{problems:?}"
        );
    }

    #[test]
    fn platform_naming_the_credential_fails_even_from_an_inline_module() {
        let tree = Tree::new(&with(&[(
            "platform/linux/mod.rs",
            "use super::Broker;\nmod inner {\n    use super::super::super::Credential;\n}\n",
        )]));
        let problems = tree.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("platform/linux/mod.rs:3: platform/ names credential/"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_crate_wide_file_naming_a_layer_fails() {
        let tree = Tree::new(&with(&[(
            "error.rs",
            "pub struct Error(crate::oauth::ClientId);\n",
        )]));
        let problems = tree.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("error.rs:1: the crate-wide files names oauth/"),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_root_names_and_root_globs_are_problems() {
        let tree = Tree::new(&with(&[(
            "oauth/token_endpoint.rs",
            "use crate::*;\nuse crate::Nowhere;\n",
        )]));
        let problems = tree.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains(":1: `crate::*`: a glob"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains(":2: `crate::Nowhere`: the crate root has no"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_credential_file_over_the_limit_fails_and_its_tests_do_not_count() {
        let code: String = (0..MAX_CREDENTIAL_FILE_LINES)
            .map(|n| format!("const C{n}: u8 = 0; // a comment\n\n/// doc\n"))
            .collect();
        let tests: String = (0..500)
            .map(|n| format!("    const T{n}: u8 = 0;\n"))
            .collect();
        let at_limit = format!("{code}#[cfg(test)]\nmod tests {{\n{tests}}}\n");
        assert_eq!(code_lines(&at_limit), MAX_CREDENTIAL_FILE_LINES);
        let over =
            format!("{code}const ONE_MORE: u8 = 0;\n#[cfg(test)]\nmod tests {{\n{tests}}}\n");
        let at = Tree::new(&with(&[("credential/big.rs", at_limit.as_str())]));
        assert_eq!(at.problems(), Vec::<String>::new());
        drop(at);
        let tree = Tree::new(&with(&[("credential/big.rs", over.as_str())]));
        let problems = tree.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("credential/big.rs:1: 301 lines of code, more than the 300"),
            "{problems:?}"
        );
    }

    #[test]
    fn strings_and_comments_are_not_paths() {
        let source = "let s = r#\"crate::X \"quoted\" \"#; // crate::Y\n/* crate::Z\n */ let c = '\"'; let l: &'static str = \"crate::W\";\nuse crate::V;\n";
        let paths: Vec<_> = crate_paths(&tokenize(source))
            .into_iter()
            .map(|(line, path, _)| (line, path.join("::")))
            .collect();
        assert_eq!(paths, [(4, "crate::V".to_owned())]);
    }
}
