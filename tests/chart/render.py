"""Render charts/secrets-agent with helm-python-sdk (the Helm v4 SDK, no helm binary) for the
chart tests, which drive this script from Rust (tests/chart/src/lib.rs).

Input on stdin (JSON):
  {"chart": PATH, "out": DIR, "kubeconfig": PATH|null,
   "cases": [{"name", "release", "namespace", "values", "cluster": bool}],
   "refused": [{"name", "values"}]}

Each case is rendered as its release in its namespace: offline with
Chart.render, or, with "cluster", as a server-side dry-run install against the kubeconfig's
API server, so `.Capabilities.APIVersions` is what that server serves (Chart.render takes no
API versions). Writes DIR/<name>.yaml (every manifest but NOTES.txt) and DIR/<name>.NOTES.txt.
Values in "refused" must be rejected by values.schema.json or by a check in the templates
(`required`, `fail`), as an install would be.

Output on stdout (JSON): {"lint": [...messages], "kube_versions": [...],
"refused": {name: error text or null if accepted}}.
"""

import json
import os
import sys

import helm_python as helm
import kubernetes_validate.utils as kv

def split(manifests):
    """Template path -> text, into (manifest stream without NOTES, NOTES text)."""
    stream, notes = [], ""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            notes = text
        elif text.strip():
            stream.append(f"---\n# Source: {path}\n{text.strip()}\n")
    return "".join(stream), notes


def main():
    job = json.load(sys.stdin)
    chart_path, out = job["chart"], job["out"]
    result = {"lint": [], "kube_versions": [], "refused": {}}

    for version in ("v1.27.0", None):
        report = helm.lint(chart_path, strict=True, kube_version=version)
        result["lint"].extend(report["errors"])
        result["lint"].extend(m["error"] for m in report["messages"] if m["severity"] >= 2)

    versions = sorted(kv.all_versions(), key=lambda v: tuple(int(p) for p in v.split(".")))
    result["kube_versions"] = versions[-2:]

    config = None
    with helm.Chart.load(chart_path) as chart:
        for case in job["cases"]:
            if case["cluster"]:
                if config is None:
                    config = helm.Config(
                        kubeconfig_path=job["kubeconfig"], storage_driver="memory"
                    )
                release = config.install(
                    chart_path,
                    case["release"],
                    case["values"],
                    namespace=case["namespace"],
                    dry_run="server",
                )
                stream = release["manifest"]
                notes = release["notes"] or ""
            else:
                stream, notes = split(
                    chart.render(
                        case["values"],
                        name=case["release"],
                        namespace=case["namespace"],
                        is_install=True,
                    )
                )
            with open(os.path.join(out, case["name"] + ".yaml"), "w") as f:
                f.write(stream)
            with open(os.path.join(out, case["name"] + ".NOTES.txt"), "w") as f:
                f.write(notes)

        if config is not None:
            config.close()

        for case in job["refused"]:
            try:
                chart.render(case["values"], name="refused", namespace="refused", is_install=True)
                result["refused"][case["name"]] = None
            except (helm.HelmValuesError, helm.HelmRenderError) as err:
                result["refused"][case["name"]] = str(err)

    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
