//! The text report, in the manner of `linkerd check`: one block per category, a mark per
//! finding (`×` fail, `‼` warn, `√` pass, `?` incomplete or unknown, `-` suppressed), the
//! subject and scope, one line of why, then the chain (`via`) and the fix (`hint`) indented.
//! Passing findings print on one line; the last line counts what needs attention.

use std::fmt::Write as _;

use secrets_core::audit::{Category, Finding, Report, Status};

const CATEGORIES: [(Category, &str); 4] = [
    (Category::Rbac, "who can read Secrets (RBAC)"),
    (Category::Encryption, "encryption at rest"),
    (Category::Git, "plaintext Secrets in Git"),
    (Category::Agent, "kubectl-secrets install"),
];

fn mark(finding: &Finding) -> &'static str {
    if finding.suppressed {
        return "-";
    }
    match finding.status {
        Status::Fail => "×",
        Status::Warn => "‼",
        Status::Pass => "√",
        Status::Incomplete | Status::Unknown => "?",
    }
}

fn subject(finding: &Finding) -> String {
    let s = &finding.subject;
    let mut text = match &s.namespace {
        Some(ns) => format!("{}/{ns}/{}", s.kind, s.name),
        None => format!("{}/{}", s.kind, s.name),
    };
    if let Some(location) = &finding.location {
        text = format!("{}:{}", location.path, location.line);
        if let Some(commit) = &location.commit {
            let short = commit.get(..12).unwrap_or(commit);
            text.push_str(&format!(" (commit {short})"));
        }
    } else {
        text.push_str(&format!(" [{}]", finding.scope));
    }
    text
}

fn severity(finding: &Finding) -> String {
    format!("{:?}", finding.severity).to_lowercase()
}

/// The whole report as text.
pub(crate) fn text(report: &Report) -> String {
    let mut out = String::from("kubectl secrets doctor\n======================\n");
    for (category, title) in CATEGORIES {
        let findings: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.category == category)
            .collect();
        if findings.is_empty() {
            continue;
        }
        let _ = write!(out, "\n{title}\n{}\n", "-".repeat(title.chars().count()));
        for f in findings {
            let _ = writeln!(
                out,
                "{} {} {} ({}): {}",
                mark(f),
                f.id,
                subject(f),
                severity(f),
                f.message
            );
            if f.status == Status::Pass && !f.suppressed {
                continue;
            }
            if f.location.is_some() {
                // A place in a file: document, object, keys — one path, one line.
                if !f.via.is_empty() {
                    let _ = writeln!(out, "    at {}", f.via.join(" · "));
                }
            } else {
                // Each entry is one chain that grants the access.
                for step in &f.via {
                    let _ = writeln!(out, "    via {step}");
                }
            }
            if !f.hint.is_empty() && !f.suppressed {
                let _ = writeln!(out, "    fix: {}", f.hint);
            }
        }
    }
    let s = &report.summary;
    let _ = write!(
        out,
        "\nStatus: {} critical, {} high, {} medium, {} low, {} info to look at; {} check(s) incomplete\n",
        s.critical, s.high, s.medium, s.low, s.info, s.incomplete
    );
    let suppressed = report.findings.iter().filter(|f| f.suppressed).count();
    if suppressed > 0 {
        let _ = writeln!(
            out,
            "{suppressed} finding(s) suppressed by the suppression file"
        );
    }
    out
}
