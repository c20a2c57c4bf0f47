//! A small reader for the Prometheus text exposition format, enough for `/metrics` of an
//! apiserver: `# HELP`/`# TYPE` comments and blank lines skipped, `name{label="value",…} value
//! [timestamp]` samples with escaped label values (`\\`, `\"`, `\n`), values in Go's float
//! syntax (`1e+03`, `+Inf`, `NaN`). A line that does not parse is skipped: the checks read a
//! few families and must not fail on an exporter's oddity elsewhere.

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Sample {
    pub(super) name: String,
    pub(super) labels: Vec<(String, String)>,
    pub(super) value: f64,
}

impl Sample {
    /// The value of label `key`; a missing label reads as empty, as in PromQL.
    pub(super) fn label(&self, key: &str) -> &str {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Every sample of `text` whose metric name is in `names` (others are not even parsed past the
/// name, so a large body stays cheap).
pub(super) fn samples(text: &str, names: &[&str]) -> Vec<Sample> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let end = line
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(line.len());
            let name = line.get(..end)?;
            if !names.contains(&name) {
                return None;
            }
            parse_rest(name, line.get(end..)?)
        })
        .collect()
}

fn parse_rest(name: &str, rest: &str) -> Option<Sample> {
    // Blanks may separate the name from its labels, as Go's reader allows.
    let rest = rest.trim_start_matches([' ', '\t']);
    let mut chars = rest.char_indices().peekable();
    let mut labels = Vec::new();
    let mut after_labels = 0;
    if rest.starts_with('{') {
        chars.next();
        loop {
            // Skip separators and whitespace, then either `}` or a label name.
            while chars
                .next_if(|(_, c)| *c == ',' || c.is_whitespace())
                .is_some()
            {}
            let (start, c) = chars.next()?;
            if c == '}' {
                after_labels = start + 1;
                break;
            }
            let mut key = String::from(c);
            while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
                key.push(c);
            }
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            chars.next().filter(|(_, c)| *c == '=')?;
            while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
            chars.next().filter(|(_, c)| *c == '"')?;
            let mut value = String::new();
            loop {
                match chars.next()?.1 {
                    '"' => break,
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    other => value.push(other),
                }
            }
            labels.push((key, value));
        }
    }
    let value = rest.get(after_labels..)?.split_whitespace().next()?;
    Some(Sample {
        name: name.to_owned(),
        labels,
        value: parse_value(value)?,
    })
}

/// Go's `strconv.ParseFloat` spellings the exporters write; Rust's parser reads the same
/// forms (`+Inf`, `-Inf`, `NaN`, exponents) case-insensitively.
fn parse_value(text: &str) -> Option<f64> {
    text.parse().ok()
}
