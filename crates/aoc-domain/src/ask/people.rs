//! People and objects in a question: UPNs, and display names matched against the actors and
//! targets the store knows (so "Adele Vance" becomes the exact actor filter).

/// Someone or something the question names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mention {
    /// A known actor, spelled as stored.
    Actor(String),
    /// A known target, or a UPN nobody acted as: matched as free text.
    Text(String),
}

/// A match and the word span it covers (so other readers skip those words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub mention: Mention,
    pub first_word: usize,
    pub words: usize,
}

fn looks_like_upn(word: &str) -> bool {
    match word.split_once('@') {
        Some((user, domain)) => {
            !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        }
        None => false,
    }
}

/// Lowercase words of a name, split like a question.
fn name_words(name: &str) -> Vec<String> {
    super::words_of(name)
}

/// The earliest longest span of `words` equal to one of `names` (at least 3 characters, so
/// initials do not match everyday words).
fn find_name(words: &[String], names: &[String], taken: &[bool]) -> Option<(String, usize, usize)> {
    let mut best: Option<(String, usize, usize)> = None;
    for name in names {
        if name.trim().chars().count() < 3 {
            continue;
        }
        let nw = name_words(name);
        if nw.is_empty() || nw.len() > words.len() {
            continue;
        }
        for start in 0..=words.len() - nw.len() {
            if taken[start..start + nw.len()].iter().any(|t| *t) {
                continue;
            }
            if words[start..start + nw.len()] == nw[..] {
                let better = match &best {
                    None => true,
                    Some((_, s, l)) => nw.len() > *l || (nw.len() == *l && start < *s),
                };
                if better {
                    best = Some((name.clone(), start, nw.len()));
                }
            }
        }
    }
    best
}

/// Words that are never a person's first name in a question, though they may start one.
const NOT_NAMES: &[&str] = &[
    "who",
    "what",
    "which",
    "when",
    "show",
    "list",
    "find",
    "the",
    "all",
    "any",
    "top",
    "how",
    "did",
    "does",
    "was",
    "were",
    "has",
    "have",
    "and",
    "for",
    "from",
    "with",
    "mail",
    "teams",
    "user",
    "users",
    "admin",
    "admins",
    "last",
    "this",
    "today",
    "yesterday",
    "since",
    "between",
];

/// UPNs, full display names, and a first or last name that fits exactly one known actor.
pub fn find_mentions(
    words: &[String],
    original: &[String],
    actors: &[String],
    targets: &[String],
) -> Vec<Found> {
    let mut taken = vec![false; words.len()];
    let mut out = Vec::new();
    let take = |out: &mut Vec<Found>, taken: &mut Vec<bool>, mention, first_word, n| {
        for t in taken.iter_mut().skip(first_word).take(n) {
            *t = true;
        }
        out.push(Found {
            mention,
            first_word,
            words: n,
        });
    };
    for (i, w) in words.iter().enumerate() {
        if looks_like_upn(w) {
            let mention = match actors.iter().find(|a| a.eq_ignore_ascii_case(w)) {
                Some(a) => Mention::Actor(a.clone()),
                None => Mention::Text(w.clone()),
            };
            take(&mut out, &mut taken, mention, i, 1);
        }
    }
    while let Some((name, start, n)) = find_name(words, actors, &taken) {
        take(&mut out, &mut taken, Mention::Actor(name), start, n);
    }
    while let Some((name, start, n)) = find_name(words, targets, &taken) {
        take(&mut out, &mut taken, Mention::Text(name), start, n);
    }
    // "what did Adele do": a capitalised word that is the first or last name of one actor.
    for (i, w) in words.iter().enumerate() {
        if taken[i] || w.chars().count() < 3 || NOT_NAMES.contains(&w.as_str()) {
            continue;
        }
        let capitalised = original
            .get(i)
            .and_then(|o| o.chars().next())
            .is_some_and(char::is_uppercase);
        if !capitalised {
            continue;
        }
        let fits: Vec<&String> = actors
            .iter()
            .filter(|a| {
                let nw = name_words(a);
                nw.len() > 1 && (nw.first() == Some(w) || nw.last() == Some(w))
            })
            .collect();
        if let [only] = fits[..] {
            let name = only.clone();
            take(&mut out, &mut taken, Mention::Actor(name), i, 1);
        }
    }
    out.sort_by_key(|f| f.first_word);
    out
}
