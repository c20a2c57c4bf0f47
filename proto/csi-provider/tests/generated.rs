//! The checked-in stubs (`src/v1alpha1.rs`) must be what tonic-prost-build makes from
//! `service.proto` today, so nobody edits them by hand and the build needs no protoc.
//! `CSI_PROTO_UPDATE=1 cargo test -p csi-provider-proto` rewrites them.

#![allow(clippy::panic, reason = "tests fail loudly")]

use std::path::Path;

fn generate(out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let descriptors = protox::compile([root.join("service.proto")], [root])
        .unwrap_or_else(|err| panic!("compiling service.proto: {err}"));
    tonic_prost_build::configure()
        .build_transport(false)
        .out_dir(out)
        .compile_fds(descriptors)
        .unwrap_or_else(|err| panic!("generating the stubs: {err}"));
}

#[test]
fn checked_in_stubs_match_the_proto() {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("temp dir: {err}"));
    generate(dir.path());
    let fresh = std::fs::read_to_string(dir.path().join("v1alpha1.rs"))
        .unwrap_or_else(|err| panic!("reading the generated stubs: {err}"));
    let checked_in_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/v1alpha1.rs");
    if std::env::var_os("CSI_PROTO_UPDATE").is_some() {
        std::fs::write(&checked_in_path, &fresh)
            .unwrap_or_else(|err| panic!("writing {}: {err}", checked_in_path.display()));
    }
    let checked_in = std::fs::read_to_string(&checked_in_path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", checked_in_path.display()));
    assert!(
        fresh == checked_in,
        "src/v1alpha1.rs is not what service.proto generates: run \
         `CSI_PROTO_UPDATE=1 cargo test -p csi-provider-proto` and commit the result"
    );
}
