//! The core stays pure: no I/O crates in its manifest.

#[test]
fn the_core_depends_on_no_io_or_async_crate() {
    let manifest = include_str!("../../Cargo.toml");
    for forbidden in [
        "tokio", "sqlx", "rusqlite", "axum", "hyper", "reqwest", "tower",
    ] {
        let declared = manifest.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with(&format!("{forbidden} "))
                || line.starts_with(&format!("{forbidden}="))
                || line.starts_with(&format!("{forbidden}."))
        });
        assert!(
            !declared,
            "ward-core must not depend on `{forbidden}`: it is the pure core"
        );
    }
}
