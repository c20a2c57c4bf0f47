//! Templates as the Sealed Secrets and External Secrets Operator documentation shows them
//! (rewritten as fixtures), with the output Go's text/template + Sprig gives.

use super::*;

struct Fixture {
    source: &'static str,
    template: &'static str,
    data: &'static [(&'static str, &'static str)],
    expected: &'static str,
}

const FIXTURES: &[Fixture] = &[
    Fixture {
        source: "sealed-secrets README: a config file built from sealed values",
        template: "url: {{ .url }}\nuser: {{ .username }}\npassword: {{ .password }}\n",
        data: &[
            ("url", "https://db:5432"),
            ("username", "admin"),
            ("password", "pa ss"),
        ],
        expected: "url: https://db:5432\nuser: admin\npassword: pa ss\n",
    },
    Fixture {
        source: "sealed-secrets README: a docker config with printf and b64enc",
        template: r#"{"auths":{"{{ .registry }}":{"auth":"{{ printf "%s:%s" .username .password | b64enc }}"}}}"#,
        data: &[
            ("registry", "registry.example"),
            ("username", "u"),
            ("password", "p"),
        ],
        expected: r#"{"auths":{"registry.example":{"auth":"dTpw"}}}"#,
    },
    Fixture {
        source: "sealed-secrets issue: keys with dashes through index",
        template: r#"postgres://{{ index . "db-user" }}:{{ index . "db-password" | urlquery }}@db/app"#,
        data: &[("db-user", "app"), ("db-password", "p@ss word")],
        expected: "postgres://app:p%40ss+word@db/app",
    },
    Fixture {
        source: "ESO templating v2: a Grafana datasource file",
        template: "datasources:\n- name: Graphite\n  type: graphite\n  access: proxy\n  url: http://localhost:8080\n  password: \"{{ .password }}\"\n  user: \"{{ .user }}\"\n",
        data: &[("password", "secret"), ("user", "grafana")],
        expected: "datasources:\n- name: Graphite\n  type: graphite\n  access: proxy\n  url: http://localhost:8080\n  password: \"secret\"\n  user: \"grafana\"\n",
    },
    Fixture {
        source: "ESO templating v2: rewriting a value with replace",
        template: r#"{{ .dburl | replace "postgres://" "postgresql://" }}"#,
        data: &[("dburl", "postgres://u:p@db:5432/x")],
        expected: "postgresql://u:p@db:5432/x",
    },
    Fixture {
        source: "ESO templating v2: escaping for Helm with a raw string",
        template: "{{ `{{ .mysecret }}` }}",
        data: &[("mysecret", "x")],
        expected: "{{ .mysecret }}",
    },
    Fixture {
        source: "ESO templating v2: keys with dashes need index",
        template: r#"{{ index . "service-account-token" }}"#,
        data: &[("service-account-token", "tok")],
        expected: "tok",
    },
    Fixture {
        source: "ESO templating v1: toString on values",
        template: "password: \"{{ .password | toString }}\"\nuser: \"{{ .user | toString }}\"",
        data: &[("password", "pw"), ("user", "me")],
        expected: "password: \"pw\"\nuser: \"me\"",
    },
    Fixture {
        source: "ESO templateFrom literal: one line per key",
        template: "{{ range $key, $value := . }}{{ $key }}={{ $value }}\n{{ end }}",
        data: &[("B_KEY", "2"), ("A_KEY", "1")],
        expected: "A_KEY=1\nB_KEY=2\n",
    },
    Fixture {
        source: "ESO templating: a JSON secret read with fromJson",
        template: r#"{{ $c := .config | fromJson }}host={{ $c.host }} port={{ $c.port }} user={{ $c.user | upper }}"#,
        data: &[("config", r#"{"host":"db","port":5432,"user":"app"}"#)],
        expected: "host=db port=5432 user=APP",
    },
    Fixture {
        source: "ESO templating: a dockerconfigjson built with dict and toJson",
        template: r#"{{ dict "auths" (dict .registry (dict "auth" (printf "%s:%s" .user .pass | b64enc))) | toJson }}"#,
        data: &[("registry", "ghcr.io"), ("user", "u"), ("pass", "p")],
        expected: r#"{"auths":{"ghcr.io":{"auth":"dTpw"}}}"#,
    },
    Fixture {
        source: "ESO templating: base64 values decoded",
        template: "{{ .cert | b64dec }}",
        data: &[("cert", "LS0tLS1CRUdJTg==")],
        expected: "-----BEGIN",
    },
    Fixture {
        source: "Sprig docs: defaults, conditionals and trimmed whitespace",
        template: "{{- if .tls }}\nssl: {{ .tls | quote }}\n{{- end }}\nmode: {{ .mode | default \"prefer\" }}",
        data: &[("tls", "on"), ("mode", "")],
        expected: "\nssl: \"on\"\nmode: prefer",
    },
    Fixture {
        source: "Sprig docs: indentation for embedding in YAML",
        template: "cert: |{{ .pem | nindent 2 }}",
        data: &[("pem", "line1\nline2")],
        expected: "cert: |\n  line1\n  line2",
    },
];

#[test]
fn documentation_templates_render_as_go_does() {
    for f in FIXTURES {
        let values = f
            .data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Zeroizing::new(v.as_bytes().to_vec())))
            .collect();
        assert_eq!(check(f.template), Ok(()), "{}", f.source);
        let out = render(f.template, &values).unwrap_or_else(|e| panic!("{}: {e}", f.source));
        assert_eq!(String::from_utf8_lossy(&out), f.expected, "{}", f.source);
    }
}
