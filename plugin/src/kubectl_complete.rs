//! Completion answers for `kubectl secrets <TAB>`, in the form kubectl's plugin completion
//! reads (kubectl ≥ 1.26).
//!
//! Data flow: kubectl runs `kubectl_complete-secrets` from `PATH` with the words typed after
//! `secrets` (kubectl's own global flags cleared; the last word is the one being completed,
//! empty after a space) → [`complete`] walks the clap command tree of [`crate::cli`] (the one
//! `kubectl-secrets` parses with, so the answer never drifts from the real flags) → [`Answer`]
//! renders Cobra's `__complete` answer: one `candidate\tdescription` line each, then
//! `:<directive>`. Nothing here reads a file, the environment or the cluster.

use clap::{Arg, Command};

/// Cobra's `ShellCompDirectiveDefault`: the shell may complete file names.
const DEFAULT: u32 = 0;
/// Cobra's `ShellCompDirectiveNoFileComp`: offer only the candidates given.
const NO_FILE_COMP: u32 = 4;

/// What to offer for the last word.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Candidates with an optional one-line description.
    pub(crate) candidates: Vec<(String, Option<String>)>,
    /// Cobra `ShellCompDirective` bit flags.
    pub(crate) directive: u32,
}

impl Answer {
    fn only(candidates: Vec<(String, Option<String>)>) -> Self {
        Answer {
            candidates,
            directive: NO_FILE_COMP,
        }
    }

    /// Cobra's wire format: a line per candidate, then `:<directive>`.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for (candidate, description) in &self.candidates {
            out.push_str(candidate);
            if let Some(description) = description {
                out.push('\t');
                out.push_str(description);
            }
            out.push('\n');
        }
        out.push_str(&format!(":{}\n", self.directive));
        out
    }
}

/// The answer for `words` (everything after the plugin name; the last is being completed).
/// A leading `__complete` is dropped, so Cobra-style callers get the same answer.
pub(crate) fn complete(mut root: Command, words: &[String]) -> Answer {
    // Propagates the global flags and adds `help`, as parsing would.
    root.build();
    let words = match words.split_first() {
        Some((first, rest)) if first == "__complete" => rest,
        _ => words,
    };
    let (typed, current) = match words.split_last() {
        Some((last, typed)) => (typed, last.as_str()),
        None => (&[][..], ""),
    };
    let mut command = &root;
    let mut pending: Option<&Arg> = None;
    let mut positional_only = false;
    for word in typed {
        if pending.take().is_some() {
            continue;
        }
        if positional_only {
            continue;
        }
        if word == "--" {
            positional_only = true;
        } else if let Some(long) = word.strip_prefix("--") {
            pending = long_arg(command, long).filter(|arg| takes_value(arg) && !long.contains('='));
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            pending = short_cluster_pending(command, shorts);
        } else if let Some(sub) = command.find_subcommand(word) {
            command = sub;
        }
    }
    if let Some(arg) = pending {
        return values(arg, current);
    }
    if positional_only {
        return positional(command, current);
    }
    if let Some(long) = current.strip_prefix("--") {
        if let Some((name, value)) = long.split_once('=') {
            return match long_arg(command, name) {
                Some(arg) if takes_value(arg) => values(arg, value),
                _ => Answer::only(Vec::new()),
            };
        }
        return Answer::only(flags(command, current, false));
    }
    if current.starts_with('-') {
        return Answer::only(flags(command, current, current == "-"));
    }
    if command.has_subcommands() {
        let subs = command
            .get_subcommands()
            .filter(|sub| !sub.is_hide_set() && sub.get_name().starts_with(current))
            .map(|sub| (sub.get_name().to_owned(), first_line(sub.get_about())))
            .collect();
        return Answer::only(subs);
    }
    positional(command, current)
}

/// The flag named `--name` (or `--name=…`) in `command`.
fn long_arg<'a>(command: &'a Command, name: &str) -> Option<&'a Arg> {
    let name = name.split_once('=').map_or(name, |(name, _)| name);
    command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(name))
}

/// `-abc`: the flag whose value is the next word, when the cluster ends with one that takes
/// a value (`-n` then `NS`); `-nNS` holds its value itself.
fn short_cluster_pending<'a>(command: &'a Command, shorts: &str) -> Option<&'a Arg> {
    let mut chars = shorts.chars();
    while let Some(c) = chars.next() {
        let arg = command
            .get_arguments()
            .find(|arg| arg.get_short() == Some(c))?;
        if takes_value(arg) {
            return chars.as_str().is_empty().then_some(arg);
        }
    }
    None
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.takes_values()) && !arg.is_require_equals_set()
}

/// Flags of `command` (its own, then the global ones) starting with `prefix`; with `short`
/// also the `-x` spellings.
fn flags(command: &Command, prefix: &str, short: bool) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for arg in command.get_arguments().filter(|arg| !arg.is_hide_set()) {
        let description = first_line(arg.get_help());
        if short && let Some(c) = arg.get_short() {
            out.push((format!("-{c}"), description.clone()));
        }
        if let Some(long) = arg.get_long() {
            let long = format!("--{long}");
            if long.starts_with(prefix) {
                out.push((long, description));
            }
        }
    }
    out
}

/// The value of `arg`: its possible values, else file names when it names a path, else
/// nothing (a name in the cluster is never looked up).
fn values(arg: &Arg, prefix: &str) -> Answer {
    let possible = arg.get_possible_values();
    if !possible.is_empty() {
        return Answer::only(
            possible
                .iter()
                .filter(|value| !value.is_hide_set() && value.get_name().starts_with(prefix))
                .map(|value| (value.get_name().to_owned(), first_line(value.get_help())))
                .collect(),
        );
    }
    if names_a_path(arg) {
        return Answer {
            candidates: Vec::new(),
            directive: DEFAULT,
        };
    }
    Answer::only(Vec::new())
}

/// A positional word: the first positional's possible values, file names when the command
/// takes files, else nothing.
fn positional(command: &Command, prefix: &str) -> Answer {
    let mut positionals = command.get_positionals().filter(|arg| !arg.is_hide_set());
    match positionals.next() {
        Some(arg) if !arg.get_possible_values().is_empty() || names_a_path(arg) => {
            values(arg, prefix)
        }
        _ => Answer::only(Vec::new()),
    }
}

/// Our flags say what they take in their value name (`PATH`, `FILE`, `FILE|DIR|-`, …).
fn names_a_path(arg: &Arg) -> bool {
    arg.get_value_names().is_some_and(|names| {
        names.iter().any(|name| {
            name.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|part| ["PATH", "FILE", "DIR"].contains(&part))
        })
    })
}

fn first_line(text: Option<&clap::builder::StyledStr>) -> Option<String> {
    let text = text?.to_string();
    let line = text.lines().next()?.trim().trim_end_matches('.');
    (!line.is_empty()).then(|| line.to_owned())
}

// Loaded by `#[path]` from the binary, so nested files are named from `src/`.
#[cfg(test)]
#[path = "kubectl_complete/tests.rs"]
mod tests;
