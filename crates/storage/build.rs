//! The migrations are embedded into the binary at compile time
//! (`embed_migrations!`): rebuild when they change.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
