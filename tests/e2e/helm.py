"""Install or uninstall the chart on the e2e cluster with helm-python-sdk (the Helm v4 SDK), so
the e2e suite needs no helm binary. Driven from tests/e2e/src/lib.rs.

  helm.py install   <<< {"chart", "release", "namespace", "values"}
  helm.py uninstall <<< {"release", "namespace"}

The kubeconfig is KUBECONFIG's. Install creates the namespace, installs the chart's crds/
first (as `helm install` does) and waits for the Deployment to be ready.
"""

import json
import sys

import helm_python as helm


def main():
    action, job = sys.argv[1], json.load(sys.stdin)
    with helm.Config(namespace=job["namespace"]) as config:
        if action == "install":
            release = config.install(
                job["chart"],
                job["release"],
                job["values"],
                namespace=job["namespace"],
                create_namespace=True,
                wait="watcher",
                timeout=300,
            )
            print(release["status"])
        elif action == "uninstall":
            config.uninstall(job["release"], wait="watcher", timeout=120, ignore_not_found=True)
        else:
            sys.exit(f"unknown action {action}")


if __name__ == "__main__":
    main()
