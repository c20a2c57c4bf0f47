//! `pathGlob` matching: `*` is any run of characters within one path segment, `**` any run
//! across segments (so `a/**/b` matches `a/b`, `a/x/b` and `a/x/y/b`); every other character
//! is itself. Written out here because it is this small, and a glob crate's extra syntax
//! (`?`, `[…]`, `{a,b}`) would be one more thing people could get wrong in a suppression.

/// A piece of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// One literal character.
    Char(char),
    /// `*`: any characters but `/`.
    Star,
    /// `**`: any characters, `/` included.
    AnyDepth,
    /// `**/`: nothing, or any characters ending in `/` (zero or more whole segments).
    Segments,
}

fn tokens(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c == '*' && chars.get(i + 1) == Some(&'*') {
            // Any longer run of stars means the same as two.
            let mut j = i + 2;
            while chars.get(j) == Some(&'*') {
                j += 1;
            }
            if chars.get(j) == Some(&'/') {
                out.push(Token::Segments);
                j += 1;
            } else {
                out.push(Token::AnyDepth);
            }
            i = j;
        } else {
            out.push(if c == '*' {
                Token::Star
            } else {
                Token::Char(c)
            });
            i += 1;
        }
    }
    out
}

/// Whether `path` matches `pattern` as a whole.
pub(super) fn matches(pattern: &str, path: &str) -> bool {
    let tokens = tokens(pattern);
    let text: Vec<char> = path.chars().collect();
    // reach[j]: the tokens so far can consume exactly text[..j]. One pass per token keeps
    // this O(tokens × text²) at worst, with no backtracking blow-up on `*a*a*a…`.
    let mut reach = vec![false; text.len() + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for token in tokens {
        let mut next = vec![false; text.len() + 1];
        for start in (0..=text.len()).filter(|&j| reach.get(j) == Some(&true)) {
            match token {
                Token::Char(c) => {
                    if text.get(start) == Some(&c)
                        && let Some(slot) = next.get_mut(start + 1)
                    {
                        *slot = true;
                    }
                }
                Token::Star => {
                    for end in start..=text.len() {
                        if let Some(slot) = next.get_mut(end) {
                            *slot = true;
                        }
                        if text.get(end) == Some(&'/') {
                            break;
                        }
                    }
                }
                Token::AnyDepth => next.iter_mut().skip(start).for_each(|slot| *slot = true),
                Token::Segments => {
                    if let Some(slot) = next.get_mut(start) {
                        *slot = true;
                    }
                    for end in start..text.len() {
                        if text.get(end) == Some(&'/')
                            && let Some(slot) = next.get_mut(end + 1)
                        {
                            *slot = true;
                        }
                    }
                }
            }
        }
        reach = next;
    }
    reach.last() == Some(&true)
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_stays_within_a_segment() {
        assert!(matches("charts/*/values.yaml", "charts/app/values.yaml"));
        assert!(!matches("charts/*/values.yaml", "charts/a/b/values.yaml"));
        assert!(matches("*.yaml", "secret.yaml"));
        assert!(!matches("*.yaml", "deploy/secret.yaml"));
        assert!(matches("deploy/*", "deploy/"));
        assert!(matches("a*b*c", "abc"));
        assert!(!matches("a*b*c", "ab/c"));
    }

    #[test]
    fn double_star_crosses_segments() {
        let pattern = "charts/*/examples/**";
        assert!(matches(pattern, "charts/app/examples/secret.yaml"));
        assert!(matches(pattern, "charts/app/examples/deep/er/secret.yaml"));
        assert!(!matches(pattern, "charts/app/templates/secret.yaml"));
        assert!(matches("**/secret.yaml", "secret.yaml"));
        assert!(matches("**/secret.yaml", "a/b/secret.yaml"));
        assert!(!matches("**/secret.yaml", "a/b/my-secret.yaml"));
        assert!(matches("a/**/b", "a/b"));
        assert!(matches("a/**/b", "a/x/y/b"));
        assert!(matches("**", "anything/at/all"));
        assert!(matches("a/***/b", "a/x/b"));
    }

    #[test]
    fn everything_else_is_literal() {
        assert!(matches("a?b[1].yaml", "a?b[1].yaml"));
        assert!(!matches("a?b.yaml", "axb.yaml"));
        assert!(matches("", ""));
        assert!(!matches("", "a"));
        assert!(!matches("deploy/secret.yaml", "deploy/secret.yml"));
    }

    #[test]
    fn many_stars_do_not_blow_up() {
        let pattern = "*a".repeat(30) + "b";
        let text = "a".repeat(200);
        assert!(!matches(&pattern, &text));
    }
}
