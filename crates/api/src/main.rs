//! The `userhub` binary: everything lives in the library (`userhub_api::cli`).

fn main() -> std::process::ExitCode {
    userhub_api::cli::main()
}
