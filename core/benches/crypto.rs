//! Seal and open of one 64-byte value, per backend and key size (`cargo xtask bench`).
//! Key generation happens once, outside the measurements.
#![allow(
    clippy::expect_used,
    reason = "a benchmark with broken setup should stop loudly"
)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use secrets_core::seal::crypto::{Backend, Scope};
use secrets_core::seal::keys::{KeyBits, generate};
use time::OffsetDateTime;

fn bench(c: &mut Criterion) {
    let value = [0x5au8; 64];
    let label = Scope::Strict.label("team-a", "db-creds");
    for (bits, size) in [(KeyBits::Rsa2048, 2048), (KeyBits::Rsa4096, 4096)] {
        let key = generate(
            bits,
            "bench",
            OffsetDateTime::now_utc(),
            time::Duration::days(1),
        )
        .expect("key generation");
        let public = key.certificate.public_key();
        for backend in Backend::all() {
            let mut group = c.benchmark_group(format!("rsa{size}"));
            group
                .measurement_time(Duration::from_secs(4))
                .sample_size(30);
            group.bench_function(format!("seal/{}", backend.name()), |b| {
                b.iter(|| {
                    backend
                        .seal(public, &label, black_box(&value))
                        .expect("seal")
                })
            });
            let sealed = backend.seal(public, &label, &value).expect("seal");
            group.bench_function(format!("open/{}", backend.name()), |b| {
                b.iter(|| {
                    backend
                        .open(&key.private, &label, black_box(&sealed))
                        .expect("open")
                })
            });
            group.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
