"""kubesealpy as an independent Sealed Secrets peer for plugin/tests/interop.rs.

  seal CERT NAME NAMESPACE SCOPE  < {"key": "<base64 value>", ...}   -> SealedSecret YAML on stdout
  unseal SEALED_YAML PRIVATE_KEY                                    -> {"key": "<base64 value>"} JSON
"""

import base64
import json
import sys

from kubesealpy import Sealer, SealingScope, Unsealer
from kubesealpy.models import SealedSecret

SCOPES = {
    "strict": SealingScope.STRICT,
    "namespace-wide": SealingScope.NAMESPACE_WIDE,
    "cluster-wide": SealingScope.CLUSTER_WIDE,
}


def seal(cert, name, namespace, scope):
    data = {k: base64.b64decode(v) for k, v in json.load(sys.stdin).items()}
    sealed = Sealer.from_certificate_file(cert).seal(name, namespace, data, SCOPES[scope])
    sys.stdout.write(sealed.to_yaml())


def unseal(sealed_path, key_path):
    with open(sealed_path, encoding="utf-8") as f:
        sealed = SealedSecret.from_yaml(f.read())
    secret = Unsealer.from_private_key_file(key_path).unseal(sealed)
    json.dump(secret.data, sys.stdout)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"seal": seal, "unseal": unseal}[command](*args)
