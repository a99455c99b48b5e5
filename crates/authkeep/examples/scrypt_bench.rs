//! Times one better-auth scrypt hash (N=16384, r=16, p=1, 64 bytes) with RustCrypto's `scrypt`,
//! as authkeep computes it. Used by `bench/run.sh` to compare with OpenSSL's scrypt.
//! `cargo run --release --example scrypt_bench [iterations]`

use std::time::Instant;

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let _ = authkeep::auth::password::hash_blocking("warm-up");
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(authkeep::auth::password::hash_blocking("password1234"));
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(n);
    println!("{{\"impl\":\"rustcrypto-scrypt\",\"ms_per_hash\":{ms:.2},\"iterations\":{n}}}");
}
