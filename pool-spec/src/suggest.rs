//! "did you mean" for unknown names.

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
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
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
pub(crate) fn hint(input: &str, candidates: &[&str]) -> String {
    if let Some(best) = closest(input, candidates) {
        format!("; did you mean `{best}`?")
    } else if !candidates.is_empty() && candidates.len() <= MAX_LISTED {
        format!("; expected {}", crate::options::one_of(candidates))
    } else {
        String::new()
    }
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
