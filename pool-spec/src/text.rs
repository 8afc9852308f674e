//! Text shared by every message: "did you mean", "one of …" lists, and the URL check that
//! both the declaration and values read at start go through.

/// Lists are printed in full only when short; a long list drowns the one suggestion that helps.
const MAX_LISTED: usize = 12;

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions, so `wrokers` is
/// one edit from `workers`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(prev2[j - 2] + 1);
            }
            cur[j] = best;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate, if close enough to be what the user meant.
pub fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let input_lower = input.to_ascii_lowercase();
    let allowed = match input.chars().count() {
        0..=2 => 0,
        3..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(usize, &'a str)> = None;
    for &candidate in candidates {
        if candidate == input {
            continue;
        }
        let mut d = distance(&input_lower, candidate);
        // A prefix (`best` for `best_worker`) is a likely abbreviation, whatever its distance.
        if input_lower.len() >= 3 && candidate.starts_with(&input_lower) {
            d = d.min(allowed);
        }
        if d <= allowed && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `; did you mean `x`?` when one is close, else `; expected one of ...` when the list is short,
/// else nothing.
pub fn hint(input: &str, candidates: &[&str]) -> String {
    if let Some(best) = closest(input, candidates) {
        format!("; did you mean `{best}`?")
    } else if !candidates.is_empty() && candidates.len() <= MAX_LISTED {
        format!("; expected {}", one_of(candidates))
    } else {
        String::new()
    }
}

/// "one of `a`, `b` or `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    match names {
        [] | [_] => join_names(names, "or"),
        _ => format!("one of {}", join_names(names, "or")),
    }
}

/// "`a`, `b` and `c`" (with `conj` as the last separator).
pub(crate) fn join_names(names: &[&str], conj: &str) -> String {
    match names {
        [] => "nothing".into(),
        [one] => format!("`{one}`"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|n| format!("`{n}`")).collect();
            format!("{} {conj} `{last}`", init.join(", "))
        }
    }
}

/// Why `url` is not `http[s]://host[:port]`, if it is not.
pub(crate) fn url_problem(url: &str) -> Option<String> {
    const EXPECTED: &str = "expected `http[s]://host[:port]`";
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Some(format!("the scheme must be `http` or `https`; {EXPECTED}"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#']) {
        return Some("a path belongs in `path_prefix`, not in `host`".into());
    }
    if rest.contains('@') {
        return Some(format!(
            "credentials are not allowed in the URL; {EXPECTED}"
        ));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Some(format!("unclosed `[` in the host; {EXPECTED}"));
        };
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Some(format!("invalid IPv6 address `{addr}`"));
        }
        match after.strip_prefix(':') {
            Some(port) => (addr, Some(port)),
            None if after.is_empty() => (addr, None),
            None => return Some(format!("unexpected `{after}` after the host; {EXPECTED}")),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    if host.is_empty() {
        return Some(format!("missing host; {EXPECTED}"));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':')))
    {
        return Some(format!("invalid character `{bad}` in the host"));
    }
    if let Some(port) = port {
        match port.parse::<u16>() {
            Ok(p) if p > 0 && port.chars().all(|c| c.is_ascii_digit()) => {}
            _ => return Some(format!("invalid port `{port}`; expected 1 to 65535")),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("wrokers", "workers"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            closest("wrokers", &["workers", "strategy"]),
            Some("workers")
        );
        assert_eq!(
            closest("best", &["best_worker", "random_worker"]),
            Some("best_worker")
        );
        assert_eq!(closest("zzzzzz", &["workers"]), None);
        assert_eq!(closest("Redis", &["redis"]), Some("redis"));
    }
}
