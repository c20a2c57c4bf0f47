//! `as=Table` responses for `kubectl get`: NAME, the CRD's printer columns (simple JSONPaths)
//! and AGE, with each row's object as `PartialObjectMetadata`.

use serde_json::{Value, json};

use crate::registry::ResourceDef;

/// Does the Accept header ask for a table?
pub(super) fn wanted(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',')
            .next()
            .is_some_and(|first| first.contains("as=Table"))
    })
}

/// Render objects as a `meta.k8s.io/v1` Table.
pub(super) fn render(def: &ResourceDef, items: &[&Value], resource_version: &str) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}),
    ];
    for column in &def.printer_columns {
        if column["name"] == "Age" {
            continue;
        }
        columns.push(json!({
            "name": column["name"], "type": column["type"].as_str().unwrap_or("string"),
            "format": "", "description": column["description"].as_str().unwrap_or_default(),
            "priority": column["priority"].as_i64().unwrap_or(0),
        }));
    }
    columns.push(
        json!({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}),
    );
    let rows: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut cells = vec![item["metadata"]["name"].clone()];
            for column in def.printer_columns.iter().filter(|c| c["name"] != "Age") {
                cells.push(lookup(item, column["jsonPath"].as_str().unwrap_or_default()));
            }
            cells.push(json!(age(item["metadata"]["creationTimestamp"].as_str())));
            json!({
                "cells": cells,
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"]},
            })
        })
        .collect();
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns, "rows": rows,
    })
}

/// `.a.b` and `.a[?(@.type=="X")].b`, the shapes printer columns use.
fn lookup(item: &Value, path: &str) -> Value {
    let mut current = item.clone();
    for part in segments(path) {
        current = match part.split_once("[?(@.") {
            Some((field, filter)) => {
                let filter = filter.trim_end_matches(")]");
                let (key, want) = filter.split_once("==").unwrap_or((filter, ""));
                let want = want.trim_matches(|c| c == '"' || c == '\'');
                current[field]
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .find(|i| i[key].as_str() == Some(want))
                            .cloned()
                    })
                    .unwrap_or(Value::Null)
            }
            None => current[part.as_str()].clone(),
        };
    }
    if current.is_null() {
        json!("")
    } else {
        current
    }
}

/// Split a JSONPath on the dots outside `[...]`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in path.trim_start_matches('.').chars() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

fn age(created: Option<&str>) -> String {
    let parsed = created.and_then(|c| {
        time::OffsetDateTime::parse(c, &time::format_description::well_known::Rfc3339).ok()
    });
    let Some(created) = parsed else {
        return "<unknown>".to_owned();
    };
    let secs = (time::OffsetDateTime::now_utc() - created)
        .whole_seconds()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let obj = json!({"status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True", "reason": "Unsealed"}]}});
        assert_eq!(
            lookup(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            json!("True")
        );
        assert_eq!(
            lookup(&obj, ".status.conditions[?(@.type=='Ready')].reason"),
            json!("Unsealed")
        );
        assert_eq!(lookup(&obj, ".status.missing"), json!(""));
    }
}
