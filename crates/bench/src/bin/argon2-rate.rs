//! `argon2-rate`: raw argon2id hashes per second, in-process, at userhub's
//! parameters and thread count: the reference that `make bench` sets
//! creates with a password against (a create cannot hash faster than this).
//!
//! Each thread owns one buffer of `m` KiB for its whole run and reuses it,
//! as each of the server's hashing slots does, so allocation is not measured.
//! Settings come from the server's own environment variables, with the
//! server's defaults (`USERHUB_ARGON2_MEMORY_KIB`, `_ITERATIONS`,
//! `_PARALLELISM`, `USERHUB_HASH_CONCURRENCY`); `--seconds S` sets the run
//! length (default 5). One JSON line on standard output: the rate, and the
//! CPU time per hash (from `/proc/self/stat`), which, unlike the rate, does
//! not depend on how much of a shared machine the process was given.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The server's defaults (OWASP's argon2id parameters; README, Configuration).
const DEFAULT_MEMORY_KIB: u32 = 19456;
const DEFAULT_ITERATIONS: u32 = 2;
const DEFAULT_PARALLELISM: u32 = 1;
const DEFAULT_SECONDS: u64 = 5;

fn main() -> ExitCode {
    match run() {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("argon2-rate: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<String, String> {
    let memory_kib = setting("USERHUB_ARGON2_MEMORY_KIB", DEFAULT_MEMORY_KIB)?;
    let iterations = setting("USERHUB_ARGON2_ITERATIONS", DEFAULT_ITERATIONS)?;
    let parallelism = setting("USERHUB_ARGON2_PARALLELISM", DEFAULT_PARALLELISM)?;
    // The server's default is one hashing slot per core.
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let threads = setting("USERHUB_HASH_CONCURRENCY", cores)?;
    let seconds = seconds_argument()?;

    let params = Params::new(memory_kib, iterations, parallelism, None)
        .map_err(|e| format!("argon2 parameters are not usable: {e}"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = cpu_seconds()?;
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|index| {
            let params = params.clone();
            let stop = Arc::clone(&stop);
            thread::spawn(move || hash_until(&params, index, &stop))
        })
        .collect();
    thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    let mut hashes = 0u64;
    for worker in workers {
        hashes += worker
            .join()
            .map_err(|_| "a hashing thread panicked".to_owned())??;
    }
    // The last hash of each thread finishes after the stop: count the time
    // it took too.
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()? - cpu_before;
    Ok(format!(
        "{{\"hashes\":{hashes},\"seconds\":{elapsed:.3},\"hashes_per_s\":{:.2},\"cpu_ms_per_hash\":{:.2},\"threads\":{threads},\"memory_kib\":{memory_kib},\"iterations\":{iterations},\"parallelism\":{parallelism}}}",
        hashes as f64 / elapsed,
        cpu * 1000.0 / hashes.max(1) as f64
    ))
}

/// Hash until told to stop; answers how many hashes were made.
fn hash_until(params: &Params, index: usize, stop: &AtomicBool) -> Result<u64, String> {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut memory = vec![Block::default(); params.block_count()];
    let mut output = [0u8; 32];
    // Distinct salts per thread and per hash, as every stored password has.
    let mut salt = [0u8; 16];
    salt[..8].copy_from_slice(&(index as u64).to_le_bytes());
    let mut hashes = 0u64;
    while !stop.load(Ordering::Relaxed) {
        salt[8..].copy_from_slice(&hashes.to_le_bytes());
        argon2
            .hash_password_into_with_memory(
                b"correct horse battery staple",
                &salt,
                &mut output,
                &mut memory,
            )
            .map_err(|e| format!("argon2 failed: {e}"))?;
        hashes += 1;
    }
    Ok(hashes)
}

/// User and system CPU time of this process (all its threads) so far:
/// fields 14 and 15 of `/proc/self/stat`, in clock ticks of 1/100 s (Linux's
/// USER_HZ, fixed at 100 for user space on every architecture).
fn cpu_seconds() -> Result<f64, String> {
    let stat = std::fs::read_to_string("/proc/self/stat")
        .map_err(|e| format!("cannot read /proc/self/stat: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields after its closing one.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or("/proc/self/stat has no command name")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: field 3 (state) is fields[0], so field n is fields[n - 3].
    let ticks = |n: usize| -> Result<f64, String> {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .ok_or_else(|| format!("/proc/self/stat has no field {n}"))
    };
    Ok((ticks(14)? + ticks(15)?) / 100.0)
}

fn setting<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|_| format!("{name} is not a positive number: {value:?}")),
        Err(_) => Ok(default),
    }
}

fn seconds_argument() -> Result<u64, String> {
    let mut arguments = std::env::args().skip(1);
    match (arguments.next().as_deref(), arguments.next()) {
        (None, _) => Ok(DEFAULT_SECONDS),
        (Some("--seconds"), Some(value)) => value
            .parse()
            .map_err(|_| format!("--seconds takes a whole number, not {value:?}")),
        _ => Err("usage: argon2-rate [--seconds S]".to_owned()),
    }
}
