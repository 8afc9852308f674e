//! No input panics: random token streams and TOML texts, and mutations of valid declarations,
//! go through parsing, validation, planning and error rendering. A small seeded generator keeps
//! failures reproducible and the run short.

use proc_macro2::{Delimiter, Group, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};

use super::attr_form::DESIGN_EXAMPLE;
use super::toml_form::DESIGN_EXAMPLE_TOML;
use super::*;

/// xorshift64*: enough randomness for input generation, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Words that reach deep into the parser: types, keys, values, structure.
fn words() -> Vec<&'static str> {
    let mut words: Vec<&'static str> = OPTIONS
        .iter()
        .flat_map(|d| d.name.split('.'))
        .chain(PoolType::NAMES.iter().copied())
        .chain(Strategy::NAMES.iter().copied())
        .chain(Driver::NAMES.iter().copied())
        .collect();
    words.extend([
        "hosts",
        "crate",
        "file",
        "connection",
        "tls",
        "env",
        "default",
        "global",
        "host",
        "host_type",
        "infinity",
        "true",
        "false",
        "none",
        "peer",
        "fifo",
        "lifo",
        "address",
        "rootdn",
        "encrypt",
        "x",
        "_",
        "r#type",
        "self",
    ]);
    words
}

const STRINGS: &[&str] = &[
    "a.com",
    "b.com",
    "c.eu",
    "",
    "http://h",
    "https://h:99999",
    "ftp://x",
    "DSN=x",
    "peer",
    "global",
    "host",
    "single_host",
    "1HOST",
    "NAME",
    "é",
    "a com",
    "http://[::1",
    "infinity",
];

fn random_literal(rng: &mut Rng) -> Literal {
    match rng.below(8) {
        0 | 1 => Literal::string(rng.word(STRINGS)),
        2 => Literal::i64_unsuffixed(*rng.pick(&[0, 1, 5, 389, 65535, 65536, i64::MAX])),
        3 => Literal::u64_unsuffixed(rng.next()),
        4 => Literal::u32_suffixed(7),
        5 => Literal::f64_unsuffixed(1.5),
        6 => Literal::character('c'),
        _ => Literal::byte_string(b"bytes"),
    }
}

fn random_tree(rng: &mut Rng, words: &[&'static str], depth: usize) -> TokenTree {
    match rng.below(10) {
        0..=3 => {
            let word = rng.word(words);
            match word.strip_prefix("r#") {
                Some(raw) => Ident::new_raw(raw, Span::call_site()).into(),
                None => Ident::new(word, Span::call_site()).into(),
            }
        }
        4 | 5 => random_literal(rng).into(),
        6 | 7 => {
            let ch = *rng.pick(&['=', ',', '-', ':', ';', '#', '!', '\'', '.', '@']);
            let spacing = if rng.chance(20) {
                Spacing::Joint
            } else {
                Spacing::Alone
            };
            Punct::new(ch, spacing).into()
        }
        _ if depth == 0 => Ident::new("x", Span::call_site()).into(),
        _ => {
            let delimiter = *rng.pick(&[
                Delimiter::Parenthesis,
                Delimiter::Parenthesis,
                Delimiter::Bracket,
                Delimiter::Brace,
                Delimiter::None,
            ]);
            let len = rng.below(7);
            Group::new(delimiter, random_stream(rng, words, depth - 1, len)).into()
        }
    }
}

fn random_stream(rng: &mut Rng, words: &[&'static str], depth: usize, len: usize) -> TokenStream {
    (0..len).map(|_| random_tree(rng, words, depth)).collect()
}

/// Deletes, duplicates, swaps, replaces or inserts tokens at every nesting level.
fn mutate(rng: &mut Rng, words: &[&'static str], stream: TokenStream) -> TokenStream {
    let mut tokens: Vec<TokenTree> = stream
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) if rng.chance(60) => {
                let mut group = Group::new(g.delimiter(), mutate(rng, words, g.stream()));
                group.set_span(g.span());
                group.into()
            }
            other => other,
        })
        .collect();
    let edits = rng.below(3);
    for _ in 0..edits {
        if tokens.is_empty() {
            break;
        }
        let at = rng.below(tokens.len());
        match rng.below(5) {
            0 => {
                tokens.remove(at);
            }
            1 => tokens.insert(at, tokens[at].clone()),
            2 if at + 1 < tokens.len() => tokens.swap(at, at + 1),
            3 => tokens[at] = random_tree(rng, words, 2),
            _ => tokens.insert(at, random_tree(rng, words, 2)),
        }
    }
    tokens.into_iter().collect()
}

/// Everything downstream of parsing must cope with whatever was recovered.
fn exercise_attr(tokens: TokenStream) {
    let (decl, errors) = parse_attr_recover(tokens);
    let _ = errors.to_compile_error();
    let _ = errors.to_string();
    let plan = plan(&decl);
    let _ = format!("{decl:?}{plan:?}{plan}");
}

fn exercise_toml(text: &str) {
    let (decl, errors) = parse_toml_recover(text, "fuzz.toml");
    let _ = errors.to_syn_error();
    let _ = errors.to_string();
    let plan = plan(&decl);
    let _ = format!("{decl:?}{plan:?}{plan}");
}

#[test]
fn random_token_streams_do_not_panic() {
    let words = words();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let len = rng.below(12);
        exercise_attr(random_stream(&mut rng, &words, 4, len));
    }
}

#[test]
fn mutated_declarations_do_not_panic() {
    let words = words();
    let valid: TokenStream = DESIGN_EXAMPLE.parse().unwrap();
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..3000 {
        exercise_attr(mutate(&mut rng, &words, valid.clone()));
    }
}

const TOML_PIECES: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    ".",
    ",",
    "{",
    "}",
    "\n",
    "#",
    " ",
    "'",
    "outgoing_pools",
    "host_config",
    "general",
    "hosts",
    "redis",
    "http",
    "rdbms",
    "default",
    "connection",
    "tls",
    "env",
    "scope",
    "host",
    "\"single_host\"",
    "workers",
    "5",
    "-1",
    "1.5",
    "true",
    "\"a.com\"",
    "servers",
    "auth.plain.username",
    "é",
    "1979-05-27",
    "0x1F",
];

#[test]
fn random_toml_does_not_panic() {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..3000 {
        let len = rng.below(40);
        let text: String = (0..len).map(|_| rng.word(TOML_PIECES)).collect();
        exercise_toml(&text);
    }
}

#[test]
fn mutated_toml_does_not_panic() {
    let mut rng = Rng(0x6A09_E667_F3BC_C908);
    for _ in 0..3000 {
        let mut text = DESIGN_EXAMPLE_TOML.to_owned();
        for _ in 0..1 + rng.below(4) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match rng.below(3) {
                0 => {
                    let mut end = (at + 1 + rng.below(8)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
                1 => text.insert_str(at, rng.word(TOML_PIECES)),
                _ => {
                    let mut end = (at + 1 + rng.below(4)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, rng.word(TOML_PIECES));
                }
            }
        }
        exercise_toml(&text);
    }
}
