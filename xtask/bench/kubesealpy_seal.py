"""The job `kubectl-secrets seal -f secret.yaml --cert cert.pem` does, done with kubesealpy:
read a Secret manifest, seal every value (strict scope), print the SealedSecret YAML.
Used by `cargo xtask bench` as the side-by-side anchor for the CLI's wall time."""

import base64
import sys

import yaml
from kubesealpy import Sealer, SealingScope

cert, manifest = sys.argv[1], sys.argv[2]
with open(manifest, encoding="utf-8") as f:
    secret = yaml.safe_load(f)
data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
meta = secret["metadata"]
sealed = Sealer.from_certificate_file(cert).seal(meta["name"], meta["namespace"], data, SealingScope.STRICT)
sys.stdout.write("---\n" + sealed.to_yaml())
